"""What an objective is: a collate step that turns raw sequences into model inputs and targets (run on the CPU,
in the data loader's workers, with the tokenizer) and a loss on the model's output.

Objectives are modules because some own parameters (the sentence-order classifier); the collate step uses only
the tokenizer and the objective's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn


@dataclass
class ObjectiveResult:
    loss: Tensor
    token_logits: Tensor | None = None  # [B, L, V] predictions at the scored positions...
    token_labels: Tensor | None = None  # [B, L] ...and their targets, -100 where not scored
    extra: dict[str, Tensor] = field(default_factory=dict)  # further losses / accuracies to log


class Objective(nn.Module):
    name: ClassVar[str]
    # The language-model logits it trains (genolm.models.base.Capabilities.language_model), any of these.
    requires: ClassVar[tuple[str, ...]]

    def __init__(self, tokenizer: Any):
        super().__init__()
        self.tokenizer = tokenizer

    @classmethod
    def fits(cls, capabilities: Any) -> bool:
        """Whether a model offering `capabilities` can be trained by this objective."""
        return capabilities.training == "gradient" and capabilities.language_model in cls.requires

    @classmethod
    def check_model(cls, model: Any) -> None:
        if not cls.fits(model.capabilities):
            offered = model.capabilities.language_model
            has = f"{offered} language-model logits" if offered else "no language-model head"
            raise ValueError(f"objective {cls.name!r} needs a model with {' or '.join(cls.requires)} language-model "
                             f"logits; {model.name!r} has {has}")

    def collate(self, sequences: list[str], max_length: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        raise NotImplementedError

    def forward(self, model: nn.Module, batch: dict[str, Tensor]) -> ObjectiveResult:
        raise NotImplementedError


def regular_ids(tokenizer: Any) -> Tensor:
    """Ids of the ordinary (non-special) tokens: what random replacement draws from."""
    special = set(tokenizer.special_ids)
    return torch.tensor([i for i in range(tokenizer.vocab_size) if i not in special], dtype=torch.long)


def special_table(tokenizer: Any) -> Tensor:
    table = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
    table[list(tokenizer.special_ids)] = True
    return table


def encode(tokenizer: Any, sequences: list[str], max_length: int, add_special_tokens: bool = True) -> tuple[Tensor, Tensor]:
    """Right-padded ids and mask as tensors (the zoo's models take right padding)."""
    ids, mask = tokenizer.encode_batch(sequences, max_length=max_length, add_special_tokens=add_special_tokens,
                                       padding_side="right")
    return torch.from_numpy(np.ascontiguousarray(ids)), torch.from_numpy(np.ascontiguousarray(mask))


def pad_rows(rows: Sequence[Sequence[int] | np.ndarray], value: int) -> tuple[Tensor, Tensor]:
    """Rows of ids of any lengths as right-padded [B, T] ids (padded with `value`) and their mask."""
    ids = torch.full((len(rows), max((len(r) for r in rows), default=0)), value, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def token_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy over the positions whose label is not -100 (zero if there are none)."""
    flat = labels.reshape(-1)
    if not bool((flat != -100).any()):
        return logits.sum() * 0.0
    return nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), flat, ignore_index=-100)
