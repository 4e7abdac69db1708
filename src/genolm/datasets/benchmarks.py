"""Benchmark tasks (Genomic Benchmarks, Nucleotide Transformer; read by `genolm prepare-benchmark`,
genolm.sources.benchmarks, into `resources/benchmarks/<task>.parquet`) as shards for the trainer, for any study
(`genolm benchmark-shards`).

The test split is the benchmark's own. Validation comes from the benchmark's training split:

    folds null   a seeded `val_fraction` of the training sequences (the Genomic Benchmarks runs)
    folds K      the Nucleotide Transformer protocol: the training sequences are cut into K folds (seeded
                 permutation, stratified by label); run `fold` (1..K) validates on fold `fold` and trains on the
                 others, and every run is scored on the same fixed test set; the K runs give the mean and SD
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter, build_provenance
from genolm.errors import GenolmInputError
from genolm.sources.tables import read_parquet_table
from genolm.qc import QCCounts


def fold_of(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold (0..folds-1) of each example: within each label, a seeded permutation dealt round-robin, the deal
    continuing from label to label so that fold sizes differ by at most one."""
    rng = np.random.default_rng(seed)
    out = np.empty(len(labels), dtype=np.int64)
    dealt = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        out[rng.permutation(members)] = (dealt + np.arange(len(members))) % folds
        dealt += len(members)
    return out


def benchmark_splits(table: pl.DataFrame, *, folds: int | None, fold: int | None, val_fraction: float,
                     seed: int) -> np.ndarray:
    """The split of each row: test stays test; train rows become train or val."""
    split = table["split"].to_numpy().astype(object)
    train = np.flatnonzero(split == "train")
    labels = table["label"].to_numpy()[train]
    if folds is not None:
        if fold is None or not 1 <= fold <= folds:
            raise ValueError(f"fold must be in 1..{folds}, got {fold}")
        val = train[fold_of(labels, folds, seed) == fold - 1]
    else:
        rng = np.random.default_rng(seed)
        val = rng.choice(train, size=int(round(val_fraction * len(train))), replace=False)
    split[val] = "val"
    return split


def write_benchmark_shards(table_path: Path, out: Path, qc_path: Path, *, folds: int | None, fold: int | None,
                           val_fraction: float, seed: int, max_length: int | None) -> None:
    table = read_parquet_table(table_path, ("class_name", "label", "sequence", "split"),
                               "not a benchmark table (genolm prepare-benchmark)")
    qc = QCCounts("benchmark_shards")
    if max_length is not None:
        too_long = table["sequence"].str.len_chars() > max_length
        qc.add("sequences_truncated", int(too_long.sum()), f"longer than {max_length}")
        table = table.with_columns(pl.col("sequence").str.slice(0, max_length))
    try:
        split = benchmark_splits(table, folds=folds, fold=fold, val_fraction=val_fraction, seed=seed)
    except ValueError as error:
        raise GenolmInputError(table_path, str(error)) from None
    for name in ("train", "val", "test"):
        qc.add("sequences", int((split == name).sum()), name)
    rows = pa.Table.from_pydict({
        "sequence": table["sequence"].to_list(), "label": table["label"].to_list(),
        "sample": table["class_name"].to_list(), "split": split.tolist(), "window_id": list(range(len(table))),
    }, schema=SEQUENCE_SCHEMA)
    provenance = build_provenance(inputs={"table": table_path}, fields={"folds": folds, "fold": fold, "seed": seed})
    with ShardWriter(out, dataset="benchmark", provenance=provenance, seed=seed, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(rows)
        writer.add_qc(qc)
    qc.write(qc_path)

