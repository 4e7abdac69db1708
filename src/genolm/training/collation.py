"""Batches: (sequence, target) pairs -> model inputs, through the pretraining objective or the head."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from genolm.heads import head as head_of
from genolm.heads.base import Head
from genolm.objectives import Objective


class Collator:
    """(sequence, target) pairs -> a batch: through the objective when pretraining, else the head's collation
    (a head object, or a head's name when its settings do not shape the batch)."""

    def __init__(self, tokenizer: Any, max_length: int, objective: Objective | None = None,
                 head: Head | str | None = None):
        self.tokenizer, self.max_length, self.objective = tokenizer, max_length, objective
        self.head = head_of(head) if isinstance(head, str) else head

    def __call__(self, batch: list[tuple[str, Any]]) -> dict[str, Tensor]:
        sequences, targets = (list(x) for x in zip(*batch))
        if self.objective is not None:
            return self.objective.collate(sequences, self.max_length)
        return self.head.collate(self.tokenizer, sequences, targets, self.max_length)
