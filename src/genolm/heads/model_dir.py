"""The model directory: model (config.json + model.safetensors), tokenizer and, after fine-tuning, the head
(head.json, the head spec, + head.safetensors). Written whole or not at all; read back without the trainer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from genolm import models, tokenizers
from genolm.atomic import atomic_directory
from genolm.errors import GenolmInputError
from genolm.models.heads import TaskModel

HEAD_FILE, HEAD_WEIGHTS = "head.json", "head.safetensors"


def save_model_dir(directory: Path, backbone: Any, tokenizer: Any, head: nn.Module | None = None,
                   head_spec: dict | None = None) -> None:
    """Model, tokenizer (and head) in one directory, which appears whole or not at all."""
    with atomic_directory(directory) as tmp:
        backbone.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if head is not None:
            from safetensors.torch import save_model

            save_model(head, str(tmp / HEAD_WEIGHTS))
            (tmp / HEAD_FILE).write_text(json.dumps(head_spec, indent=2) + "\n")


def load_task_model(directory: str | Path) -> tuple[TaskModel, Any, dict]:
    """(backbone + head, tokenizer, head spec) of a fine-tuned model directory."""
    from safetensors.torch import load_model

    from genolm.heads.registry import build_head

    directory = Path(directory)
    try:
        head_spec = json.loads((directory / HEAD_FILE).read_text())
    except (OSError, ValueError) as error:
        raise GenolmInputError(directory / HEAD_FILE, f"not a fine-tuned model directory: {error}") from None
    backbone = models.from_pretrained(directory)
    try:
        head = build_head(head_spec, backbone)
    except ValueError as error:
        raise GenolmInputError(directory / HEAD_FILE, str(error)) from None
    load_model(head, str(directory / HEAD_WEIGHTS))
    return TaskModel(backbone, head).eval(), tokenizers.from_pretrained(directory), head_spec
