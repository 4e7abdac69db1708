"""Replicates of the whole chain (issue #22): which split, pretraining and fine-tuning seed each replicate runs
with (genolm.replicates, the schema's `replicate` block), and the shuffled-label control
(genolm.datasets.labels.shuffled_labels, the train spec's `shuffle_labels`)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_genolm
from genolm.config import validate_config
from genolm.datasets.labels import shuffled_labels
from genolm.replicates import ReplicateSeeds, pretrain_seeds, replicate_seeds, split_seeds


def validated(replicate: dict | None) -> dict:
    # A disabled study's block is validated and filled all the same (its cross-references are not checked).
    block = {"enabled": False} if replicate is None else {"enabled": False, "replicate": replicate}
    return validate_config({"seed": 7, "seeds": [1, 2, 3], "sources": {}, "studies": {"virbert": block}}, source="test")


def test_by_default_each_replicate_draws_its_own_split_and_pretraining():
    config = validated(None)
    block = config["studies"]["virbert"]
    assert block["replicate"] == {"split": True, "pretraining": True}  # the schema's defaults
    assert [replicate_seeds(config, block, s) for s in config["seeds"]] == [
        ReplicateSeeds(1, 1, 1), ReplicateSeeds(2, 2, 2), ReplicateSeeds(3, 3, 3)]
    assert split_seeds(config, block) == pretrain_seeds(config, block) == [1, 2, 3]


def test_a_fixed_split_is_drawn_once_with_the_global_seed():
    config = validated({"split": False})
    block = config["studies"]["virbert"]
    assert [replicate_seeds(config, block, s) for s in config["seeds"]] == [
        ReplicateSeeds(7, 1, 1), ReplicateSeeds(7, 2, 2), ReplicateSeeds(7, 3, 3)]
    assert split_seeds(config, block) == [7]
    config = validated({"pretraining": False})
    assert pretrain_seeds(config, config["studies"]["virbert"]) == [7]


def test_an_unknown_replicate_key_is_refused():
    with pytest.raises(Exception, match="fold"):
        validated({"fold": True})


units_and_labels = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), min_size=1, max_size=120)


@settings(max_examples=60, deadline=None)
@given(units_and_labels, st.integers(0, 2**16))
def test_shuffled_labels_permute_units_keeping_class_counts(pairs, seed):
    groups = np.array([f"u{u}" for u, _ in pairs], dtype=object)
    label_of: dict[str, int] = {}
    labels = np.array([label_of.setdefault(g, lab) for g, (_, lab) in zip(groups, pairs)])
    shuffled = shuffled_labels(labels, seed, groups)
    # every example of a unit keeps one label, and the classes over units are counted as before
    per_unit = {g: set(shuffled[groups == g]) for g in set(groups)}
    assert all(len(v) == 1 for v in per_unit.values())
    assert sorted(v.pop() for v in per_unit.values()) == sorted(label_of.values())
    assert np.array_equal(shuffled, shuffled_labels(labels, seed, groups))  # drawn from the seed alone


def test_shuffled_labels_differ_between_seeds_and_refuse_mixed_units():
    labels = np.arange(40) % 2
    draws = {tuple(shuffled_labels(labels, seed)) for seed in range(5)}
    assert len(draws) == 5 and all(sum(d) == 20 for d in draws)
    with pytest.raises(ValueError, match="unit 'a'"):
        shuffled_labels(np.array([0, 1]), 0, np.array(["a", "a"], dtype=object))


def test_a_shuffled_label_job_lands_at_chance_where_the_real_labels_are_learnt(tiny_shards, tmp_path):
    """The control through `genolm train`: the k-mer baseline reads the demo windows' lineage well above chance
    on test, and with its training labels permuted (by cell line) it does not."""
    def balanced_accuracy(shuffle: bool) -> float:
        spec = {"tokenizer": {"name": "character"}, "model": {"name": "kmer-logreg", "k": 3},
                "head": {"name": "classification", "label_names": ["Lung", "Lymphoid"]}, "context_length": 64,
                "group_column": "sample", "shuffle_labels": shuffle}
        out = tmp_path / f"shuffle_{shuffle}"
        run_genolm("train", "--spec", json.dumps(spec), "--shards", str(tiny_shards), "--seed", "3", "--out", str(out),
                   "--results-dir", str(tmp_path / "results"), "--study", "zoo", "--task", "t", "--experiment", "lr")
        metrics = pl.read_parquet(out / "metrics.parquet")
        row = metrics.filter((pl.col("split") == "test") & (pl.col("metric") == "balanced_accuracy")
                             & (pl.col("checkpoint") == "last"))
        return float(row["value"][0])

    real, shuffled = balanced_accuracy(False), balanced_accuracy(True)
    assert real >= 0.6 > shuffled  # measured: 0.68 and 0.42 (two classes, a handful of test cell lines)
