"""The results table: one tidy row per (study, experiment, split, metric).

Lab pipelines read `results/tables/metrics.parquet` (and its `.tsv` twin); its columns are a contract,
documented in docs/data_contracts.md. Each job writes its own rows; `genolm collect-metrics` concatenates them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import polars as pl

from genolm.errors import GenolmInputError

METRICS_SCHEMA: dict[str, pl.DataType] = {
    "study": pl.Utf8,
    "task": pl.Utf8,
    "experiment": pl.Utf8,
    "model": pl.Utf8,
    "tokenizer": pl.Utf8,
    "context_length": pl.Int64,
    "init": pl.Utf8,
    "label_fraction": pl.Float64,
    "seed": pl.Int64,
    "split": pl.Utf8,
    "metric": pl.Utf8,
    "value": pl.Float64,
    "mlflow_run_id": pl.Utf8,
}
KEY_COLUMNS = ["study", "experiment", "split", "metric"]


def metric_rows(context: dict, values: dict[str, float], run_id: str) -> pl.DataFrame:
    """Rows for one job: `values` maps "split/metric" to a number; `context` fills the descriptive columns."""
    rows = []
    for name, value in sorted(values.items()):
        split, _, metric = name.partition("/")
        rows.append({**context, "split": split, "metric": metric, "value": float(value), "mlflow_run_id": run_id})
    frame = pl.DataFrame(rows, schema_overrides={k: v for k, v in METRICS_SCHEMA.items()})
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in METRICS_SCHEMA.items()])


def write_table(frame: pl.DataFrame, parquet: str | Path, tsv: str | Path | None = None) -> None:
    parquet = Path(parquet)
    parquet.parent.mkdir(parents=True, exist_ok=True)
    tmp = parquet.with_name(parquet.name + ".tmp")
    frame.write_parquet(tmp, compression="zstd")
    tmp.replace(parquet)
    if tsv is not None:
        tsv = Path(tsv)
        tmp = tsv.with_name(tsv.name + ".tmp")
        frame.write_csv(tmp, separator="\t")
        tmp.replace(tsv)


def read_metrics(path: str | Path) -> pl.DataFrame:
    frame = pl.read_parquet(path)
    missing = [c for c in METRICS_SCHEMA if c not in frame.columns]
    if missing:
        raise GenolmInputError(path, f"not a genolm metrics table: missing column(s) {', '.join(missing)}")
    return frame.select(list(METRICS_SCHEMA)).cast(METRICS_SCHEMA)


def collect_metrics(paths: Iterable[str | Path]) -> pl.DataFrame:
    frames = [read_metrics(p) for p in paths]
    if not frames:
        return pl.DataFrame(schema=METRICS_SCHEMA)
    table = pl.concat(frames)
    duplicated = table.filter(table.select(KEY_COLUMNS).is_duplicated())
    if len(duplicated):
        raise GenolmInputError(
            "metrics inputs", f"two jobs report the same (study, experiment, split, metric): {duplicated.row(0, named=True)}"
        )
    return table.sort(KEY_COLUMNS)
