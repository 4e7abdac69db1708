"""How a fine-tuning run starts from its backbone, the same for every zoo model:

    pretrained  load the checkpoint and train everything
    random      the same architecture (the checkpoint's, or the spec's config) with fresh weights
    frozen      load the checkpoint and train the head only, the backbone in eval mode (linear evaluation)
    gradual     load the checkpoint; the head trains from the start and the backbone's layer groups are unfrozen
                from the top, one more every `every_n_steps` steps (ULMFiT's gradual unfreezing)

A backbone's own language-model head is never used by a task head, so it is frozen in every mode: the optimizer
then skips it and DDP does not wait for its gradients.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from torch import nn

from genolm.errors import GenolmInputError

log = logging.getLogger(__name__)

INIT_MODES = ("pretrained", "random", "frozen", "gradual")


def load_backbone(init: str, *, checkpoint: str | Path | None, name: str | None, config: dict[str, Any],
                  tokenizer: Any) -> Any:
    from genolm import models

    if init not in INIT_MODES:
        raise ValueError(f"unknown init mode {init!r} (expected one of {', '.join(INIT_MODES)})")
    if init != "random":
        if checkpoint is None:
            raise GenolmInputError("model", f"init {init!r} needs a checkpoint directory")
        return models.from_pretrained(checkpoint)
    if checkpoint is not None:
        # Same architecture as the checkpoint, fresh weights.
        loaded = models.from_pretrained(checkpoint)
        return models.build(loaded.name, loaded.config, tokenizer=tokenizer)
    if name is None:
        raise GenolmInputError("model", "init 'random' needs a model name (or a checkpoint to copy the architecture of)")
    return models.build(name, config, tokenizer=tokenizer)


def backbone_trunk(backbone: nn.Module) -> set[int]:
    """ids of the parameters in the backbone's layer groups (everything a task head's input depends on)."""
    return {id(p) for group in backbone.layer_groups() for p in group.parameters()}


def prepare_for_finetuning(backbone: nn.Module, init: str) -> None:
    """Freeze what the mode keeps fixed. `gradual` leaves the trunk trainable here so that the optimizer is built
    over it; GradualUnfreezing freezes it before the first step."""
    trunk = backbone_trunk(backbone)
    for parameter in backbone.parameters():
        parameter.requires_grad_(id(parameter) in trunk and init != "frozen")


class GradualUnfreezing(L.Callback):
    """Unfreezes the backbone's layer groups from the top: none at step 0, the top one from `every_n_steps`, the
    top two from 2 x `every_n_steps`, ... The state is a function of the global step, so a resumed run picks up
    where it was. The optimizer holds every parameter from the start (AdamW skips those without gradients)."""

    def __init__(self, backbone: nn.Module, every_n_steps: int, groups: list[nn.Module] | None = None):
        """`groups`: the layer groups to unfreeze, bottom to top (default: all of the backbone's); a classifier on
        an encoder-decoder passes the encoder's, so the first groups unfrozen are ones the head reads."""
        super().__init__()
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be positive, got {every_n_steps}")
        self.groups = list(backbone.layer_groups() if groups is None else groups)
        self.every_n_steps = every_n_steps
        self.unfrozen = -1

    def unfrozen_at(self, step: int) -> int:
        return min(len(self.groups), step // self.every_n_steps)

    def apply(self, step: int) -> None:
        count = self.unfrozen_at(step)
        if count == self.unfrozen:
            return
        for index, group in enumerate(self.groups):
            group.requires_grad_(index >= len(self.groups) - count)
        self.unfrozen = count
        log.info("gradual unfreezing: %d of %d backbone layer groups trainable at step %d", count, len(self.groups), step)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self.apply(trainer.global_step)
