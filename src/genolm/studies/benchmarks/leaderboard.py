"""The leaderboard: one row per (task, model) from the study's runs, beside published numbers.

For each task and model, the setting (a backbone's learning rate) with the best mean validation metric over the
replicates is kept (validation only: the test split never chooses); its test values at the checkpoint chosen on
validation ("best"; a baseline fitted without steps has only its final state, "last") give the row:

    mean, sd           over replicates (seeds, or folds under a K-fold protocol); sd with ddof 1
    ci_low, ci_high    the 95 % t interval of the mean over replicates (mean +- t(0.975, n-1) sd / sqrt(n)), cut
                       to the metric's range (genolm.analysis.plots.METRIC_DISPLAY: accuracy stays within 0..1,
                       MCC within -1..1; three replicates give wide intervals); null with fewer than two replicates
    rank               1 + the number of the task's models whose interval lies wholly above this one's: models
                       whose intervals overlap share a rank (a model without an interval counts as its mean)

A replicate whose metric is undefined (null in metrics.parquet) is not averaged; `undefined` counts it, so
`replicates + undefined` is every run of the cell. Published rows (published.yaml in this package, one citation
each) carry their own protocol and no interval or rank: they are not comparable cell by cell.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError

COLUMNS = ["task", "model", "source", "protocol", "metric", "mean", "sd", "ci_low", "ci_high", "replicates",
           "undefined", "rank", "setting"]
THIS_WORKFLOW = "this workflow"
PUBLISHED_COLUMNS = ["task", "model", "metric", "value", "protocol", "source"]


def published_numbers() -> pl.DataFrame:
    """The published numbers shipped with the package (published.yaml: rows of task, model, metric, value,
    protocol, source), each row citing the table it was read from."""
    from genolm.yaml_files import load_yaml

    resource = resources.files("genolm.studies.benchmarks").joinpath("published.yaml")
    rows = load_yaml(resource.read_text(), "genolm/studies/benchmarks/published.yaml")["rows"]
    for row in rows:
        if sorted(row) != sorted(PUBLISHED_COLUMNS):
            raise ValueError(f"published.yaml: row {row} does not have exactly {PUBLISHED_COLUMNS}")
    return pl.DataFrame(rows, schema={c: (pl.Float64 if c == "value" else pl.Utf8) for c in PUBLISHED_COLUMNS})


def t_interval(values: list[float]) -> tuple[float, float | None, float | None, float | None]:
    """mean, sd, ci_low, ci_high of replicate values (sd and interval None below two replicates)."""
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take, from the one table of metric ranges (genolm.analysis.plots.METRIC_DISPLAY)."""
    from genolm.analysis.plots import METRIC_DISPLAY

    display = METRIC_DISPLAY.get(metric)
    if display is None:
        return -math.inf, math.inf
    low = -math.inf if display.low is None else display.low / display.scale
    high = math.inf if display.high is None else display.high / display.scale
    return low, high


def overlap_ranks(lows: list[float], highs: list[float]) -> list[int]:
    """1 + the number of entries whose low bound is above this entry's high bound."""
    return [1 + sum(other_low > high for other_low in lows) for high in highs]


def _replicate(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.coalesce(pl.col("fold"), pl.col("seed")).alias("replicate"))


def _selected_checkpoint(frame: pl.DataFrame) -> pl.DataFrame:
    """Each run's rows at the checkpoint chosen on validation ("best") where the run has one, else its "last"."""
    has_best = (pl.col("checkpoint") == "best").any().over("experiment", "replicate")
    return frame.filter(pl.col("checkpoint") == pl.when(has_best).then(pl.lit("best")).otherwise(pl.lit("last")))


def chosen_settings(runs: pl.DataFrame, metric_of: dict[str, str]) -> dict[tuple[str, str], str]:
    """(task, model) -> the setting whose mean validation metric (checkpoint "best") is highest; ties go to the
    setting named first in sort order, so the choice does not depend on file order."""
    chosen = {}
    val = runs.filter(pl.col("split") == "val")
    for (task, model), rows in val.group_by(["task", "model"], maintain_order=True):
        means = (rows.filter(pl.col("metric") == metric_of[task]).group_by("setting")
                 .agg(pl.col("value").mean().alias("mean")).sort("setting"))
        means = means.filter(pl.col("mean").is_not_null())
        if means.is_empty():
            raise GenolmInputError(f"{task}/{model}", f"no validation {metric_of[task]} in any run: no learning rate can be chosen")
        best = means["mean"].max()
        chosen[(task, model)] = means.filter(pl.col("mean") == best)["setting"][0]
    return chosen


def leaderboard(metrics: pl.DataFrame, tasks: dict[str, dict], published: pl.DataFrame | None = None) -> pl.DataFrame:
    """The leaderboard from the study's metric rows (genolm.results' schema, experiment <task>/<model>/<setting>).
    `tasks` maps each task to {metric, protocol}; published rows are kept for those tasks only."""
    metric_of = {task: block["metric"] for task, block in tasks.items()}
    missing = sorted(set(metrics["task"].unique().to_list()) - set(metric_of))
    if missing:
        raise GenolmInputError("metrics", f"rows of tasks the leaderboard was not given: {', '.join(missing)}")
    runs = _selected_checkpoint(_replicate(metrics)).with_columns(
        pl.col("experiment").str.split("/").list.get(-1).alias("setting"))
    chosen = chosen_settings(runs, metric_of)
    rows = []
    for (task, model), setting in chosen.items():
        test = runs.filter((pl.col("task") == task) & (pl.col("model") == model) & (pl.col("setting") == setting)
                           & (pl.col("split") == "test") & (pl.col("metric") == metric_of[task])).sort("replicate")
        if test["replicate"].n_unique() != test.height:
            raise GenolmInputError(f"{task}/{model}/{setting}", "a replicate has more than one test row")
        values = test["value"].drop_nulls().to_list()
        stats = t_interval(values) if values else (None, None, None, None)
        if stats[2] is not None:
            low, high = metric_range(metric_of[task])
            stats = (stats[0], stats[1], max(stats[2], low), min(stats[3], high))
        rows.append({"task": task, "model": model, "source": THIS_WORKFLOW, "protocol": tasks[task]["protocol"],
                     "metric": metric_of[task], "mean": stats[0], "sd": stats[1], "ci_low": stats[2],
                     "ci_high": stats[3], "replicates": len(values), "undefined": test.height - len(values),
                     "setting": setting})
    board = pl.DataFrame(rows, schema={"task": pl.Utf8, "model": pl.Utf8, "source": pl.Utf8, "protocol": pl.Utf8,
                                       "metric": pl.Utf8, "mean": pl.Float64, "sd": pl.Float64, "ci_low": pl.Float64,
                                       "ci_high": pl.Float64, "replicates": pl.Int64, "undefined": pl.Int64,
                                       "setting": pl.Utf8})
    ranked = []
    for task in tasks:
        cells = board.filter(pl.col("task") == task)
        if cells.is_empty():
            continue
        lows = cells.select(pl.coalesce("ci_low", "mean")).to_series().to_list()
        highs = cells.select(pl.coalesce("ci_high", "mean")).to_series().to_list()
        lows = [-math.inf if v is None else v for v in lows]  # a cell with no value outranks nothing
        highs = [-math.inf if v is None else v for v in highs]
        ranked.append(cells.with_columns(pl.Series("rank", overlap_ranks(lows, highs), dtype=pl.Int64))
                      .sort(["rank", "mean"], descending=[False, True], nulls_last=True))
    parts = [pl.concat(ranked)] if ranked else []
    if published is not None:
        shown = published.filter(pl.col("task").is_in(list(tasks)))
        parts.append(shown.select(
            "task", "model", "source", "protocol", "metric", pl.col("value").alias("mean"),
            *(pl.lit(None, pl.Float64).alias(c) for c in ("sd", "ci_low", "ci_high")),
            *(pl.lit(None, pl.Int64).alias(c) for c in ("replicates", "undefined", "rank")),
            pl.lit(None, pl.Utf8).alias("setting")))
    if not parts:
        return pl.DataFrame(schema={c: board.schema.get(c, pl.Int64) for c in COLUMNS})
    return pl.concat([p.select(COLUMNS) for p in parts], how="vertical_relaxed")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def markdown(board: pl.DataFrame) -> str:
    """One section per task: this workflow's ranked rows, then the published ones with their protocol."""
    lines = ["# Benchmarks leaderboard", "",
             "Mean over replicates of the test metric at the checkpoint and learning rate chosen on validation; "
             "95 % t interval over replicates; models whose intervals overlap share a rank "
             "(genolm.studies.benchmarks.leaderboard). Published numbers come from other protocols (named in each row).", ""]
    for task in board["task"].unique(maintain_order=True).to_list():
        rows = board.filter(pl.col("task") == task)
        ours = rows.filter(pl.col("source") == THIS_WORKFLOW)
        lines += [f"## {task}", ""]
        if not ours.is_empty():
            lines += [f"Protocol: {ours['protocol'][0]}", "",
                      "| rank | model | metric | mean | sd | 95 % CI | replicates | undefined | setting |",
                      "| ---: | --- | --- | ---: | ---: | --- | ---: | ---: | --- |"]
            for r in ours.iter_rows(named=True):
                interval = f"[{_number(r['ci_low'])}, {_number(r['ci_high'])}]" if r["ci_low"] is not None else ""
                lines.append(f"| {r['rank']} | {r['model']} | {r['metric']} | {_number(r['mean'])} | {_number(r['sd'])} "
                             f"| {interval} | {r['replicates']} | {r['undefined']} | {r['setting']} |")
            lines.append("")
        theirs = rows.filter(pl.col("source") != THIS_WORKFLOW)
        if not theirs.is_empty():
            lines += ["Published:", "", "| model | metric | value | protocol | source |", "| --- | --- | ---: | --- | --- |"]
            lines += [f"| {r['model']} | {r['metric']} | {_number(r['mean'])} | {r['protocol']} | {r['source']} |"
                      for r in theirs.iter_rows(named=True)]
            lines.append("")
    return "\n".join(lines)


def heatmap(board: pl.DataFrame, path: Path) -> None:
    """Tasks x models, colour the mean test metric, each cell written as mean, interval and rank."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genolm.atomic import atomic_file

    ours = board.filter(pl.col("source") == THIS_WORKFLOW)
    tasks = ours["task"].unique(maintain_order=True).to_list()
    models = ours["model"].unique(maintain_order=True).to_list()
    values = [[math.nan] * len(models) for _ in tasks]
    labels = [[""] * len(models) for _ in tasks]
    for r in ours.iter_rows(named=True):
        i, j = tasks.index(r["task"]), models.index(r["model"])
        if r["mean"] is not None:
            values[i][j] = r["mean"]
            interval = "" if r["ci_high"] is None else f"\n[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            labels[i][j] = f"{r['mean']:.2f}{interval}\nrank {r['rank']}"
    metrics = dict(zip(ours["task"].to_list(), ours["metric"].to_list()))
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * max(1, len(models)), 1.0 + 0.9 * max(1, len(tasks))))
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_yticks(range(len(tasks)), [f"{t} ({metrics[t]})" for t in tasks])
    for i in range(len(tasks)):
        for j in range(len(models)):
            # white on the dark half of the colour map (viridis runs dark to light), black on the light half
            dark = not math.isnan(values[i][j]) and image.norm(values[i][j]) < 0.5
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8, color="white" if dark else "black")
    fig.colorbar(image, ax=ax, label="mean test metric over replicates")
    ax.set_title("Benchmarks: test metric (learning rate chosen on validation)")
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight")
    plt.close(fig)


def write_leaderboard(metric_files: list[Path], tasks: dict[str, dict], out_tsv: Path, out_md: Path, plot: Path) -> pl.DataFrame:
    from genolm.atomic import atomic_file
    from genolm.results import collect_metrics

    board = leaderboard(collect_metrics(metric_files), tasks, published_numbers())
    with atomic_file(out_tsv) as tmp:
        board.write_csv(tmp, separator="\t")
    with atomic_file(out_md) as tmp:
        Path(tmp).write_text(markdown(board) + "\n")
    heatmap(board, plot)
    return board
