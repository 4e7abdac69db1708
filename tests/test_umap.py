"""The numbers behind the UMAP figures: kNN label accuracy, baselines, positional bins, and the figures themselves."""

from __future__ import annotations

import numpy as np
import polars as pl

from genolm.studies.cancer_type.umap_grid import analyse, knn_accuracy, majority_baseline, position_bins


def test_knn_accuracy_separates_structure_from_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.array(["a", "b"]), 100)
    clustered = rng.normal(size=(200, 8)) + np.where(labels == "a", 0.0, 6.0)[:, None]
    noise = rng.normal(size=(200, 8))
    assert knn_accuracy(clustered, labels, k=5) > 0.95
    assert 0.3 < knn_accuracy(noise, labels, k=5) < 0.7
    assert majority_baseline(np.array(["a", "a", "a", "b"])) == 0.75


def test_knn_accuracy_excludes_the_point_itself():
    # Each point's only same-label neighbour is itself: leave-one-out must score 0, not 1.
    points = np.array([[0.0], [1.0], [10.0], [11.0]])
    labels = np.array(["x", "y", "x", "y"])
    assert knn_accuracy(points, labels, k=1) == 0.0


def test_position_bins_are_equal_width_per_chromosome():
    table = pl.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "ref_start": [0, 950, 0], "ref_end": [100, 1000, 10],
                          "chrom_length": [1000, 1000, 20]})
    assert position_bins(table, 10).tolist() == ["chr1:0", "chr1:9", "chr2:2"]


def test_analyse_writes_three_grids_and_metrics(tmp_path):
    rng = np.random.default_rng(1)
    n = 60
    rows = {
        "kind": ["reference"] * n + ["mutated"] * n,
        "split": ["reference"] * n + ["test"] * n,
        "chrom": ["chr1", "chr2", "chr3"] * (2 * n // 3),
        "ref_start": list(range(0, 2 * n * 100, 100)),
        "ref_end": list(range(64, 2 * n * 100 + 64, 100)),
        "chrom_length": [2 * n * 100] * (2 * n),
        "lineage": [None] * n + ["Lung", "Lymphoid"] * (n // 2),
    }
    embedding = rng.normal(size=(2 * n, 4)).astype(np.float32)
    table = pl.DataFrame(rows).with_columns(pl.Series("embedding", embedding, dtype=pl.Array(pl.Float32, 4)))
    metrics = analyse(table, out_dir=tmp_path, n_neighbors=[5], min_dist=[0.1, 0.5], bins=4, highlight_bins=2, k=5,
                      seed=0, title="test")
    for name in ("chromosome", "position_bin", "cancer_type"):
        assert (tmp_path / f"umap_{name}.png").stat().st_size > 5000
    assert set(metrics) >= {"reference/knn_accuracy_chromosome", "reference/majority_baseline_chromosome",
                            "test/knn_accuracy_cancer_type", "test/umap_knn_accuracy_cancer_type_n5_d0.5"}
    assert metrics["test/majority_baseline_cancer_type"] == 0.5
