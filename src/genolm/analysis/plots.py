"""Figures a user would rather look at than read: training curves and UMAP grids."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # jobs run headless on compute nodes
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import seaborn as sns

from genolm.atomic import atomic_file


def _save(fig, path: Path) -> None:
    try:
        with atomic_file(path) as tmp:  # keeps the suffix, from which savefig takes the format
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def plot_history(history: pl.DataFrame, path: Path, title: str) -> None:
    """Loss curves (train and validation) and, when present, validation accuracy, against the step."""
    sns.set_theme(style="whitegrid", context="notebook")
    panels = [("loss", ["train/loss", "val/loss"]), ("accuracy", ["val/accuracy", "val/balanced_accuracy"]),
              ("perplexity", ["val/perplexity"])]
    panels = [(name, [k for k in keys if k in set(history["metric"])]) for name, keys in panels]
    panels = [p for p in panels if p[1]] or [("loss", [])]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (name, keys) in zip(axes[0], panels):
        for key in keys:
            rows = history.filter(pl.col("metric") == key)
            ax.plot(rows["step"], rows["value"], marker="o" if key.startswith("val") else None, ms=3, label=key)
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        if keys:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    _save(fig, path)


def plot_umap_grid(coords: dict[tuple[int, float], np.ndarray], labels: np.ndarray, path: Path, **kwargs) -> None:
    _save(umap_grid_figure(coords, labels, **kwargs), path)


def umap_grid_figure(coords: dict[tuple[int, float], np.ndarray], labels: np.ndarray, *, title: str,
                     scores: dict[tuple[int, float], float], score_name: str, highlight: list | None = None,
                     order: list | None = None):
    """One panel per (n_neighbors, min_dist); points coloured by `labels`.

    With `highlight`, only those label values get colours and the rest are drawn grey underneath: the figure for
    positional bins shows where the most populated bins lie instead of a rainbow of ten similar colours.
    Each panel's title carries the number that backs its claim (kNN label accuracy in that embedding).
    """
    sns.set_theme(style="white", context="notebook")
    n_values = sorted({k[0] for k in coords})
    d_values = sorted({k[1] for k in coords})
    fig, axes = plt.subplots(len(n_values), len(d_values), figsize=(3.2 * len(d_values), 3.0 * len(n_values)),
                             squeeze=False)
    categories = order or sorted(set(labels.tolist()), key=str)
    shown = [c for c in categories if highlight is None or c in highlight]
    palette = dict(zip(shown, sns.color_palette("tab10" if len(shown) <= 10 else "husl", len(shown))))
    for i, n in enumerate(n_values):
        for j, d in enumerate(d_values):
            ax = axes[i][j]
            xy = coords[(n, d)]
            if highlight is not None:
                rest = ~np.isin(labels, shown)
                ax.scatter(xy[rest, 0], xy[rest, 1], s=4, c="lightgrey", linewidths=0)
            for c in shown:
                sel = labels == c
                ax.scatter(xy[sel, 0], xy[sel, 1], s=5, color=palette[c], linewidths=0, label=str(c))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"n={n}, d={d}  {score_name}={scores[(n, d)]:.2f}", fontsize=8)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, fontsize=8, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


SUMMARY_PANELS = (("balanced_accuracy", "per window"), ("unit_balanced_accuracy", "per unit (cell line / genome)"))


def reported_rows(table: pl.DataFrame, split: str = "test") -> pl.DataFrame:
    """The rows a reader compares: `split`, at the checkpoint chosen on validation where there was a choice
    (`best`), else at the final step (`last`: baselines, runs without a validation split)."""
    rows = table.filter(pl.col("split") == split)
    # Per run: a seed, or a fold of a K-fold protocol (a window expression groups null folds together).
    has_best = (pl.col("checkpoint") == "best").any().over("study", "experiment", "seed", "fold")
    return rows.filter(pl.when(has_best).then(pl.col("checkpoint") == "best").otherwise(True))


def metrics_summary_figure(table: pl.DataFrame):
    """One row per study, one panel per level (window, unit): test balanced accuracy of every experiment as the
    mean over seeds (bar) with each seed's value (dots) and the standard deviation over seeds (error bar), beside
    the chance level (1 / classes) as a dashed line."""
    sns.set_theme(style="whitegrid", context="notebook")
    rows = reported_rows(table)
    studies = sorted(set(rows.filter(pl.col("metric").is_in([m for m, _ in SUMMARY_PANELS]))["study"]))
    experiments = {s: sorted(set(rows.filter(pl.col("study") == s)["experiment"])) for s in studies}
    width = max(5.0, 0.9 * max((len(e) for e in experiments.values()), default=1))
    fig, axes = plt.subplots(max(1, len(studies)), len(SUMMARY_PANELS), figsize=(width * len(SUMMARY_PANELS),
                             3.8 * max(1, len(studies))), squeeze=False)
    for row, study in enumerate(studies or ["(no classification results)"]):
        for column, (metric, level) in enumerate(SUMMARY_PANELS):
            ax = axes[row][column]
            sub = rows.filter((pl.col("study") == study) & (pl.col("metric") == metric))
            names = [e for e in experiments.get(study, []) if e in set(sub["experiment"])]
            stats = sub.group_by("experiment").agg(pl.col("value").mean().alias("mean"),
                                                   pl.col("value").std(ddof=1).fill_null(0.0).alias("sd"),
                                                   pl.len().alias("seeds"))
            stats = {r["experiment"]: r for r in stats.iter_rows(named=True)}
            x = np.arange(len(names))
            ax.bar(x, [stats[n]["mean"] for n in names], yerr=[stats[n]["sd"] for n in names], capsize=3,
                   color=sns.color_palette("pastel", max(1, len(names))), edgecolor="grey")
            for i, name in enumerate(names):
                values = sub.filter(pl.col("experiment") == name)["value"].to_numpy()
                jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1)
                ax.scatter(i + jitter, values, s=14, c="black", zorder=3)
                ax.annotate(f"{stats[name]['mean']:.2f}", (i, 1.06), ha="center", fontsize=7)
            chance = table.filter((pl.col("study") == study) & (pl.col("metric") == "chance_balanced_accuracy"))
            if len(chance):
                ax.axhline(float(chance["value"].max()), ls="--", c="grey", lw=1, label="chance")
                ax.legend(fontsize=7, loc="lower right")
            seeds = max((stats[n]["seeds"] for n in names), default=0)
            ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
            ax.set_ylim(0, 1.12)
            ax.set_ylabel("test balanced accuracy")
            ax.set_title(f"{study}: {level} (mean ± sd over {seeds} seeds)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_metrics_summary(table: pl.DataFrame, path: Path) -> None:
    _save(metrics_summary_figure(table), path)
