"""Figures are checked for what they show (panels, bars, points, reference lines), not for their file size."""

from __future__ import annotations

import polars as pl
from matplotlib.collections import PathCollection

from genolm.analysis.plots import metrics_summary_figure, reported_rows
from genolm.results import metric_rows


def results_table() -> pl.DataFrame:
    frames = []
    for experiment, base in (("32K-main", 0.8), ("32K-random", 0.5), ("kmer-LR", 0.7)):
        for seed in (1, 2, 3):
            checkpoint = "last" if experiment == "kmer-LR" else "best"
            values = {f"test@{checkpoint}/balanced_accuracy": base + seed / 100,
                      f"test@{checkpoint}/unit_balanced_accuracy": (base + seed / 50, base - 0.1, 1.0),
                      f"test@{checkpoint}/chance_balanced_accuracy": 0.5}
            if checkpoint == "best":  # the final step is reported too, and must not be what the figure shows
                values["test@last/balanced_accuracy"] = 0.1
            frames.append(metric_rows({"study": "cancer_type", "experiment": experiment, "seed": seed}, values, "r"))
    return pl.concat(frames)


def test_reported_rows_take_the_selected_checkpoint_where_there_was_a_choice():
    rows = reported_rows(results_table()).filter(pl.col("metric") == "balanced_accuracy")
    assert len(rows) == 9 and rows["value"].min() > 0.5
    assert set(zip(rows["experiment"], rows["checkpoint"])) == {("32K-main", "best"), ("32K-random", "best"),
                                                                ("kmer-LR", "last")}


def test_summary_shows_each_experiment_with_every_seed_and_chance():
    fig = metrics_summary_figure(results_table())
    axes = fig.axes
    assert len(axes) == 2  # one study: per-window and per-unit panels
    for ax in axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["32K-main", "32K-random", "kmer-LR"]
        bars = [p.get_height() for p in ax.patches]
        assert len(bars) == 3
        points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
        assert points == 9  # three seeds per experiment, each shown
        assert any(line.get_linestyle() == "--" and line.get_ydata()[0] == 50 for line in ax.lines)  # chance, in %
        assert "over 3 seeds" in ax.get_title()
    per_window = dict(zip(["32K-main", "32K-random", "kmer-LR"], (p.get_height() for p in axes[0].patches)))
    assert abs(per_window["32K-main"] - 82) < 1e-9  # the mean over seeds (%), at the selected checkpoint


def test_cancer_type_summary_pivots_seeds_beside_the_thesis():
    from genolm.studies.cancer_type.summary import summary_table, to_markdown

    table = results_table().with_columns(study=pl.lit("cancer_type"), model=pl.lit("m"), context_length=pl.lit(512),
                                         init=pl.lit("pretrained"))
    summary = {r["experiment"]: r for r in summary_table(table).iter_rows(named=True)}
    assert abs(summary["32K-main"]["window_mean"] - 0.82) < 1e-9 and summary["32K-main"]["window_seeds"] == 3
    assert abs(summary["32K-main"]["window_sd"] - 0.01) < 1e-9
    assert abs(summary["32K-main"]["window_last_mean"] - 0.1) < 1e-9  # the final step, reported beside the selected one
    assert summary["32K-random"]["thesis"].startswith("never leaves")
    assert "| kmer-LR |" in to_markdown(summary_table(table))


def test_cancer_type_directions_are_paired_differences_per_seed():
    from genolm.studies.cancer_type.summary import directions_markdown, directions_table

    directions = directions_table(results_table())
    random_init = directions.filter(pl.col("comparison") == "32K-main − 32K-random")
    window = random_init.filter(pl.col("unit") == "window").row(0, named=True)
    # 32K-main is 0.8 + seed/100 and 32K-random 0.5 + seed/100: the same +0.30 in every seed, sd 0.
    assert window["seeds"] == 3 and window["seeds_positive"] == 3
    assert abs(window["difference_mean"] - 0.3) < 1e-9 and abs(window["difference_sd"]) < 1e-9
    chance = directions.filter((pl.col("comparison") == "32K-main − chance") & (pl.col("unit") == "window"))
    assert abs(chance["difference_mean"][0] - 0.32) < 1e-9
    # 1K-main and 32K-frozen are not in the table: their comparisons are left out, not reported as zero.
    assert not directions["comparison"].str.contains("1K-main|32K-frozen").any()
    assert "3 of 3" in directions_markdown(directions)
