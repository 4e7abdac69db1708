"""The results table's contract (genolm.results): the nullable fold column, the key, legacy tables."""

from __future__ import annotations

import polars as pl
import pytest

from genolm.errors import GenolmInputError
from genolm.results import KEY_COLUMNS, METRICS_SCHEMA, collect_metrics, metric_rows, read_metrics, write_table


def _job(tmp_path, name: str, **context) -> str:
    path = tmp_path / f"{name}.parquet"
    write_table(metric_rows({"study": "s", "experiment": "task/model", "seed": 1, **context},
                            {"test@best/accuracy": 0.5}, "run"), path)
    return str(path)


def test_fold_runs_of_one_experiment_and_seed_are_distinct_rows(tmp_path):
    paths = [_job(tmp_path, f"fold{k}", fold=k) for k in (1, 2, 3)] + [_job(tmp_path, "seed", fold=None)]
    table = collect_metrics(paths)
    assert "fold" in KEY_COLUMNS and METRICS_SCHEMA["fold"] == pl.Int64
    assert table["fold"].to_list() == [None, 1, 2, 3]  # nulls first in the key's sort order
    with pytest.raises(GenolmInputError, match="report the same"):
        collect_metrics(paths + [_job(tmp_path, "again", fold=2)])
    with pytest.raises(GenolmInputError, match="report the same"):  # two non-fold runs: null equals null
        collect_metrics(paths + [_job(tmp_path, "seed_again")])


def test_a_table_written_before_the_fold_column_reads_with_null_folds(tmp_path):
    legacy = metric_rows({"study": "s", "experiment": "e", "seed": 3}, {"test/loss": 1.0}, "").drop("fold")
    legacy.write_parquet(tmp_path / "old.parquet")
    table = read_metrics(tmp_path / "old.parquet")
    assert list(table.columns) == list(METRICS_SCHEMA) and table["fold"].to_list() == [None]
    legacy.drop("seed").write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(GenolmInputError, match="missing column"):  # other columns stay required
        read_metrics(tmp_path / "bad.parquet")
