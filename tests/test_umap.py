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
        "split": ["reference"] * n + ["train"] * (n // 2) + ["test"] * (n // 2),
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
        assert (tmp_path / f"umap_{name}.png").exists()
    # Cancer type is scored across cell lines: train windows are the neighbours, test windows the queries.
    assert set(metrics) >= {"reference/knn_accuracy_chromosome", "reference/majority_baseline_chromosome",
                            "test/knn_accuracy_cancer_type", "test/umap_knn_accuracy_cancer_type_n5_d0.5"}
    assert metrics["test/majority_baseline_cancer_type"] == 0.5


def test_knn_across_cell_lines_uses_train_as_neighbours_only():
    from genolm.studies.cancer_type.umap_grid import knn_transfer_accuracy

    # Test points sit on top of each other (as overlapping windows of one cell line would) but far from the train
    # points of their label: within-test neighbours would score 1, the train reference scores 0.
    points = np.array([[0.0], [0.1], [10.0], [10.1], [10.0], [0.0]])
    labels = np.array(["a", "a", "b", "b", "a", "b"])
    reference = np.array([True, True, True, True, False, False])
    assert knn_transfer_accuracy(points, labels, reference, k=1) == 0.0


def test_umap_grid_figure_shows_every_layout_and_point():
    from matplotlib.collections import PathCollection

    from genolm.analysis.plots import umap_grid_figure

    rng = np.random.default_rng(0)
    labels = np.array(["chr1", "chr2", "chr3"] * 20)
    coords = {(n, d): rng.normal(size=(60, 2)) for n in (5, 15) for d in (0.1, 0.5, 0.9)}
    scores = dict.fromkeys(coords, 0.5)
    fig = umap_grid_figure(coords, labels, title="t", scores=scores, score_name="acc", highlight=["chr1"])
    axes = [ax for ax in fig.axes if ax.collections]
    assert len(axes) == 6  # 2 n_neighbors x 3 min_dist panels
    for ax in axes:
        points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
        assert points == 60  # every window, highlighted or grey
        assert ax.get_title().endswith("acc=0.50")
