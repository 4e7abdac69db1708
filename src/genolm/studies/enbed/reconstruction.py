"""Reconstruction pairs: sequence-to-sequence pretraining of the mutation-generation arms on the corpus.

Why (docs/studies/enbed.md, "Why no arm copied its parent"): T5 cross-attention carries no position, so a decoder
finds the parent base to copy by content alone, a circuit that a model trained from random weights forms only
after tens of thousands of training pairs; the demo's few hundred parents are memorized long before that. The
paper's arms start from pretrained models, but T5 span corruption, its objective, asks the decoder for the masked
spans only, never for the unmasked context, so it does not teach copying either. Reconstruction does: BART's
text infilling (Lewis et al. 2020) with T5's span placement. Each corpus window of `length` bases loses
`noise_density` of its bases in spans of mean `mean_span_length` (genolm.objectives.span_corruption's
`random_spans_noise_mask`), each span replaced by one `N` (a mask base: the corpus has none, every N was
removed), and the target is the whole window. Written as a pairs shard (`sequence` = corrupted window,
`target_sequence` = window), it trains every family through the one trainer's generation head: an
encoder-decoder reads the corrupted window, a decoder-only model reads it as its prompt. With `noise_density` 0
the input is the piece itself (pure reconstruction): the demo's choice, because masked spans shift the input
against the target and the demo's arms then failed to place a copy's first or last bases (docs/studies/enbed.md).

Splits: train pieces come from the corpus' train windows, val and test pieces from its val windows (genome
regions no training piece saw). Pieces are non-overlapping, drawn without replacement, seeded. QC counts pieces
per split and masked bases and spans.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from genolm.datasets.shards import ShardWriter, build_provenance, read_shards
from genolm.errors import GenolmInputError
from genolm.objectives.span_corruption import random_spans_noise_mask
from genolm.qc import QCCounts
from genolm.studies.enbed.pairs import PAIR_SCHEMA

MASK_BASE = "N"


def infill(sequence: str, noise_density: float, mean_span_length: float, generator: torch.Generator) -> tuple[str, int, int]:
    """(the sequence with each noise span replaced by one N, masked bases, spans); density 0 masks nothing."""
    if noise_density == 0:
        return sequence, 0, 0
    noise = random_spans_noise_mask(len(sequence), noise_density, mean_span_length, generator)
    starts = noise & ~np.concatenate([[False], noise[:-1]])
    out = [MASK_BASE if start else base for base, is_noise, start in zip(sequence, noise, starts) if not is_noise or start]
    return "".join(out), int(noise.sum()), int(starts.sum())


def pieces_of(windows: list[str], length: int) -> list[str]:
    """Non-overlapping pieces of `length` bases of every window, those with an N left out."""
    pieces = [w[i : i + length].upper() for w in windows for i in range(0, len(w) - length + 1, length)]
    return [p for p in pieces if MASK_BASE not in p]


def write_reconstruction_dataset(corpus: Path, out: Path, qc_path: Path, *, length: int, train: int, val: int,
                                 test: int, noise_density: float, mean_span_length: float, seed: int) -> None:
    qc = QCCounts("enbed_reconstruction")
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    pools = {}
    for split in ("train", "val"):
        try:
            pools[split] = pieces_of(read_shards(corpus, split, columns=["sequence"]).column("sequence").to_pylist(), length)
        except GenolmInputError:
            pools[split] = []
    wanted = {"train": ("train", train), "val": ("val", val), "test": ("val", test)}
    if len(pools["train"]) < train:
        raise GenolmInputError(corpus, f"{len(pools['train'])} train pieces of {length} bases, {train} asked for")
    if len(pools["val"]) < val + test:
        raise GenolmInputError(corpus, f"{len(pools['val'])} val pieces of {length} bases for val + test, "
                                       f"{val + test} asked for (the corpus needs a val split)")
    drawn = {"train": rng.permutation(len(pools["train"]))[:train].tolist()}
    held_out = rng.permutation(len(pools["val"]))[: val + test].tolist()
    drawn["val"], drawn["test"] = held_out[:val], held_out[val:]
    qc.add("pieces_unused", len(pools["train"]) - train, "corpus train")
    qc.add("pieces_unused", len(pools["val"]) - val - test, "corpus val")
    rows: dict[str, list] = {k: [] for k in PAIR_SCHEMA.names}
    for split, (pool, _) in wanted.items():
        for index in drawn[split]:
            target = pools[pool][index]
            source, masked, spans = infill(target, noise_density, mean_span_length, generator)
            qc.add("pieces", 1, split)
            qc.add("masked_bases", masked, split)
            qc.add("masked_spans", spans, split)
            rows["sequence"].append(source)
            rows["target_sequence"].append(target)
            rows["label"].append(None)
            rows["sample"].append(f"{pool}:{index}")
            rows["split"].append(split)
            rows["window_id"].append(len(rows["window_id"]))
    table = pa.Table.from_pydict(rows, schema=PAIR_SCHEMA)
    provenance = build_provenance(inputs={}, fields={"corpus": str(corpus), "length": length, "seed": seed,
                                                     "noise_density": noise_density,
                                                     "mean_span_length": mean_span_length})
    with ShardWriter(out, dataset="enbed_reconstruction", provenance=provenance, length=length, seed=seed,
                     schema=PAIR_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(qc_path)
