"""A model directory and its tokenizer, for inference: no Lightning, no head.

Any directory `genolm.models.from_pretrained` reads works: one genolm wrote (`<job>/model`, a fine-tuned model's
head is ignored), a released DNABERT directory (its vocab.txt gives the tokenizer) or a released HyenaDNA directory
(which carries no tokenizer file: HyenaDNA's ids are the character tokenizer's).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from genolm import models, tokenizers
from genolm.errors import GenolmInputError
from genolm.tokenizers.base import CONFIG_NAME as TOKENIZER_CONFIG


def load_model(directory: str | os.PathLike) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer) of a model directory."""
    directory = Path(directory)
    model = models.from_pretrained(directory)
    has_tokenizer = (directory / TOKENIZER_CONFIG).is_file() or (directory / "vocab.txt").is_file()
    if not has_tokenizer and model.name == "hyenadna":
        tokenizer = tokenizers.build("character")
    else:
        tokenizer = tokenizers.from_pretrained(directory)
    if model.capabilities.reads_tokens and model.config.vocab_size < tokenizer.vocab_size:
        raise GenolmInputError(directory, f"the model's vocabulary ({model.config.vocab_size}) is smaller than its "
                                          f"tokenizer's ({tokenizer.vocab_size})")
    # A model fitted or scored whole (scikit-learn, copy-the-parent) is no torch module: no mode to switch.
    return (model.eval() if model.capabilities.reads_tokens else model), tokenizer


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_window(model: Any, tokenizer: Any) -> int | None:
    """The model's context in bases with the tokenizer's framing tokens left out; None when unbounded."""
    tokens = model.context_tokens
    return None if tokens is None else tokenizer.bases_for_tokens(tokens)
