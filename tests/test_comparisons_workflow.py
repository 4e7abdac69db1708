"""The studies' pre-registered comparisons and leak checks in the shared end-to-end run (tests/e2e/config.yaml):
one comparisons table per study with the columns a reviewer reads, verdicts that follow from their intervals,
one replicate per configured seed, each with its own split and pretraining; every results row names its replicate;
the leak-check QC tables exist per replicate."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow

CONFIG = yaml.safe_load((REPO / "tests" / "e2e" / "config.yaml").read_text())
STUDIES = [name for name, block in CONFIG["studies"].items() if block.get("comparisons")]
COLUMNS = ["comparison", "arm_a", "arm_b", "metric", "unit", "expected_direction", "difference", "ci_low", "ci_high",
           "verdict", "replicates"]


@pytest.fixture(scope="module")
def run_dir(e2e_local_run) -> Path:
    return e2e_local_run


def expected_verdict(low: float | None, high: float | None, direction: int) -> str:
    """The verdict written out from its definition (docs/studies: supported, reversed, inconclusive; a control at
    chance: consistent, inconsistent)."""
    if low is None or high is None:
        return "inconclusive"
    if direction == 0:
        return "consistent" if low <= 0 <= high else "inconsistent"
    if low > 0 or high < 0:
        return "supported" if (low > 0) == (direction > 0) else "reversed"
    return "inconclusive"


def test_every_study_with_comparisons_is_in_the_e2e_config():
    assert set(STUDIES) == {"cancer_type", "virbert", "small_transformers", "enbed"}


@pytest.mark.parametrize("study", STUDIES)
def test_comparisons_table_of_each_study(run_dir, study):
    tables = run_dir / "results" / "tables" / study
    table = pl.read_csv(tables / "comparisons.tsv", separator="\t")
    assert set(COLUMNS) <= set(table.columns)
    declared = CONFIG["studies"][study]["comparisons"]
    assert table["comparison"].to_list() == [c["name"] for c in declared]
    assert table.select("arm_a", "arm_b", "expected_direction").rows() == [
        (c["arm_a"], c["arm_b"], c["expected_direction"]) for c in declared]
    assert table["replicates"].to_list() == [len(CONFIG["seeds"])] * len(declared)
    for row in table.iter_rows(named=True):
        assert row["verdict"] == expected_verdict(row["ci_low"], row["ci_high"], row["expected_direction"]), row
        if row["ci_low"] is not None:
            assert row["ci_low"] <= row["ci_high"]
        assert len(str(row["replicate_differences"]).split(",")) == len(CONFIG["seeds"])
    assert (tables / "comparisons.md").read_text().count("\n| ") >= len(declared)
    assert (tables / "comparisons.html").is_file()  # the report's page
    assert (run_dir / "results" / "plots" / study / "comparisons.png").stat().st_size > 0


def test_comparison_units_are_the_declared_ones(run_dir):
    """virBERT resamples families (fewer than its test genomes); ENBED parents; 12S species; cancer type cell lines."""
    def units(study):
        return pl.read_csv(run_dir / "results" / "tables" / study / "comparisons.tsv", separator="\t")["units"].to_list()

    families = [pl.read_parquet(run_dir / "results" / "virbert" / "genomes" / f"split{seed}" / "genomes.parquet")
                .filter(pl.col("split") == "test")["family"].n_unique() for seed in CONFIG["seeds"]]
    assert units("virbert") == [round(sum(families) / len(families))]  # the mean over replicates' own splits
    assert all(1 < n for n in units("small_transformers") + units("cancer_type") + units("enbed"))


def test_results_rows_name_their_replicate_and_configured_label_fraction(run_dir):
    table = pl.read_parquet(run_dir / "results" / "tables" / "metrics.parquet")
    # No study fixes its split or pretraining here (the schema's default): replicate N draws both with N.
    assert set(table["split_seed"].drop_nulls().unique().to_list()) <= set(CONFIG["seeds"]) | {CONFIG["seed"]}
    ct = table.filter((pl.col("study") == "cancer_type") & (pl.col("task") == "cancer_type_classification"))
    assert (ct["split_seed"] == ct["seed"]).all()
    # The e2e cancer-type backbones are pretrained by the workflow (no checkpoint), once per replicate.
    pretrained = ct.filter(pl.col("experiment").is_in(["1K-main", "32K-main", "32K-frozen"]))
    assert len(pretrained) and (pretrained["pretrain_seed"] == pretrained["seed"]).all()
    # random init and the baselines load no pretraining
    unpretrained = ct.filter(~pl.col("experiment").is_in(["1K-main", "32K-main", "32K-frozen"]))
    assert len(unpretrained) and unpretrained["pretrain_seed"].null_count() == len(unpretrained)
    finetuned = table.filter((pl.col("study") == "virbert") & (pl.col("task") == "phage_classification"))
    configured = finetuned["experiment"].str.extract(r"_f([0-9.e-]+)$").cast(pl.Float64)
    assert (finetuned["label_fraction"] == configured).all()


def test_leak_check_qc_tables(run_dir):
    for seed in CONFIG["seeds"]:
        ct = pl.read_csv(run_dir / "results" / "cancer_type" / "qc" / f"split{seed}" / "mutated_L128" / "interval_overlaps.tsv",
                         separator="\t")
        counts = dict(zip(ct["reason"], ct["count"]))
        assert counts["test_windows"] == counts["no_overlap"] + counts["overlaps_same_label"] + counts["overlaps_other_label_only"]
        for path in (f"small_transformers/qc/seed{seed}/leak_check_species.tsv", f"virbert/qc/seed{seed}/leak_check_L150.tsv"):
            table = pl.read_csv(run_dir / "results" / path, separator="\t")
            assert {"unit", "containment", "over_threshold"} <= set(table.columns) and len(table)


def test_each_replicate_draws_its_own_split_and_pretraining(run_dir):
    """Two replicates differ in their cell-line split, their virBERT genome split and their pretrained weights."""
    first, second = CONFIG["seeds"][:2]
    ct = run_dir / "results" / "cancer_type" / "selection"
    splits = [pl.read_parquet(ct / f"split{s}" / "cell_lines.parquet").sort("sample")["split"].to_list() for s in (first, second)]
    assert splits[0] != splits[1]
    vb = run_dir / "results" / "virbert" / "genomes"
    genome_splits = [pl.read_parquet(vb / f"split{s}" / "genomes.parquet").sort("genome_id")["split"].to_list()
                     for s in (first, second)]
    assert genome_splits[0] != genome_splits[1]
    weights = [(run_dir / "results" / "cancer_type" / "pretrain" / "tiny-1k" / f"seed{s}" / "model" / "model.safetensors").read_bytes()
               for s in (first, second)]
    assert weights[0] != weights[1]
