"""UMAP over a grid of (n_neighbors, min_dist), coloured by chromosome, positional bin and cancer type.

A UMAP picture can suggest structure that is not there (or hide structure that is). Every colouring is
therefore backed by a number: k-nearest-neighbour accuracy of that label, in the full embedding space and in each
2-d layout, next to the majority-class baseline a structureless embedding would get. Reference windows (chromosome,
position) are scored leave-one-out. Cancer type is scored across cell lines: the train cell lines' windows are the
neighbours, the test cell lines' windows the queries, so overlapping windows of one cell line cannot vote for each
other and the number says what a kNN classifier on the embedding would do for unseen cell lines.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.neighbors import NearestNeighbors

from genolm.analysis.plots import plot_umap_grid

log = logging.getLogger(__name__)


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Leave-one-out kNN accuracy: each point's label predicted by majority vote of its k nearest others."""
    n = len(points)
    if n < 2:
        return float("nan")
    k = min(k, n - 1)
    _, index = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    codes, inverse = np.unique(labels, return_inverse=True)
    neighbour_codes = inverse[index[:, 1:]]  # column 0 is the point itself
    votes = np.zeros((n, len(codes)), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(n), k), neighbour_codes.ravel()), 1)
    # Ties go to the lowest label code: deterministic, and no better than chance on structureless data.
    return float((votes.argmax(axis=1) == inverse).mean())


def knn_transfer_accuracy(points: np.ndarray, labels: np.ndarray, reference: np.ndarray, k: int) -> float:
    """kNN accuracy of the rows outside `reference` (a boolean mask), predicted from the reference rows alone."""
    from sklearn.neighbors import KNeighborsClassifier

    if reference.sum() < 1 or (~reference).sum() < 1:
        return float("nan")
    model = KNeighborsClassifier(n_neighbors=min(k, int(reference.sum()))).fit(points[reference], labels[reference])
    return float((model.predict(points[~reference]) == labels[~reference]).mean())


def majority_baseline(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    return float(counts.max() / counts.sum())


def position_bins(table: pl.DataFrame, bins: int) -> np.ndarray:
    """Equal-width bins along each chromosome, by window midpoint: labels like 'chr22:3' (bin 3 of `bins`)."""
    mid = (table["ref_start"] + table["ref_end"]) / 2
    index = (mid / table["chrom_length"] * bins).floor().clip(0, bins - 1).cast(pl.Int64)
    return np.array([f"{c}:{b}" for c, b in zip(table["chrom"].to_list(), index.to_list())])


def umap_grid(points: np.ndarray, n_neighbors: list[int], min_dist: list[float], seed: int) -> dict[tuple[int, float], np.ndarray]:
    import umap  # numba compiles on first import: keep it out of module import time

    layouts = {}
    for n in n_neighbors:
        for d in min_dist:
            reducer = umap.UMAP(n_neighbors=min(n, len(points) - 1), min_dist=d, random_state=seed, n_jobs=1)
            layouts[(n, d)] = reducer.fit_transform(points)
    return layouts


def analyse(table: pl.DataFrame, *, out_dir: Path, n_neighbors: list[int], min_dist: list[float], bins: int,
            highlight_bins: int, k: int, seed: int, title: str) -> dict[str, float]:
    """Write the three UMAP grid figures; return metrics as {"<split>/<metric>": value}."""
    metrics: dict[str, float] = {}
    colourings = []
    reference = table.filter(pl.col("kind") == "reference")
    if len(reference) > 2:
        ref_points = np.stack(reference["embedding"].to_numpy())
        colourings.append(("chromosome", ref_points, np.array(reference["chrom"].to_list()), None, "reference", None))
        bin_labels = position_bins(reference, bins)
        values, counts = np.unique(bin_labels, return_counts=True)
        top = [v for v, _ in sorted(zip(values, counts), key=lambda vc: (-vc[1], vc[0]))[:highlight_bins]]
        colourings.append(("position_bin", ref_points, bin_labels, top, "reference", None))
    mutated = table.filter(pl.col("kind") == "mutated")
    if len(mutated) > 2:
        mut_points = np.stack(mutated["embedding"].to_numpy())
        train = np.array(mutated["split"].to_list()) == "train"
        colourings.append(("cancer_type", mut_points, np.array(mutated["lineage"].to_list()), None,
                           "test" if train.any() else "+".join(sorted(set(mutated["split"]))), train if train.any() else None))

    def score(points: np.ndarray, labels: np.ndarray, reference: np.ndarray | None) -> float:
        return knn_accuracy(points, labels, k) if reference is None else knn_transfer_accuracy(points, labels, reference, k)

    layouts_by_points: dict[int, dict] = {}
    for name, points, labels, highlight, split, reference in colourings:
        metrics[f"{split}/knn_accuracy_{name}"] = score(points, labels, reference)
        metrics[f"{split}/majority_baseline_{name}"] = majority_baseline(labels if reference is None else labels[~reference])
        if id(points) not in layouts_by_points:
            log.info("UMAP grid of %d points (%s)", len(points), name)
            layouts_by_points[id(points)] = umap_grid(points, n_neighbors, min_dist, seed)
        layouts = layouts_by_points[id(points)]
        scores = {key: score(xy, labels, reference) for key, xy in layouts.items()}
        for (n, d), value in scores.items():
            metrics[f"{split}/umap_knn_accuracy_{name}_n{n}_d{d}"] = value
        how = "train->test cell lines" if reference is not None else "leave-one-out"
        plot_umap_grid(layouts, labels, out_dir / f"umap_{name}.png", scores=scores, score_name=f"{k}-NN acc",
                       highlight=highlight,
                       title=f"{title}: {name.replace('_', ' ')} (full-space {k}-NN acc, {how}: "
                             f"{metrics[f'{split}/knn_accuracy_{name}']:.2f}; "
                             f"majority {metrics[f'{split}/majority_baseline_{name}']:.2f})")
    return metrics
