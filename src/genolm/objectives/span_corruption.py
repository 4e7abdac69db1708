"""T5 span corruption (Raffel et al. 2020), ENBED's pretraining objective for the encoder-decoder.

About `noise_density` of each sequence's tokens (15%) are dropped in spans of mean length `mean_span_length`
(20 for ENBED's bytes); the encoder input keeps the other tokens with one sentinel in place of each dropped span,
and the decoder target is each sentinel followed by the span it stands for, then end-of-sequence:

    original  A C G T A C G T A C
    input     A C <s0> A C G <s1> C </s>
    target    <s0> G T <s1> T A </s>

Span placement follows T5's `random_spans_noise_mask`: the numbers of noise and non-noise tokens are fixed by
the density, each is split into the same number of non-empty spans at random cut points, and the spans alternate
starting with a non-noise one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from genolm.models.base import end_of_sequence_id
from genolm.objectives.base import Objective, ObjectiveResult, encode, pad_rows


def _random_partition(total: int, parts: int, generator: torch.Generator | None) -> np.ndarray:
    """`parts` positive integers summing to `total`, uniformly over such compositions."""
    cuts = torch.randperm(total - 1, generator=generator)[: parts - 1].numpy() + 1
    edges = np.concatenate([[0], np.sort(cuts), [total]])
    return np.diff(edges)


def random_spans_noise_mask(length: int, noise_density: float, mean_span_length: float,
                            generator: torch.Generator | None = None) -> np.ndarray:
    """Bool [length]: which tokens are noise."""
    if length < 2:
        return np.zeros(length, dtype=bool)
    noise = min(max(int(round(length * noise_density)), 1), length - 1)
    spans = min(max(int(round(noise / mean_span_length)), 1), noise, length - noise)
    noise_lengths = _random_partition(noise, spans, generator)
    keep_lengths = _random_partition(length - noise, spans, generator)
    interleaved = np.stack([keep_lengths, noise_lengths], axis=1).reshape(-1)
    is_noise = np.tile([False, True], spans)
    return np.repeat(is_noise, interleaved)


def corrupt_spans(body: np.ndarray, noise: np.ndarray, sentinels: list[int], end_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(encoder input, decoder target) of one body given its noise mask; span i gets sentinels[i]."""
    starts = noise & ~np.concatenate([[False], noise[:-1]])
    n_spans = int(starts.sum())
    if n_spans > len(sentinels):
        raise ValueError(f"{n_spans} noise spans but only {len(sentinels)} sentinel tokens")
    span_sentinels = np.asarray(sentinels[:n_spans], dtype=np.int64)
    inputs = body.astype(np.int64)
    inputs[starts] = span_sentinels
    inputs = inputs[~noise | starts]
    targets = np.insert(body[noise].astype(np.int64), np.flatnonzero(starts[noise]), span_sentinels)
    return np.append(inputs, end_id), np.append(targets, end_id)


def restore_spans(inputs: list[int], targets: list[int], sentinels: list[int], end_id: int) -> list[int]:
    """The original body from an (input, target) pair: each sentinel in the input is replaced by its span."""
    sentinel_set = set(sentinels)
    spans: dict[int, list[int]] = {}
    current = None
    for token in targets:
        if token == end_id:
            break
        if token in sentinel_set:
            current = token
            spans[current] = []
        elif current is not None:
            spans[current].append(token)
    body = []
    for token in inputs:
        if token == end_id:
            break
        body.extend(spans.get(token, []) if token in sentinel_set else [token])
    return body


class SpanCorruption(Objective):
    name = "span_corruption"
    requires = ("seq2seq",)

    def __init__(self, tokenizer: Any, *, noise_density: float = 0.15, mean_span_length: float = 20.0):
        super().__init__(tokenizer)
        sentinels = getattr(tokenizer, "sentinel_ids", None)
        if not sentinels:
            raise ValueError(f"span corruption needs sentinel tokens; {type(tokenizer).__name__} has none")
        self.sentinels = list(sentinels)
        self.end_id = end_of_sequence_id(tokenizer)
        self.noise_density, self.mean_span_length = noise_density, mean_span_length

    def collate(self, sequences: list[str], max_length: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        bodies, body_mask = encode(self.tokenizer, sequences, max_length - 1, add_special_tokens=False)
        pairs = []
        for body, n in zip(bodies.numpy(), body_mask.sum(dim=1).tolist()):
            noise = random_spans_noise_mask(n, self.noise_density, self.mean_span_length, generator)
            pairs.append(corrupt_spans(body[:n], noise, self.sentinels, self.end_id))
        ids, mask = pad_rows([p[0] for p in pairs], self.tokenizer.pad_id)
        return {"input_ids": ids, "attention_mask": mask, "labels": pad_rows([p[1] for p in pairs], -100)[0]}

    def forward(self, model, batch: dict[str, Tensor]) -> ObjectiveResult:
        out = model(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
        return ObjectiveResult(loss=out.loss, token_logits=out.logits, token_labels=batch["labels"])
