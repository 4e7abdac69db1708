"""Every row of the results table names its replicate (split_seed, pretrain_seed, seed) and the configured label
fraction (the realized count stays in train_labelled)."""

from __future__ import annotations

import json

from conftest import run_genolm
from genolm.datasets.shards import read_shards
from genolm.results import METRICS_SCHEMA, read_metrics, write_table


def test_train_writes_the_replicate_and_the_configured_label_fraction(tiny_shards, tmp_path):
    spec = {"tokenizer": {"name": "character"}, "model": {"name": "kmer-logreg", "k": 3},
            "head": {"name": "classification", "label_names": ["Lung", "Lymphoid"]}, "context_length": 64,
            "label_fraction": 0.3}
    run_genolm("train", "--spec", json.dumps(spec), "--shards", str(tiny_shards), "--seed", "5", "--split-seed", "7",
               "--pretrain-seed", "8", "--out", str(tmp_path / "lr"), "--results-dir", str(tmp_path / "results"),
               "--study", "zoo", "--task", "t", "--experiment", "lr")
    metrics = read_metrics(tmp_path / "lr" / "metrics.parquet")
    assert list(metrics.columns) == list(METRICS_SCHEMA)
    assert metrics.select("split_seed", "pretrain_seed", "seed").unique().rows() == [(7, 8, 5)]
    assert metrics["label_fraction"].unique().to_list() == [0.3]
    available = read_shards(tiny_shards, "train", columns=["label"]).num_rows
    labelled = metrics["train_labelled"].unique().to_list()
    assert len(labelled) == 1 and 0 < labelled[0] < available  # the realized count, beside the configured fraction


def test_replicate_seeds_default_to_null_and_old_tables_read_back(tiny_shards, tmp_path):
    spec = {"tokenizer": {"name": "character"}, "model": {"name": "kmer-logreg", "k": 3},
            "head": {"name": "classification", "label_names": ["Lung", "Lymphoid"]}, "context_length": 64}
    run_genolm("train", "--spec", json.dumps(spec), "--shards", str(tiny_shards), "--seed", "5",
               "--out", str(tmp_path / "lr"), "--results-dir", str(tmp_path / "results"),
               "--study", "zoo", "--task", "t", "--experiment", "lr")
    metrics = read_metrics(tmp_path / "lr" / "metrics.parquet")
    assert metrics["split_seed"].null_count() == metrics["pretrain_seed"].null_count() == len(metrics)
    # A table written before the columns existed reads back with null replicate seeds.
    write_table(metrics.drop("split_seed", "pretrain_seed"), tmp_path / "old.parquet")
    old = read_metrics(tmp_path / "old.parquet")
    assert list(old.columns) == list(METRICS_SCHEMA) and old["split_seed"].null_count() == len(old)
