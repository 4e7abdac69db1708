"""Figures a reader trusts: chance from each task's class count, no empty panels, readable metric names with units,
spreads inside the metric's range, label-fraction axes ticked with the fractions. Checked on the axes objects."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from matplotlib.container import ErrorbarContainer

from genolm.analysis.plots import metric_display, metrics_summary_figure, spread_bars
from genolm.results import metric_rows


def _error_bar_bounds(ax) -> list[tuple[float, float]]:
    """(lower, upper) end of every vertical error bar drawn on `ax` (bars and line plots)."""
    bounds = []
    for container in ax.containers:
        if not isinstance(container, ErrorbarContainer) or not container.lines[2]:
            continue
        for segment in container.lines[2][0].get_segments():
            ys = [point[1] for point in segment]
            bounds.append((min(ys), max(ys)))
    return bounds


def _close(fig):
    plt.close(fig)


def two_task_table() -> pl.DataFrame:
    """One study, two tasks: a 9-class task and a binary one, per-window results only (no unit metric)."""
    frames = []
    for task, classes, base in (("function_annotation", 9, 0.40), ("noise_identification", 2, 0.90)):
        for name in ("ENBED", "kmer-LR"):
            for seed in (1, 2, 3):
                context = {"study": "enbed", "task": task, "experiment": f"{task}/{name}", "seed": seed}
                values = {"test@last/balanced_accuracy": base + seed / 100,
                          "test@last/chance_balanced_accuracy": 1 / classes}
                frames.append(metric_rows(context, values, ""))
    return pl.concat(frames)


def test_summary_chance_is_per_task_from_its_class_count():
    fig = metrics_summary_figure(two_task_table())
    try:
        chance = {}
        for ax in fig.axes:
            dashed = [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--"]
            chance[ax.get_title().split(":")[0]] = dashed
        assert chance == {"enbed, function_annotation": [pytest.approx(100 / 9)],
                          "enbed, noise_identification": [pytest.approx(50)]}
    finally:
        _close(fig)


def test_summary_has_no_empty_panels():
    fig = metrics_summary_figure(two_task_table())
    try:
        # No unit-level metric in the table: one per-window panel per task, and nothing else.
        assert len(fig.axes) == 2
        for ax in fig.axes:
            assert len(ax.patches) == 2 and ax.has_data()
            assert [t.get_text() for t in ax.get_xticklabels()] == ["ENBED", "kmer-LR"]  # the task is in the title
            assert "over 3 seeds" in ax.get_title() and "per unit" not in ax.get_title()
            assert ax.get_ylabel() == "test balanced accuracy (%)"
    finally:
        _close(fig)


def test_summary_error_bars_stay_within_0_and_100_percent():
    frames = [metric_rows({"study": "s", "task": "t", "experiment": "near-perfect", "seed": seed},
                          {"test@last/balanced_accuracy": value, "test@last/chance_balanced_accuracy": 0.5}, "")
              for seed, value in ((1, 1.0), (2, 1.0), (3, 0.7))]
    fig = metrics_summary_figure(pl.concat(frames))
    try:
        (ax,) = fig.axes
        bounds = _error_bar_bounds(ax)
        assert len(bounds) == 1
        low, high = bounds[0]
        assert high == pytest.approx(100) and low < 90  # mean 90 + SD 17.3 would reach 107
    finally:
        _close(fig)


def test_spread_of_a_distance_never_goes_below_zero():
    centre, low, high = spread_bars([0, 0, 0, 3], "levenshtein_median")
    assert low >= 0 and low <= centre <= high
    assert (centre, low, high) == (0.0, 0.0, 0.75)  # median and quartiles, not 0.75 ± 1.5
    centre, low, high = spread_bars([0.5, 0.9, 1.0], "mcc")
    assert centre == pytest.approx(0.8) and high == 1.0 and low == pytest.approx(0.8 - np.std([0.5, 0.9, 1.0], ddof=1))


def test_metric_names_are_readable_with_units():
    assert metric_display("balanced_accuracy").label == "balanced accuracy (%)"
    assert metric_display("levenshtein_median").label == "median Levenshtein distance (edits)"
    assert metric_display("exact_match_top3").label == "exact match, top 3 (%)"
    assert metric_display("mcc").label == "Matthews correlation (MCC)"
    assert metric_display("some_new_metric").label == "some new metric"


def enbed_generation_rows() -> pl.DataFrame:
    from genolm.studies.enbed import tables

    frames = []
    for seed, (top1, median) in enumerate(((0.9, 0.0), (1.0, 0.0), (0.6, 4.0)), start=1):
        for name in ("ENBED", "copy-parent"):
            context = {"study": "enbed", "task": "mutation_generation", "experiment": f"mutation_generation/{name}",
                       "model": name, "seed": seed}
            values = {"test@last/exact_match_top1": top1, "test@last/levenshtein_median": median}
            frames.append(metric_rows(context, values, ""))
    return tables.study_rows(pl.concat(frames))


def test_enbed_task_figure_titles_units_and_bounded_spread():
    from genolm.studies.enbed import tables

    rows = enbed_generation_rows()
    fig = tables.task_figure(rows, "mutation_generation",
                             ("exact_match_top1", "exact_match_top5", "levenshtein_median"))
    try:
        # exact_match_top5 has no rows: no panel for it.
        assert [ax.get_title() for ax in fig.axes] == ["exact match, top 1", "median Levenshtein distance"]
        assert [ax.get_ylabel() for ax in fig.axes] == ["exact match, top 1 (%)", "median Levenshtein distance (edits)"]
        top1, median = fig.axes
        assert all(0 <= low and high <= 100 for low, high in _error_bar_bounds(top1))
        assert all(low >= 0 for low, _ in _error_bar_bounds(median))
        assert len(_error_bar_bounds(median)) == 2
        assert [ax.get_xlabel() for ax in fig.axes] == ["bar: mean ± SD", "bar: median, 25th-75th percentile"]
    finally:
        _close(fig)


def test_virbert_fraction_axis_is_ticked_with_the_fractions():
    from genolm.studies.virbert import tables

    study = {"lengths": [150], "label_fractions": [0.01, 0.1, 1.0],
             "arms": {"pretrained": {"backbone": "virbert", "init": "pretrained"}}}
    rows = []
    for fraction in (0.01, 0.1, 1.0):
        for seed, value in ((1, 0.99), (2, 1.0), (3, 0.8)):
            for checkpoint in ("best", "last"):
                rows.append({"study": "virbert", "experiment": f"pretrained_L150_f{fraction:g}", "model": "pretrained",
                             "init": "x", "seed": seed, "split": "test", "checkpoint": checkpoint,
                             "metric": "recall_macro", "value": value, "train_labelled": 10})
    metrics = pl.DataFrame(rows)
    fig = tables.recall_figure(tables.arm_summary(metrics), metrics, study)
    try:
        (ax,) = fig.axes
        ax.figure.canvas.draw()
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1", "1"]
        assert list(ax.get_xticks()) == [0.01, 0.1, 1.0]
        assert not list(ax.xaxis.get_minorticklocs())
        assert ax.get_ylabel() == "test macro recall (%)"
        bounds = _error_bar_bounds(ax)
        assert len(bounds) == 3 and all(0 <= low and high <= 100 for low, high in bounds)
    finally:
        _close(fig)
