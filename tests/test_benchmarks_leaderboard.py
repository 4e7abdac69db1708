"""The benchmarks leaderboard (genolm.studies.benchmarks.leaderboard): the learning rate is chosen on validation,
never on test; mean, sd and the 95 % t interval over replicates match numpy and scipy; ranks tie where intervals
overlap; undefined replicates are counted, not dropped; published numbers appear for the configured tasks only,
each with its protocol and source; the command writes the TSV, the Markdown and the heat map."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from conftest import run_genolm
from genolm.errors import GenolmInputError
from genolm.results import METRICS_SCHEMA
from genolm.studies.benchmarks.leaderboard import (
    THIS_WORKFLOW, leaderboard, markdown, overlap_ranks, published_numbers, t_interval)

PROTOCOL = {"metric": "accuracy", "protocol": "test protocol"}


def metric_rows(task, model, setting, replicate_values: dict[str, dict[int, float | None]], *, fold=False,
                fitted=False):
    """Rows as a benchmarks_train job writes them: split -> {replicate: value} at checkpoint best (and a
    misleading `last` row that must never be read); a `fitted` baseline has only `last` rows."""
    rows = []
    for split, values in replicate_values.items():
        for replicate, value in values.items():
            for checkpoint, v in ((("last", value),) if fitted else (("best", value), ("last", 0.0))):
                rows.append({"study": "benchmarks", "task": task, "experiment": f"{task}/{model}/{setting}",
                             "model": model, "seed": 1 if fold else replicate, "fold": replicate if fold else None,
                             "split": split, "checkpoint": checkpoint, "metric": "accuracy", "value": v})
    frame = pl.DataFrame(rows, schema_overrides={k: METRICS_SCHEMA[k] for k in ("seed", "fold", "value")})
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                         for c, t in METRICS_SCHEMA.items()])


def test_t_interval_matches_numpy_and_scipy():
    values = [0.71, 0.78, 0.74, 0.69]
    mean, sd, low, high = t_interval(values)
    assert mean == pytest.approx(np.mean(values))
    assert sd == pytest.approx(np.std(values, ddof=1))
    expected = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (low, high) == pytest.approx(expected)
    assert t_interval([0.5]) == (0.5, None, None, None)


def test_ranks_tie_where_intervals_overlap():
    # A [0.8, 0.9] and B [0.85, 0.95] overlap: both first. D [0.55, 0.82] overlaps A and C but lies wholly below
    # B (0.82 < 0.85): second. C [0.5, 0.6] lies wholly below A and B: third.
    lows, highs = [0.8, 0.85, 0.5, 0.55], [0.9, 0.95, 0.6, 0.82]
    assert overlap_ranks(lows, highs) == [1, 1, 3, 2]


def test_learning_rate_is_chosen_on_validation_and_reported_on_test():
    # lr0.001 is better on validation, lr0.01 on test: the leaderboard must keep lr0.001 and report its test values.
    metrics = pl.concat([
        metric_rows("t1", "bert", "lr0.001", {"val": {1: 0.9, 2: 0.8, 3: 0.85}, "test": {1: 0.70, 2: 0.72, 3: 0.74}}),
        metric_rows("t1", "bert", "lr0.01", {"val": {1: 0.6, 2: 0.6, 3: 0.6}, "test": {1: 0.99, 2: 0.99, 3: 0.99}}),
        metric_rows("t1", "kmer-LR", "fixed", {"val": {1: 0.5, 2: 0.5, 3: 0.5}, "test": {1: 0.5, 2: 0.52, 3: 0.51}},
                    fitted=True),
    ])
    board = leaderboard(metrics, {"t1": PROTOCOL})
    bert = board.filter(pl.col("model") == "bert").row(0, named=True)
    assert bert["setting"] == "lr0.001"
    assert bert["mean"] == pytest.approx(0.72) and bert["replicates"] == 3 and bert["undefined"] == 0
    assert bert["sd"] == pytest.approx(0.02)
    assert (bert["ci_low"], bert["ci_high"]) == pytest.approx(stats.t.interval(0.95, 2, loc=0.72, scale=0.02 / math.sqrt(3)))
    assert bert["rank"] == 1
    baseline = board.filter(pl.col("model") == "kmer-LR").row(0, named=True)
    assert baseline["rank"] == 2 and baseline["replicates"] == 3 and baseline["mean"] == pytest.approx(0.51)
    assert board["source"].to_list() == [THIS_WORKFLOW, THIS_WORKFLOW] and board["protocol"][0] == "test protocol"


def test_intervals_stay_within_the_metric_range():
    metrics = metric_rows("t1", "bert", "lr0.001", {"val": {1: 0.5, 2: 0.5, 3: 0.5}, "test": {1: 1.0, 2: 1.0, 3: 0.5}})
    row = leaderboard(metrics, {"t1": PROTOCOL}).row(0, named=True)
    unclipped = stats.t.interval(0.95, 2, loc=row["mean"], scale=stats.sem([1.0, 1.0, 0.5]))
    assert unclipped[1] > 1 and row["ci_high"] == 1.0 and row["ci_low"] == pytest.approx(unclipped[0])


def test_fold_replicates_and_undefined_values_are_counted():
    metrics = metric_rows("nt", "hyena", "lr0.001", {"val": {1: 0.5, 2: 0.6, 3: 0.7}, "test": {1: 0.4, 2: None, 3: 0.6}},
                          fold=True)
    row = leaderboard(metrics, {"nt": {"metric": "accuracy", "protocol": "3-fold"}}).row(0, named=True)
    assert row["replicates"] == 2 and row["undefined"] == 1
    assert row["mean"] == pytest.approx(0.5)


def test_rows_of_an_unconfigured_task_are_refused():
    metrics = metric_rows("other", "bert", "lr0.001", {"val": {1: 0.5}, "test": {1: 0.5}})
    with pytest.raises(GenolmInputError, match="other"):
        leaderboard(metrics, {"t1": PROTOCOL})


def test_published_numbers_cite_their_source_and_join_configured_tasks_only():
    published = published_numbers()
    assert published.height > 0 and published["source"].str.len_chars().min() > 0
    assert published["protocol"].str.len_chars().min() > 0
    assert published.filter(pl.col("task") == "human_nontata_promoters")["value"].sort().to_list() == [0.846, 0.966]
    metrics = metric_rows("human_nontata_promoters", "bert", "lr0.001", {"val": {1: 0.9, 2: 0.8}, "test": {1: 0.8, 2: 0.9}})
    board = leaderboard(metrics, {"human_nontata_promoters": PROTOCOL}, published)
    assert set(board["task"]) == {"human_nontata_promoters"}
    theirs = board.filter(pl.col("source") != THIS_WORKFLOW)
    assert theirs.height == 2 and theirs["rank"].null_count() == 2
    text = markdown(board)
    assert "Published:" in text and "Malusare et al. 2024" in text


def test_command_writes_tsv_markdown_and_heatmap(tmp_path):
    runs = []
    for model, base in (("HyenaDNA", 0.8), ("kmer-LR", 0.6)):
        setting = "fixed" if model == "kmer-LR" else "lr0.001"
        path = tmp_path / model / "metrics.parquet"
        path.parent.mkdir()
        metric_rows("demo", model, setting, {"val": {1: base, 2: base, 3: base},
                                             "test": {1: base, 2: base + 0.02, 3: base + 0.04}},
                    fitted=model == "kmer-LR").write_parquet(path)
        runs.append(str(path))
    out = tmp_path / "out"
    run_genolm("benchmarks-leaderboard", *runs, "--tasks", '{"demo": {"metric": "accuracy", "protocol": "p"}}',
               "--out-tsv", str(out / "leaderboard.tsv"), "--out-md", str(out / "leaderboard.md"),
               "--plot", str(out / "leaderboard.png"))
    table = pl.read_csv(out / "leaderboard.tsv", separator="\t")
    for column in ("task", "model", "metric", "mean", "sd", "ci_low", "ci_high", "replicates", "rank"):
        assert column in table.columns
    assert table.sort("rank")["model"].to_list() == ["HyenaDNA", "kmer-LR"]
    assert "## demo" in (out / "leaderboard.md").read_text()
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
