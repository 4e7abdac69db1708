"""Comparison units the predictions do not carry (genolm.comparisons.UnitSource, `genolm compare --group-shards`,
`--unit-map`): ENBED's generation predictions take their parent from the pairs shards, virBERT's genome groups are
mapped to families, and a job scored on other shards is refused."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from genolm.cli import main
from genolm.comparisons import UnitSource, compare, load_comparisons, read_runs, read_unit_map
from genolm.datasets.shards import ShardWriter
from genolm.errors import GenolmInputError
from genolm.studies.enbed.pairs import PAIR_SCHEMA

PARENTS = ["AAAACCCC", "AAAACCCC", "GGGGTTTT", "ACGTACGT", "ACGTACGT", "ACGTACGT"]


def pair_shards(path, parents=PARENTS):
    rows = [{"sequence": p, "label": None, "sample": f"clade{i % 2}", "target_sequence": p[::-1], "split": "test",
             "window_id": i} for i, p in enumerate(parents)]
    with ShardWriter(path, dataset="pairs", provenance={}, schema=PAIR_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=PAIR_SCHEMA))
    return path


def generation_job(path, first_candidates, targets=None):
    """A job directory with predictions.parquet as the trainer writes a generation job's: no group column."""
    targets = targets or [p[::-1] for p in PARENTS]
    path.mkdir(parents=True)
    pl.DataFrame({"split": ["test"] * len(targets), "checkpoint": ["last"] * len(targets),
                  "index": np.arange(len(targets)), "target": targets, "candidates": [[c] for c in first_candidates]},
                 schema_overrides={"candidates": pl.List(pl.Utf8)}).write_parquet(path / "predictions.parquet")
    return path


def runs_table(tmp_path, arms):
    lines = ["arm\treplicate\tsplit_seed\tpretrain_seed\tseed\tpath"]
    lines += [f"{arm}\t{r}\t1\t1\t{r}\t{path}" for arm, paths in arms.items() for r, path in enumerate(paths, 1)]
    (tmp_path / "runs.tsv").write_text("\n".join(lines) + "\n")
    return read_runs(tmp_path / "runs.tsv")


ENTRY = {"name": "exact", "arm_a": "enbed", "arm_b": "copy", "metric": "mean:exact_match", "unit": "parent",
         "expected_direction": 1, "resamples": 200}


def test_generation_units_are_the_parents_in_the_shards(tmp_path):
    shards = pair_shards(tmp_path / "pairs")
    targets = [p[::-1] for p in PARENTS]
    # enbed right on rows 0, 1, 3 (parents 1 and 3: per-parent exact match 1, 0, 1/3); copy never right.
    enbed = generation_job(tmp_path / "enbed", [t if i in (0, 1, 3) else "N" for i, t in enumerate(targets)])
    copy = generation_job(tmp_path / "copy", ["N"] * len(targets))
    runs = runs_table(tmp_path, {"enbed": [enbed], "copy": [copy]})
    entries = load_comparisons([ENTRY], "t")
    with pytest.raises(GenolmInputError, match="no 'group' column"):
        compare(entries, runs, "runs.tsv")
    row = compare(entries, runs, "runs.tsv", UnitSource(shards=shards, column="sequence")).row(0, named=True)
    assert row["units"] == 3  # distinct parents, not the 6 pairs
    assert row["difference"] == pytest.approx((1 + 0 + 1 / 3) / 3)


def test_a_job_scored_on_other_shards_is_refused(tmp_path):
    shards = pair_shards(tmp_path / "pairs")
    other = ["C" * 8] * len(PARENTS)
    job = generation_job(tmp_path / "enbed", other, targets=other)
    copy = generation_job(tmp_path / "copy", ["N"] * len(PARENTS))
    runs = runs_table(tmp_path, {"enbed": [job], "copy": [copy]})
    with pytest.raises(GenolmInputError, match="not the one in"):
        compare(load_comparisons([ENTRY], "t"), runs, "r", UnitSource(shards=shards, column="sequence"))


def classification_job(path, groups, correct):
    labels = np.array([0, 1] * (len(groups) // 2))
    proba = np.full((len(labels), 2), 0.1)
    proba[np.arange(len(labels)), np.where(correct, labels, 1 - labels)] = 0.9
    path.mkdir(parents=True)
    pl.DataFrame({"split": "test", "checkpoint": "best", "index": np.arange(len(labels)), "group": groups,
                  "label": labels, "probabilities": proba.astype(np.float32)}).write_parquet(path / "predictions.parquet")
    return path


def test_genomes_are_resampled_as_families_through_the_unit_map(tmp_path):
    genomes = ["g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8"]
    pl.DataFrame({"genome_id": genomes, "family": ["f1", "f1", "f1", "f1", "f2", "f2", "f2", "f2"],
                  "split": "test"}).write_parquet(tmp_path / "genomes.parquet")
    a = classification_job(tmp_path / "a", genomes, [True] * 8)
    b = classification_job(tmp_path / "b", genomes, [True] * 4 + [False] * 4)  # B as good as A on f1 only
    runs = runs_table(tmp_path, {"A": [a], "B": [b]})
    entry = dict(ENTRY, arm_a="A", arm_b="B", metric="accuracy", unit="family")
    mapping = read_unit_map(tmp_path / "genomes.parquet", "genome_id", "family")
    by_genome = compare(load_comparisons([entry], "t"), runs, "r").row(0, named=True)
    by_family = compare(load_comparisons([entry], "t"), runs, "r",
                        UnitSource(mapping=mapping, mapping_source="genomes.parquet")).row(0, named=True)
    assert (by_genome["units"], by_family["units"]) == (8, 2)
    assert by_family["difference"] == pytest.approx(0.5)
    # Two families only: the family interval is no narrower than the genome one.
    assert by_family["ci_high"] - by_family["ci_low"] > by_genome["ci_high"] - by_genome["ci_low"]
    # A genome the map does not know is refused, naming it.
    pl.DataFrame({"genome_id": genomes[:-1], "family": "f1"}).write_csv(tmp_path / "short.tsv", separator="\t")
    with pytest.raises(GenolmInputError, match="group g8"):
        compare(load_comparisons([entry], "t"), runs, "r",
                UnitSource(mapping=read_unit_map(tmp_path / "short.tsv", "genome_id", "family"), mapping_source="short.tsv"))


def test_unit_map_refuses_a_genome_in_two_families(tmp_path):
    pl.DataFrame({"genome_id": ["g1", "g1"], "family": ["f1", "f2"]}).write_csv(tmp_path / "m.tsv", separator="\t")
    with pytest.raises(GenolmInputError, match="maps to two"):
        read_unit_map(tmp_path / "m.tsv", "genome_id", "family")


def test_compare_command_with_group_shards(tmp_path):
    shards = pair_shards(tmp_path / "pairs")
    targets = [p[::-1] for p in PARENTS]
    enbed = generation_job(tmp_path / "enbed", targets)
    copy = generation_job(tmp_path / "copy", ["N"] * len(targets))
    status = main(["compare", "--comparisons", json.dumps([ENTRY]), "--run",
                   f"arm=enbed,replicate=1,split_seed=1,pretrain_seed=1,seed=1,path={enbed}", "--run",
                   f"arm=copy,replicate=1,split_seed=1,pretrain_seed=,seed=1,path={copy}",
                   "--group-shards", str(shards), "--group-column", "sequence", "--out-tsv", str(tmp_path / "c.tsv")])
    assert status == 0
    table = pl.read_csv(tmp_path / "c.tsv", separator="\t")
    assert table["units"].to_list() == [3] and table["verdict"].to_list() == ["supported"]
