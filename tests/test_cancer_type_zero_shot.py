"""The cancer-type zero-shot arm: per-cell-line score features, the pre-registered lineage comparison and the
zero-shot classifier find a planted difference and not a shuffled one; QC adds up; the command writes rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from genolm.qc import QCCounts
from genolm.studies.cancer_type.zero_shot import cell_line_features, lineage_comparison, zero_shot_classification
from conftest import run_genolm


def study_tables(shift: float, seed: int = 0, per_line: int = 30):
    """Two lineages of 40 cell lines (28 train, 12 test); lineage B's mutations score `shift` lower."""
    rng = np.random.default_rng(seed)
    cell_lines, mutations, scores = [], [], []
    for index in range(80):
        label = index % 2
        sample = f"ACH-{index:03d}"
        cell_lines.append({"sample": sample, "lineage": ["Lung", "Skin"][label], "label": label,
                           "split": "train" if index < 56 else "test"})
        for j in range(per_line):
            pos = 1000 * index + j + 1
            mutations.append({"sample": sample, "chrom": "chr1", "pos": pos, "ref": "A", "alt": "C"})
            scores.append({"chrom": "chr1", "pos": pos, "ref": "A", "alt": "C",
                           "llr": rng.normal(-shift * label, 1.0)})
    return pl.DataFrame(cell_lines), pl.DataFrame(mutations), pl.DataFrame(scores)


def test_a_planted_lineage_difference_is_found_and_none_is_found_without_one():
    for shift, found in ((0.5, True), (0.0, False)):
        cell_lines, mutations, scores = study_tables(shift)
        qc = QCCounts("t")
        features = cell_line_features(mutations, scores.head(scores.height - 5), cell_lines, qc=qc)
        assert qc.total("mutation_not_scored") == 5 and features.height == 80
        difference, low, high = lineage_comparison(features, ["Lung", "Skin"], seed=0)["mean_llr_difference/Lung-Skin"]
        accuracy, acc_low, acc_high = zero_shot_classification(features, seed=0)["test/unit_balanced_accuracy"]
        if found:
            assert difference == pytest.approx(0.5, abs=0.15) and low > 0
            assert accuracy > 0.8 and acc_low > 0.5
        else:
            assert low < 0 < high
            assert acc_low < 0.5 < acc_high or accuracy <= 0.7


def test_command_writes_comparison_and_classifier_rows(tmp_path):
    for table, name in zip(study_tables(0.5), ("cells", "mutations", "scores")):
        table.write_parquet(tmp_path / f"{name}.parquet")
    run_genolm("cancer-type-zero-shot", "--cell-lines", str(tmp_path / "cells.parquet"), "--mutations",
               str(tmp_path / "mutations.parquet"), "--scores", str(tmp_path / "scores.parquet"), "--context-length",
               "1024", "--seed", "0", "--out", str(tmp_path / "metrics.parquet"), "--features",
               str(tmp_path / "features.parquet"), "--qc", str(tmp_path / "qc.tsv"), "--study", "cancer_type",
               "--task", "lineage", "--experiment", "tiny-1k-zero-shot", "--model-name", "tiny-1k")
    metrics = pl.read_parquet(tmp_path / "metrics.parquet")
    assert set(zip(metrics["split"], metrics["metric"])) == {
        ("test", "unit_balanced_accuracy"), ("test", "chance_balanced_accuracy"), ("all", "mean_llr_difference/Lung-Skin")}
    assert metrics.filter(pl.col("metric") != "chance_balanced_accuracy")["ci_low"].is_not_null().all()
