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


def plot_umap_grid(coords: dict[tuple[int, float], np.ndarray], labels: np.ndarray, path: Path, *, title: str,
                   scores: dict[tuple[int, float], float], score_name: str, highlight: list | None = None,
                   order: list | None = None) -> None:
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
    _save(fig, path)


def plot_metrics_summary(table: pl.DataFrame, path: Path) -> None:
    """Test accuracy and balanced accuracy per experiment, one panel per study, with the majority baseline."""
    sns.set_theme(style="whitegrid", context="notebook")
    rows = table.filter((pl.col("split") == "test") & pl.col("metric").is_in(["accuracy", "balanced_accuracy"]))
    studies = sorted(set(rows["study"])) or ["(no classification results)"]
    width = max(5.0, 1.6 * len(set(rows["experiment"])))
    fig, axes = plt.subplots(1, len(studies), figsize=(width * len(studies), 3.8), squeeze=False)
    for ax, study in zip(axes[0], studies):
        sub = rows.filter(pl.col("study") == study).sort("experiment")
        if len(sub):
            sns.barplot(data=sub.to_pandas(), x="experiment", y="value", hue="metric", ax=ax)
            for container in ax.containers:
                ax.bar_label(container, fmt="%.2f", fontsize=7)
        # The majority-class share of the embedded test windows: what a model that learnt nothing scores.
        baseline = table.filter((pl.col("study") == study) & pl.col("metric").str.starts_with("majority_baseline_cancer"))
        if len(baseline):
            ax.axhline(float(baseline["value"].mean()), ls="--", c="grey", lw=1, label="majority baseline")
        ax.set_ylim(0, 1.05)
        ax.set_title(study)
        ax.set_xlabel("")
        ax.set_ylabel("test split")
        ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)
