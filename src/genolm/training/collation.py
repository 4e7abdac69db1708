"""Batches: (sequence, target, key) items -> model inputs, through the pretraining objective or the head.

An objective's random choices (masked positions, replacement tokens, spans, swapped segments) come from a generator
seeded by the job's seed and the batch's keys, (epoch, index) of each example (genolm.training.data): the masks a
batch gets depend on which examples it holds, never on what was drawn before it. A resumed job collates its first
batch before it restores the global random state, and the loader works a batch ahead of training, so masks drawn
from the global generator would differ from the uninterrupted run's (tests/test_exact_resume.py).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genolm.heads import head as head_of
from genolm.heads.base import Head
from genolm.objectives import Objective


class Collator:
    """(sequence, target) pairs -> a batch: through the objective when pretraining, else the head's collation
    (a head object, or a head's name when its settings do not shape the batch)."""

    def __init__(self, tokenizer: Any, max_length: int, objective: Objective | None = None,
                 head: Head | str | None = None, seed: int = 0):
        self.tokenizer, self.max_length, self.objective, self.seed = tokenizer, max_length, objective, seed
        self.head = head_of(head) if isinstance(head, str) else head

    def __call__(self, batch: list[tuple[str, Any, tuple[int, int]]]) -> dict[str, Tensor]:
        sequences, targets, keys = (list(x) for x in zip(*batch))
        if self.objective is not None:
            return self.objective.collate(sequences, self.max_length, generator=self.generator(keys))
        return self.head.collate(self.tokenizer, sequences, targets, self.max_length)

    def generator(self, keys: list[tuple[int, int]]) -> torch.Generator:
        """The batch's own generator: seeded by the job's seed and its examples' (epoch, index) keys."""
        entropy = [self.seed, *itertools.chain.from_iterable(keys)]
        return torch.Generator().manual_seed(int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1))
