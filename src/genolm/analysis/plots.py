"""Figures a user would rather look at than read: training curves, UMAP grids, the results summary, and what every
study's figures share: readable metric names with units (`METRIC_DISPLAY`) and spreads that stay inside a
metric's range (`spread_bars`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # jobs run headless on compute nodes
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import seaborn as sns

from genolm.atomic import atomic_file


@dataclass(frozen=True)
class MetricDisplay:
    """How a figure shows a metric: a readable name, the unit after scaling, and the range of scaled values."""

    name: str
    unit: str = ""
    scale: float = 1.0
    low: float | None = None
    high: float | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


_PERCENT = {"unit": "%", "scale": 100.0, "low": 0.0, "high": 100.0}
_UNIT_INTERVAL = {"low": 0.0, "high": 1.0}
_EDITS = {"unit": "edits", "low": 0.0}
# The results table's metric names (genolm.metrics, the studies' evaluations) as figures show them: the one place
# a figure takes a metric's name, unit and range from.
METRIC_DISPLAY = {
    "accuracy": MetricDisplay("accuracy", **_PERCENT),
    "balanced_accuracy": MetricDisplay("balanced accuracy", **_PERCENT),
    "unit_balanced_accuracy": MetricDisplay("balanced accuracy per unit", **_PERCENT),
    "chance_balanced_accuracy": MetricDisplay("chance balanced accuracy", **_PERCENT),
    "f1_macro": MetricDisplay("macro F1", **_PERCENT),
    "recall_macro": MetricDisplay("macro recall", **_PERCENT),
    "exact_match_top1": MetricDisplay("exact match, top 1", **_PERCENT),
    "mcc": MetricDisplay("Matthews correlation (MCC)", low=-1.0, high=1.0),
    "auroc": MetricDisplay("AUROC", **_UNIT_INTERVAL),
    "auroc_macro": MetricDisplay("macro AUROC", **_UNIT_INTERVAL),
    "auprc": MetricDisplay("AUPRC", **_UNIT_INTERVAL),
    "levenshtein_mean": MetricDisplay("mean Levenshtein distance", **_EDITS),
    "levenshtein_median": MetricDisplay("median Levenshtein distance", **_EDITS),
}
# Skewed counts with a floor at 0: a mean ± SD bar would reach below 0, so their runs show as median and quartiles.
QUARTILE_METRICS = frozenset({"levenshtein_mean", "levenshtein_median"})


def metric_display(metric: str) -> MetricDisplay:
    """The display of `metric`; `exact_match_top<k>` for any k; any other name not in METRIC_DISPLAY is shown with
    its underscores as spaces, without unit or range."""
    if metric in METRIC_DISPLAY:
        return METRIC_DISPLAY[metric]
    top_k = re.fullmatch(r"exact_match_top(\d+)", metric)
    if top_k:
        return MetricDisplay(f"exact match, top {top_k.group(1)}", **_PERCENT)
    return MetricDisplay(metric.replace("_", " "))


def spread_bars(values, metric: str) -> tuple[float, float, float]:
    """(centre, lower, upper) of one experiment's runs, scaled for display, with lower <= centre <= upper inside
    the metric's range: median and 25th/75th percentiles for QUARTILE_METRICS, else mean ± SD (ddof 1) clipped
    to the range."""
    display = metric_display(metric)
    scaled = np.asarray(values, dtype=float) * display.scale
    if metric in QUARTILE_METRICS:
        low, centre, high = np.percentile(scaled, [25, 50, 75])
    else:
        centre = float(scaled.mean())
        sd = float(scaled.std(ddof=1)) if len(scaled) > 1 else 0.0
        low, high = centre - sd, centre + sd
    low = low if display.low is None else max(low, display.low)
    high = high if display.high is None else min(high, display.high)
    return float(centre), float(low), float(high)


def draw_runs(ax, x: float, values, metric: str, *, color, point_color) -> None:
    """One experiment at `x`: a bar at the centre of its runs, the spread as an error bar, each run as a point."""
    centre, low, high = spread_bars(values, metric)
    ax.bar(x, centre, yerr=[[centre - low], [high - centre]], capsize=3, color=color, edgecolor="grey")
    scaled = np.asarray(values, dtype=float) * metric_display(metric).scale
    jitter = np.linspace(-0.15, 0.15, len(scaled)) if len(scaled) > 1 else np.zeros(1)
    ax.scatter(x + jitter, scaled, s=14, color=point_color, zorder=3)


def spread_kind(metric: str) -> str:
    """What draw_runs' bar and error bar show for `metric`, for an axis label."""
    return "median, 25th-75th percentile" if metric in QUARTILE_METRICS else "mean ± SD"


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


def _chance_by_experiment(rows: pl.DataFrame) -> dict[str, float]:
    """Chance balanced accuracy (1 / the number of classes, recorded by every classification run) per experiment."""
    chance = rows.filter(pl.col("metric") == "chance_balanced_accuracy")
    return dict(chance.group_by("experiment").agg(pl.col("value").max()).iter_rows())


def metrics_summary_figure(table: pl.DataFrame):
    """One row per (study, task), one panel per level (window, unit) that has results: test balanced accuracy of
    every experiment as the mean over seeds (bar) with each seed's value (dots) and the standard deviation over
    seeds (error bar, clipped to 0-100 %), beside chance (1 / the task's classes, from the runs'
    `chance_balanced_accuracy`) as a dashed line. A level without results gets no panel."""
    sns.set_theme(style="whitegrid", context="notebook")
    rows = reported_rows(table).with_columns(pl.col("task").fill_null(""))
    measured = rows.filter(pl.col("metric").is_in([m for m, _ in SUMMARY_PANELS]))
    groups = sorted(set(zip(measured["study"], measured["task"])))
    layout = [(study, task, [(m, level) for m, level in SUMMARY_PANELS
                             if len(measured.filter((pl.col("study") == study) & (pl.col("task") == task)
                                                    & (pl.col("metric") == m)))])
              for study, task in groups]
    columns = max((len(panels) for *_, panels in layout), default=1)
    experiments = max((measured.filter((pl.col("study") == s) & (pl.col("task") == t))["experiment"].n_unique()
                       for s, t, _ in layout), default=1)
    width = max(5.0, 0.9 * experiments)
    fig, axes = plt.subplots(max(1, len(layout)), columns, figsize=(width * columns, 3.8 * max(1, len(layout))),
                             squeeze=False)
    if not layout:
        axes[0][0].set_axis_off()
        axes[0][0].set_title("no classification results")
    for row, (study, task, panels) in enumerate(layout):
        group = rows.filter((pl.col("study") == study) & (pl.col("task") == task))
        chance = _chance_by_experiment(group)
        for column in range(len(panels), columns):
            fig.delaxes(axes[row][column])
        for column, (metric, level) in enumerate(panels):
            ax = axes[row][column]
            display = metric_display(metric)
            sub = group.filter(pl.col("metric") == metric)
            names = sorted(set(sub["experiment"]))
            colors = sns.color_palette("pastel", len(names))
            seeds = 0
            for i, name in enumerate(names):
                values = sub.filter(pl.col("experiment") == name)["value"].to_numpy()
                seeds = max(seeds, len(values))
                draw_runs(ax, i, values, metric, color=colors[i], point_color="black")
                ax.annotate(f"{values.mean() * display.scale:.1f}", (i, 1.06 * display.high), ha="center", fontsize=7)
            levels = {chance[n] * display.scale for n in names if n in chance}
            if len(levels) == 1:
                ax.axhline(next(iter(levels)), ls="--", c="grey", lw=1, label="chance")
            elif levels:  # experiments of one task with different label sets: chance beside each bar
                for i, name in enumerate(names):
                    if name in chance:
                        ax.hlines(chance[name] * display.scale, i - 0.45, i + 0.45, linestyles="--", colors="grey",
                                  lw=1, label="chance" if i == 0 else None)
            if levels:
                ax.legend(fontsize=7, loc="lower right")
            # ENBED-style experiment names repeat the task the row title already gives.
            ticks = [n.removeprefix(f"{task}/") if task else n for n in names]
            ax.set_xticks(np.arange(len(names)), ticks, rotation=30, ha="right", fontsize=8)
            ax.set_ylim(display.low, 1.12 * display.high)
            ax.set_ylabel(f"test {display.label}")
            heading = f"{study}, {task}" if task and task != study else study
            ax.set_title(f"{heading}: {level} (mean ± sd over {seeds} seeds)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_metrics_summary(table: pl.DataFrame, path: Path) -> None:
    _save(metrics_summary_figure(table), path)


def attention_heads_figure(maps: np.ndarray, *, title: str, columns: int = 4):
    """One heatmap per head (query rows, key columns; white: keys outside a local window), the ENBED paper's
    Figure 2 layout."""
    heads = maps.shape[0]
    rows = -(-heads // columns)
    fig, axes = plt.subplots(rows, min(columns, heads), figsize=(3 * min(columns, heads), 3 * rows), squeeze=False)
    for h, ax in enumerate(axes.flat):
        if h >= heads:
            ax.axis("off")
            continue
        ax.imshow(np.ma.masked_invalid(maps[h]), cmap="viridis", interpolation="nearest", vmin=0)
        ax.set_title(f"head {h + 1}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes.flat[0].set_ylabel("query token")
    axes.flat[min(columns, heads) - 1].set_xlabel("key token")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_attention_heads(maps: np.ndarray, path: Path, **kwargs) -> None:
    _save(attention_heads_figure(maps, **kwargs), path)
