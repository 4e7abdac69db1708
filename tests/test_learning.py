"""Learning tests that can fail: a planted signal is learnt, the same data with shuffled labels is not.

Synthetic units (think cell lines) of a label each; every window of a unit carries the label's signal, a
composition shift (GC-rich vs AT-rich) that a sequence model sees from the bases alone. The one trainer fine-tunes
a tiny HyenaDNA on it; evaluation is on held-out units, per window and per unit.

The control shuffles the labels of every split, so no sequence carries information about its label: a score above
chance there would mean the pipeline leaks labels (through ordering, the unit column, checkpoint selection...).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from conftest import REPO, hyenadna_spec
from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter
from genolm.training.trainer import train, validate_spec

WINDOW = 64


def window(rng: random.Random, label: int) -> str:
    gc = 0.65 if label else 0.35  # the planted signal
    return "".join(rng.choice("GC") if rng.random() < gc else rng.choice("AT") for _ in range(WINDOW))


def planted_shards(out: Path, *, shuffle_labels: bool, seed: int = 0) -> Path:
    rng = random.Random(seed)
    rows = []
    units = {"train": 16, "val": 4, "test": 8}
    for split, n_units in units.items():
        for u in range(n_units):
            label = u % 2
            for _ in range(20):
                rows.append({"sequence": window(rng, label), "label": label, "sample": f"{split}{u}", "split": split})
    if shuffle_labels:
        for split in units:
            split_rows = [r for r in rows if r["split"] == split]
            labels = [r["label"] for r in split_rows]
            rng.shuffle(labels)  # labels no longer depend on the sequence
            for row, label in zip(split_rows, labels):
                row["label"] = label
    table = pa.Table.from_pylist([{**r, "window_id": i} for i, r in enumerate(rows)], schema=SEQUENCE_SCHEMA)
    with ShardWriter(out, dataset="planted", provenance={"test": "planted"}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
    return out


DEMO_BACKBONE = REPO / "data" / "demo" / "backbones" / "tiny-1k" / "seed1"  # committed, released layout


def scores_after_training(tmp_path: Path, *, shuffle: bool, pretrained: bool = False) -> dict[str, float]:
    shards = planted_shards(tmp_path / "shards", shuffle_labels=shuffle)
    backbone = {"init": "pretrained", "checkpoint": str(DEMO_BACKBONE)} if pretrained else {}
    spec = validate_spec(hyenadna_spec(steps=60, batch_size=16, lr=3e-3, warmup_steps=5, val_every_n_steps=20,
                                       checkpoint_every_n_steps=20, **backbone))
    train(spec, shards=shards, job_dir=tmp_path / "job", seed=1, plots=tmp_path, context={})
    table = pl.read_parquet(tmp_path / "job" / "metrics.parquet").filter(
        (pl.col("split") == "test") & (pl.col("checkpoint") == "best"))
    return dict(zip(table["metric"], table["value"]))




@pytest.mark.parametrize("pretrained", [False, True], ids=["random-init", "demo-pretrained-backbone"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["planted-signal", "shuffled-labels"])
def test_a_planted_signal_is_learnt_and_shuffled_labels_are_not(tmp_path, shuffle, pretrained):
    scores = scores_after_training(tmp_path, shuffle=shuffle, pretrained=pretrained)
    if shuffle:
        assert 0.35 < scores["balanced_accuracy"] < 0.65, scores
    else:
        assert scores["balanced_accuracy"] > 0.8, scores
        assert scores["unit_balanced_accuracy"] == 1.0, scores
