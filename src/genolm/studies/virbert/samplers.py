"""The study's three example samplers (thesis 3.2.2, A.1.1, A.1.2), each a pure function of one sequence record and
a numpy Generator, and `write_examples`, which runs one of them over the genome table into shards
(genolm.datasets.shards, SEQUENCE_SCHEMA: sequence, label, sample = genome_id, split).

    pretraining   DNABERT's recipe: the record cut without overlap into pieces whose length follows the law below,
                  plus `sampled_ratio` times as many random subsequences with the same law. The law: with
                  probability `full_fraction` the upper bound, else uniform on [low, high] (thesis: U[5, 510], half
                  forced to 510; mask-8 and stride-3 raise the lower bound to 36, stride-3 the upper to 1,000).
                  Unlabelled: label null.
    fine-tuning   fragments of one length drawn per record without replacement (non-overlapping tiles at a random
                  offset) up to `cap`; a record too short for `cap` tiles gives all its tiles again at a new random
                  offset, round after round, up to `max_repeats` rounds (with replacement); then the classes are
                  balanced by dropping random examples of the larger class.
    evaluation    `per_genome` random non-overlapping fragments from a record long enough for them; a shorter record
                  is tiled without overlap from a start drawn in its first 10 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter
from genolm.qc import QCCounts


def piece_lengths(rng: np.random.Generator, n: int, low: int, high: int, full_fraction: float) -> np.ndarray:
    """n lengths: `high` with probability full_fraction, else uniform on [low, high]."""
    lengths = rng.integers(low, high + 1, size=n)
    return np.where(rng.random(n) < full_fraction, high, lengths)


def pretraining_pieces(sequence: str, rng: np.random.Generator, *, low: int, high: int, full_fraction: float = 0.5,
                       sampled_ratio: float = 2.0) -> list[str]:
    """Non-overlapping cuts of the whole record, then sampled_ratio x as many random subsequences (both with
    lengths from `piece_lengths`; a cut or sample never exceeds the record, and a tail shorter than `low` is
    dropped)."""
    n = len(sequence)
    if n < low:
        return []
    cuts, position = [], 0
    while n - position >= low:
        length = int(piece_lengths(rng, 1, low, high, full_fraction)[0])
        cuts.append(sequence[position : position + length])
        position += length
    sampled = []
    for length in piece_lengths(rng, int(round(sampled_ratio * len(cuts))), low, high, full_fraction):
        length = min(int(length), n)
        start = int(rng.integers(0, n - length + 1))
        sampled.append(sequence[start : start + length])
    return cuts + sampled


def finetune_fragments(sequence: str, length: int, rng: np.random.Generator, *, cap: int, max_repeats: int) -> list[str]:
    """Fragments of `length`: up to `cap` tiles without replacement, repeated (new offsets) up to max_repeats rounds."""
    n = len(sequence)
    tiles = n // length
    if tiles == 0:
        return []
    out: list[str] = []
    for _ in range(max_repeats):
        offset = int(rng.integers(0, n - tiles * length + 1))
        chosen = np.sort(rng.choice(tiles, size=min(tiles, cap - len(out)), replace=False))
        out += [sequence[offset + i * length : offset + (i + 1) * length] for i in chosen]
        if len(out) >= cap:
            break
    return out


def evaluation_fragments(sequence: str, length: int, rng: np.random.Generator, *, per_genome: int = 64) -> list[str]:
    """per_genome random non-overlapping fragments, or, for a shorter record, tiles from a start in its first 10 %."""
    n = len(sequence)
    if n < length:
        return []
    if n >= length * per_genome:
        # Uniform non-overlapping placements: sorted gaps in the free bases, then each fragment after its gap.
        gaps = np.sort(rng.integers(0, n - length * per_genome + 1, size=per_genome))
        starts = gaps + np.arange(per_genome) * length
    else:
        start = int(rng.integers(0, max(1, math.ceil(0.1 * n))))
        if n - start < length:
            start = 0
        starts = start + np.arange((n - start) // length) * length
    return [sequence[s : s + length] for s in starts]


def balance_classes(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices keeping every example of the smaller class and as many random ones of each other class."""
    classes, counts = np.unique(labels, return_counts=True)
    keep = [np.sort(rng.choice(np.flatnonzero(labels == c), size=counts.min(), replace=False)) for c in classes]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def write_examples(genomes: pl.DataFrame, out: Path, *, kind: str, seed: int, provenance: Mapping[str, object],
                   qc: QCCounts, splits: tuple[str, ...], length: int | None = None, low: int = 5, high: int = 510,
                   full_fraction: float = 0.5, sampled_ratio: float = 2.0, cap: int = 64, max_repeats: int = 4,
                   per_genome: int = 64, balance: bool = True) -> None:
    """Examples of `kind` (pretraining | finetune) from the records of `splits` into shards at `out`.

    pretraining: pieces of every record of `splits`, unlabelled. finetune: the `train` split through the fine-tuning
    sampler (balanced by class when `balance`), every other split through the evaluation sampler. QC: records used or
    too short per split, examples drawn, and examples dropped to balance the classes, so that the counts add up."""
    rng = np.random.default_rng(seed)
    rows: dict[str, dict[str, list]] = {}
    for split in splits:
        part = genomes.filter(pl.col("split") == split)
        sequences, labels, samples = [], [], []
        for record in part.iter_rows(named=True):
            if kind == "pretraining":
                pieces = pretraining_pieces(record["sequence"], rng, low=low, high=high, full_fraction=full_fraction,
                                            sampled_ratio=sampled_ratio)
            elif split == "train":
                pieces = finetune_fragments(record["sequence"], length, rng, cap=cap, max_repeats=max_repeats)
            else:
                pieces = evaluation_fragments(record["sequence"], length, rng, per_genome=per_genome)
            qc.add("records_used" if pieces else "records_too_short", 1, split)
            sequences += pieces
            labels += [record["label"]] * len(pieces)
            samples += [record["genome_id"]] * len(pieces)
        qc.add("examples_drawn", len(sequences), split)
        labels_array = np.asarray(labels, dtype=np.int64)
        keep = np.arange(len(sequences))
        if kind == "finetune" and split == "train" and balance and len(np.unique(labels_array)) > 1:
            keep = balance_classes(labels_array, rng)
        qc.add("examples_dropped_balance", len(sequences) - len(keep), split)
        qc.add("examples_written", len(keep), split)
        rows[split] = {"sequence": [sequences[i] for i in keep],
                       "label": [None if kind == "pretraining" else int(labels_array[i]) for i in keep],
                       "sample": [samples[i] for i in keep]}
    with ShardWriter(out, dataset=out.name, provenance=provenance, length=length, seed=seed,
                     schema=SEQUENCE_SCHEMA) as writer:
        window_id = 0
        for split, columns in rows.items():
            n = len(columns["sequence"])
            if n == 0:
                continue
            order = rng.permutation(n) if kind == "pretraining" or split == "train" else np.arange(n)
            table = pa.table({
                "sequence": pa.array([columns["sequence"][i] for i in order], pa.large_string()),
                "label": pa.array([columns["label"][i] for i in order], pa.int64()),
                "sample": pa.array([columns["sample"][i] for i in order], pa.string()),
                "split": pa.array([split] * n, pa.string()),
                "window_id": pa.array(np.arange(window_id, window_id + n), pa.int64()),
            })
            window_id += n
            writer.write(table)
        writer.add_qc(qc)
