"""The forest plot of a study's pre-registered comparisons (the table genolm.comparisons writes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from genolm.analysis.plots import _save, plt

VERDICT_COLOURS = {"supported": "tab:green", "reversed": "tab:red", "inconclusive": "tab:grey",
                   "consistent": "tab:green", "inconsistent": "tab:red"}  # the last two: controls at chance


def plot_forest(table: pl.DataFrame, path: Path, title: str | None = None) -> None:
    """One row per comparison, each on its own x scale (metrics differ): the per-replicate differences A − B as
    points, their mean as a diamond, the bootstrap interval as a bar coloured by the verdict, the zero line, and
    the side the paper reports shaded, labelled "paper: A > B" or "A < B"."""
    rows = list(table.iter_rows(named=True))
    fig, axes = plt.subplots(max(len(rows), 1), 1, figsize=(8, 1.1 + 0.9 * max(len(rows), 1)), squeeze=False)
    for ax, row in zip(axes[:, 0], rows):
        points = [float(v) for v in (row["replicate_differences"] or "").split(",") if v]
        values = [v for v in [row["ci_low"], row["ci_high"], row["difference"], 0.0, *points] if np.isfinite(v)]
        span = (max(values) - min(values)) or 1.0
        left, right = min(values) - 0.15 * span, max(values) + 0.15 * span
        expected = row["expected_direction"]
        if expected:  # a control at chance (0) has no side to shade
            ax.axvspan(0, right if expected > 0 else left, color="tab:blue", alpha=0.08, lw=0)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        colour = VERDICT_COLOURS.get(row["verdict"], "black")
        if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
            ax.hlines(0, row["ci_low"], row["ci_high"], color=colour, lw=3)
        ax.scatter(points, np.full(len(points), 0.18), s=14, color="dimgrey", zorder=3, label="replicates")
        ax.scatter([row["difference"]], [0], marker="D", s=40, color="black", zorder=4)
        ax.set_xlim(left, right)
        ax.set_ylim(-0.5, 0.5)
        ax.set_yticks([0])
        ax.set_yticklabels([row["comparison"]])
        paper = {1: "paper: A > B", -1: "paper: A < B", 0: "control: A at chance"}[expected]
        ax.text(1.01, 0.5, f"{row['verdict']}\n{paper}", transform=ax.transAxes, va="center", fontsize=8, color=colour)
        ax.set_xlabel(f"{row['metric']}: {row['arm_a']} − {row['arm_b']} "
                      f"({row['replicates']} replicate(s), {row['level']:.0%} interval)", fontsize=8)
    if not rows:
        axes[0, 0].text(0.5, 0.5, "no comparisons", ha="center", va="center", transform=axes[0, 0].transAxes)
        axes[0, 0].set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, Path(path))
