"""The results table: one tidy row per (study, experiment, seed, fold, split, checkpoint, metric).

Lab pipelines read `results/tables/metrics.parquet` (and its `.tsv` twin); its columns are a contract,
documented in docs/data_contracts.md. Each job writes its own rows; `genolm collect-metrics` concatenates them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import polars as pl

from genolm.atomic import atomic_file
from genolm.errors import GenolmInputError

METRICS_SCHEMA: dict[str, pl.DataType] = {
    "study": pl.Utf8,
    "task": pl.Utf8,
    "experiment": pl.Utf8,
    "model": pl.Utf8,
    # The spec's tokenizer registry name; "pretrained" where the spec loads it from a directory
    # ({pretrained: <dir>}); a baseline's input for models without one ("mutation-list", "<k>-mer spectrum").
    "tokenizer": pl.Utf8,
    "context_length": pl.Int64,
    # The spec's init mode (pretrained, random, frozen, gradual); "none" where there is no backbone to initialise
    # (the cancer-type mutation-spectrum oracle).
    "init": pl.Utf8,
    "label_fraction": pl.Float64,
    "train_labelled": pl.Int64,
    # The replicate's identity: the seed of its data split (selection, windows, splits), of its pretraining
    # (null where the backbone is a released checkpoint the workflow did not pretrain) and of the job itself.
    "split_seed": pl.Int64,
    "pretrain_seed": pl.Int64,
    "seed": pl.Int64,
    "fold": pl.Int64,  # the cross-validation fold of a K-fold protocol's run; null for every other run
    # train, val, test; reference (embedding metrics); "all" for an evaluation over every split of a dataset
    # together (the small-transformers TSS localization, reported beside its test split).
    "split": pl.Utf8,
    "checkpoint": pl.Utf8,
    "metric": pl.Utf8,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "note": pl.Utf8,  # why `value` is null (a metric undefined on the split); null where there is a value
    "mlflow_run_id": pl.Utf8,
}
KEY_COLUMNS = ["study", "experiment", "seed", "fold", "split", "checkpoint", "metric"]
# Columns a table written before they existed may lack; they read back as null.
NULLABLE_ADDITIONS = ("fold", "note", "split_seed", "pretrain_seed")


def metric_rows(context: dict, values: dict[str, float | tuple[float, float, float]], run_id: str) -> pl.DataFrame:
    """Rows for one job. `values` maps "split@checkpoint/metric" (or "split/metric": checkpoint "last") to a
    number or to (value, ci_low, ci_high); `context` fills the descriptive columns.

    `checkpoint` says which weights were scored: "best" (chosen on validation) or "last" (the final step).
    A NaN value (a metric undefined on the split, e.g. AUROC with one class) is written null, never as a number,
    with the reason in `note` (genolm.metrics.undefined_reason); a NaN interval bound is written null."""
    def number(x: float | None) -> float | None:
        return None if x is None or math.isnan(float(x)) else float(x)

    rows = []
    for name, value in sorted(values.items()):
        where, _, metric = name.partition("/")
        split, _, checkpoint = where.partition("@")
        low = high = None
        if isinstance(value, tuple):
            value, low, high = value
        value = number(value)
        rows.append({**context, "split": split, "checkpoint": checkpoint or "last", "metric": metric,
                     "value": value, "ci_low": number(low), "ci_high": number(high),
                     "note": None if value is not None else _undefined_reason(metric), "mlflow_run_id": run_id})
    frame = pl.DataFrame(rows, schema_overrides={k: v for k, v in METRICS_SCHEMA.items()})
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in METRICS_SCHEMA.items()])


def _undefined_reason(metric: str) -> str:
    # Imported only when a value is missing: genolm.metrics loads torch, which most writers of this table need not.
    from genolm.metrics import undefined_reason

    return undefined_reason(metric)


def write_table(frame: pl.DataFrame, parquet: str | Path, tsv: str | Path | None = None) -> None:
    with atomic_file(parquet) as tmp:
        frame.write_parquet(tmp, compression="zstd")
    if tsv is not None:
        with atomic_file(tsv) as tmp:
            frame.write_csv(tmp, separator="\t")


def read_metrics(path: str | Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(path, f"cannot read as a parquet metrics table ({str(error).splitlines()[0]})") from None
    frame = frame.with_columns(pl.lit(None, METRICS_SCHEMA[c]).alias(c) for c in NULLABLE_ADDITIONS if c not in frame.columns)
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
            "metrics inputs", f"two jobs report the same ({', '.join(KEY_COLUMNS)}): {duplicated.row(0, named=True)}"
        )
    return table.sort(KEY_COLUMNS)
