"""The study's results pivoted into one table, the thesis' statements beside the demo's numbers.

One row per experiment: test balanced accuracy per window and per cell line (mean ± sd over seeds, at the
checkpoint chosen on validation), the mean bootstrap interval over test cell lines, and test at the final step.
The thesis' Table 4.1 numbers did not survive in its text; what it states (chapter 4) is in the `thesis` column.
Below it, the thesis' directions of effect as paired differences: two experiments of the same seed share the
selection, windows and fine-tuning data, so their difference per seed is the comparison, and the share of
seeds in which it points the thesis' way says how stable it is.
"""

from __future__ import annotations

import polars as pl

from genolm.analysis.plots import reported_rows

THESIS = {
    "1K": "learns the task (Table 4.1)",
    "32K-main": "about 72 % better than 1K",
    "32K-random": "never leaves the random-choice baseline",
    "32K-frozen": "degrades (backbone gives positional information only)",
}


# (claim, experiment, baseline experiment or None for chance, thesis) in the thesis' order; a comparison whose
# experiments are not configured is left out.
DIRECTIONS = (
    ("pretrained fine-tuning above chance", "1K-main", None, "learns the task"),
    ("pretrained fine-tuning above chance", "32K-main", None, "learns the task"),
    ("longer context above shorter", "32K-main", "1K-main", "32K about 72 % better than 1K"),
    ("frozen backbone below fine-tuned", "32K-main", "32K-frozen", "frozen degrades"),
    ("pretrained above random init", "32K-main", "32K-random", "random never leaves chance"),
)
CHANCE = 0.5


def thesis_statement(experiment: str) -> str:
    for key, text in THESIS.items():
        if experiment.startswith(key) or experiment == key:
            return text
    return "not in the thesis (baseline added here)"


def _mean_sd(frame: pl.DataFrame, metric: str, name: str) -> pl.DataFrame:
    rows = frame.filter(pl.col("metric") == metric)
    return rows.group_by("experiment").agg(
        pl.col("value").mean().alias(f"{name}_mean"),
        pl.col("value").std(ddof=1).fill_null(0.0).alias(f"{name}_sd"),
        pl.col("ci_low").mean().alias(f"{name}_ci_low"),
        pl.col("ci_high").mean().alias(f"{name}_ci_high"),
        pl.len().alias(f"{name}_seeds"),
    )


def summary_table(metrics: pl.DataFrame) -> pl.DataFrame:
    study = metrics.filter(pl.col("study") == "cancer_type")
    reported = reported_rows(study)
    table = study.select("experiment", "model", "context_length", "init").unique("experiment")
    for metric, name in (("balanced_accuracy", "window"), ("unit_balanced_accuracy", "cell_line")):
        table = table.join(_mean_sd(reported, metric, name), on="experiment", how="left")
    final = study.filter((pl.col("split") == "test") & (pl.col("checkpoint") == "last"))
    table = table.join(_mean_sd(final, "balanced_accuracy", "window_last").select(
        "experiment", "window_last_mean"), on="experiment", how="left")
    # The zero-shot arms classify cell lines, not windows: they have a per-cell-line value only.
    table = table.filter(pl.col("window_mean").is_not_null() | pl.col("cell_line_mean").is_not_null())
    return table.with_columns(
        pl.col("experiment").map_elements(thesis_statement, return_dtype=pl.Utf8).alias("thesis")
    ).sort("experiment")


def directions_table(metrics: pl.DataFrame) -> pl.DataFrame:
    """The thesis' directions as paired per-seed differences of test balanced accuracy (per window and per cell
    line, at the checkpoint chosen on validation): mean, sd and in how many seeds the difference is positive."""
    reported = reported_rows(metrics.filter(pl.col("study") == "cancer_type"))
    rows = []
    for claim, experiment, baseline, thesis in DIRECTIONS:
        for metric, unit in (("balanced_accuracy", "window"), ("unit_balanced_accuracy", "cell line")):
            def by_seed(name: str) -> dict[int, float]:
                part = reported.filter((pl.col("experiment") == name) & (pl.col("metric") == metric))
                return dict(zip(part["seed"].to_list(), part["value"].to_list()))

            left = by_seed(experiment)
            right = {seed: CHANCE for seed in left} if baseline is None else by_seed(baseline)
            seeds = sorted(set(left) & set(right))
            if not seeds:
                continue
            differences = pl.Series([left[s] - right[s] for s in seeds], dtype=pl.Float64)
            rows.append({"claim": claim, "comparison": f"{experiment} − {baseline or 'chance'}", "unit": unit,
                         "seeds": len(seeds), "difference_mean": differences.mean(),
                         "difference_sd": differences.std(ddof=1) if len(seeds) > 1 else 0.0,
                         "seeds_positive": int((differences > 0).sum()), "thesis": thesis})
    return pl.DataFrame(rows, schema={"claim": pl.Utf8, "comparison": pl.Utf8, "unit": pl.Utf8, "seeds": pl.Int64,
                                      "difference_mean": pl.Float64, "difference_sd": pl.Float64,
                                      "seeds_positive": pl.Int64, "thesis": pl.Utf8})


def directions_markdown(directions: pl.DataFrame) -> str:
    lines = ["| direction | comparison | unit | difference (mean ± sd) | seeds in the thesis' direction | thesis |",
             "| --- | --- | --- | ---: | ---: | --- |"]
    for row in directions.iter_rows(named=True):
        lines.append(f"| {row['claim']} | {row['comparison']} | {row['unit']} | "
                     f"{row['difference_mean']:+.3f} ± {row['difference_sd']:.3f} | "
                     f"{row['seeds_positive']} of {row['seeds']} | {row['thesis']} |")
    return "\n".join(lines) + ("\n\nPaired differences of test balanced accuracy per seed (same seed: same windows "
                               "and data order), at the checkpoint chosen on validation.\n")


def to_markdown(table: pl.DataFrame) -> str:
    def cell(row: dict, name: str) -> str:
        if row[f"{name}_mean"] is None:
            return "-"
        ci = "" if row[f"{name}_ci_low"] is None else f" [{row[f'{name}_ci_low']:.2f}, {row[f'{name}_ci_high']:.2f}]"
        return f"{row[f'{name}_mean']:.3f} ± {row[f'{name}_sd']:.3f}{ci}"

    lines = ["| experiment | model | context | init | seeds | per window | per cell line | per window, final step | thesis |",
             "| --- | --- | ---: | --- | ---: | --- | --- | ---: | --- |"]
    for row in table.iter_rows(named=True):
        last = "-" if row["window_last_mean"] is None else f"{row['window_last_mean']:.3f}"
        lines.append(f"| {row['experiment']} | {row['model']} | {row['context_length']} | {row['init']} | "
                     f"{row['window_seeds'] or row['cell_line_seeds']} | {cell(row, 'window')} | {cell(row, 'cell_line')} | {last} | {row['thesis']} |")
    return "\n".join(lines) + ("\n\nTest balanced accuracy, mean ± sd over seeds at the checkpoint chosen on validation "
                               "(baselines: their only fit); [a, b]: the mean over seeds of the 95 % bootstrap "
                               "interval over test cell lines. Chance is 0.5.\n")
