"""The study's rows pivoted into the paper's table layouts, beside the paper's numbers, and one figure per task
with the spread over seeds (or NT folds).

Rows come from the results table (genolm.results): experiment `<task>/<name>` (the NT protocol's runs carry their
fold in the `fold` column), split `test`, at the checkpoint chosen on validation (`best`) where the job has one, else
`last` (baselines). Each cell is mean ± SD over the seeds (or folds) and n.

    Table 5   mutation generation: exact match top-1 / top-5 (%), mean / median Levenshtein distance
    Table 6   the architecture ablation's top-1 (%)
    Table 3   noise identification: F1 (macro, %)
    Table 4   biological function annotation: F1 (macro, %)
    Tables 1/10, 12 (NT: MCC, accuracy) and 2/11 (GB: accuracy) for the benchmark tasks

The paper's numbers are copied from its tables (Malusare et al. 2024, Bioinformatics Advances 4:vbae117); a demo
task is not the paper's task, so they stand beside the demo's as the paper's reference, not as the same
measurement.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from genolm.atomic import atomic_file

# The paper's numbers: Table 5 (mutation generation) and Table 6 (architectures' top-1).
PAPER_GENERATION = {
    "ENBED": {"exact_match_top1": 76.9, "exact_match_top5": 95.4, "levenshtein_mean": 2.3, "levenshtein_median": 1},
    "ENBED (decoder-only)": {"exact_match_top1": 53.1, "exact_match_top5": 72.1, "levenshtein_mean": 6.1,
                             "levenshtein_median": 4},
    "Transformer (BPE tokenization)": {"exact_match_top1": 32.0, "exact_match_top5": 56.1, "levenshtein_mean": 30.6,
                                       "levenshtein_median": 24},
    "Base model 1:1 Enc/Dec": {"exact_match_top1": 62.0},
    "copy-the-parent": {},  # not in the paper
}
PAPER_NOISE_F1 = {"DNABERT": 84.9, "Nucleotide Transformer": 91.8, "ENBED": 97.6}  # Table 3
PAPER_FUNCTION_F1 = {"DNABERT": 63.2, "Nucleotide Transformer": 67.5, "HyenaDNA": 72.8, "ENBED": 74.1}  # Table 4
# Table 1 (MCC) and Table 12 (accuracy, %) of the NT promoter tasks; Table 11 (accuracy, %) of two GB tasks.
PAPER_BENCHMARKS = {
    "NT promoter (all)": {"mcc": 0.961, "accuracy": 98.0, "accuracy_no_pretraining": 94.3},
    "NT promoter (non-TATA)": {"mcc": 0.959, "accuracy": 98.0, "accuracy_no_pretraining": 94.4},
    "NT promoter (TATA)": {"mcc": 0.944, "accuracy": 96.8, "accuracy_no_pretraining": 92.9},
    "GB human promoter (non-TATA)": {"accuracy": 97.2, "accuracy_no_pretraining": 83.4},
    "GB human vs worm": {"accuracy": 97.3, "accuracy_no_pretraining": 90.8},
}
GENERATION_METRICS = ("exact_match_top1", "exact_match_top5", "levenshtein_mean", "levenshtein_median")
PERCENT = {"exact_match_top1", "exact_match_top5", "accuracy", "f1_macro", "balanced_accuracy"}


def study_rows(metrics: pl.DataFrame) -> pl.DataFrame:
    """Test rows of the study's fine-tuning jobs at the selected checkpoint (best where there is one), with
    `name` parsed from the experiment column and `run` naming the run (`fold<k>` from the fold column for the NT
    protocol's runs, else `seed<n>`)."""
    rows = metrics.filter((pl.col("study") == "enbed") & (pl.col("split") == "test") & (pl.col("task") != "pretraining"))
    rows = rows.with_columns(name=rows["experiment"].str.split("/").list.get(1, null_on_oob=True),
                             run=pl.when(pl.col("fold").is_not_null()).then(pl.format("fold{}", pl.col("fold")))
                             .otherwise(pl.format("seed{}", pl.col("seed"))))
    best = (pl.col("checkpoint") == "best").any().over("experiment", "run")
    return rows.filter(pl.col("checkpoint") == pl.when(best).then(pl.lit("best")).otherwise(pl.lit("last")))


def reconstruction_rows(metrics: pl.DataFrame) -> pl.DataFrame:
    """Test rows of the reconstruction pretrainings (experiment `pretrain_reconstruction/<architecture>`), at the
    checkpoint chosen on validation: did each mutation-generation arm learn to copy before fine-tuning?"""
    rows = metrics.filter((pl.col("study") == "enbed") & (pl.col("split") == "test")
                          & pl.col("experiment").str.starts_with("pretrain_reconstruction/"))
    rows = rows.with_columns(task=pl.lit("reconstruction"), name=pl.col("experiment").str.split("/").list.get(1),
                             run=pl.format("seed{}", pl.col("seed")))
    best = (pl.col("checkpoint") == "best").any().over("experiment", "run")
    return rows.filter(pl.col("checkpoint") == pl.when(best).then(pl.lit("best")).otherwise(pl.lit("last")))


def summarize(rows: pl.DataFrame) -> pl.DataFrame:
    """Mean, SD and count per (task, name, metric), over seeds or folds."""
    return (rows.group_by("task", "name", "model", "tokenizer", "init", "metric")
            .agg(mean=pl.col("value").mean(), sd=pl.col("value").std(), n=pl.col("value").count())
            .sort("task", "name", "metric"))


def cell(summary: pl.DataFrame, task: str, name: str, metric: str) -> str:
    found = summary.filter((pl.col("task") == task) & (pl.col("name") == name) & (pl.col("metric") == metric))
    if not len(found):
        return "-"
    mean, sd, n = found.row(0, named=True)["mean"], found.row(0, named=True)["sd"], found.row(0, named=True)["n"]
    scale = 100 if metric in PERCENT or metric.startswith("exact_match") else 1
    digits = 3 if metric in ("mcc", "token_accuracy") else 1  # MCC as the paper's Table 1 prints it
    sd_text = "" if sd is None or n < 2 else f" ± {scale * sd:.{digits}f}"
    return f"{scale * mean:.{digits}f}{sd_text} (n={n})"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def paper_tables(summary: pl.DataFrame) -> str:
    """The markdown document: each of the study's tasks in its paper table's layout, the paper's numbers beside."""
    parts = ["# ENBED: the demo's (or a real run's) numbers in the paper's table layouts", "",
             "Each cell: mean ± SD over seeds (NT tasks: over folds), n runs; test split, checkpoint chosen on "
             "validation. The paper's numbers (Malusare et al. 2024) are for its own data and scale.", ""]
    tasks = summary["task"].unique().sort().to_list()
    if "mutation_generation" in tasks:
        rows = summary.filter(pl.col("task") == "mutation_generation")
        names = rows["name"].unique().sort().to_list()
        # top-k as run (k = num_beams; the paper: 5)
        top_k = sorted({m for m in rows["metric"] if m.startswith("exact_match_top") and m != "exact_match_top1"},
                       key=lambda m: int(m.removeprefix("exact_match_top")))
        metrics = ["exact_match_top1", *top_k[:1], "levenshtein_mean", "levenshtein_median"]
        header = ["top-1 (%)", *[f"top-{m.removeprefix('exact_match_top')} (%)" for m in top_k[:1]], "mean LD", "median LD"]
        parts += ["## Table 5: mutation generation", "",
                  _markdown(["experiment", "model", *header],
                            [[n, _first(summary, "mutation_generation", n, "model")]
                             + [cell(summary, "mutation_generation", n, m) for m in metrics] for n in names]),
                  "", "The paper's Table 5 (and Table 6's 1:1 top-1):", "",
                  _markdown(["model", "top-1 (%)", "top-5 (%)", "mean LD", "median LD"],
                            [[k] + [str(v.get(m, "-")) for m in GENERATION_METRICS] for k, v in PAPER_GENERATION.items()]),
                  ""]
    if "reconstruction" in tasks:
        names = summary.filter(pl.col("task") == "reconstruction")["name"].unique().sort().to_list()
        parts += ["## Reconstruction pretraining of the mutation-generation arms (genolm's, not in the paper)", "",
                  "Held-out corpus pieces (with masked spans where noise_density > 0) -> the whole piece: exact match "
                  "and Levenshtein distance of the top-1 candidate. An arm that cannot reconstruct cannot copy a "
                  "parent.", "",
                  _markdown(["architecture", "exact match top-1 (%)", "mean LD", "teacher-forced token accuracy"],
                            [[n, cell(summary, "reconstruction", n, "exact_match_top1"),
                              cell(summary, "reconstruction", n, "levenshtein_mean"),
                              cell(summary, "reconstruction", n, "token_accuracy")] for n in names]), ""]
    for task, title, paper in (("noise_identification", "Table 3: erroneous sequence identification", PAPER_NOISE_F1),
                               ("function_annotation", "Table 4: biological function identification", PAPER_FUNCTION_F1)):
        if task in tasks:
            names = summary.filter(pl.col("task") == task)["name"].unique().sort().to_list()
            parts += [f"## {title}", "",
                      _markdown(["experiment", "model", "F1 macro (%)", "accuracy (%)", "MCC"],
                                [[n, _first(summary, task, n, "model"), cell(summary, task, n, "f1_macro"),
                                  cell(summary, task, n, "accuracy"), cell(summary, task, n, "mcc")] for n in names]),
                      "", f"The paper's {title.split(':')[0]} (F1): " + ", ".join(f"{k} {v}" for k, v in paper.items()),
                      ""]
    for task in tasks:
        if task in ("mutation_generation", "noise_identification", "reconstruction", "function_annotation"):
            continue
        names = summary.filter(pl.col("task") == task)["name"].unique().sort().to_list()
        parts += [f"## Tables 1/10, 12 and 2/11 layout: benchmark {task}", "",
                  _markdown(["experiment", "model", "MCC", "accuracy (%)"],
                            [[n, _first(summary, task, n, "model"), cell(summary, task, n, "mcc"),
                              cell(summary, task, n, "accuracy")] for n in names]),
                  "", "The paper's ENBED on its promoter tasks (Tables 1, 11, 12):", "",
                  _markdown(["task", "MCC", "accuracy (%)", "accuracy, no pretraining (%)"],
                            [[k, v.get("mcc", "-"), v.get("accuracy", "-"), v.get("accuracy_no_pretraining", "-")]
                             for k, v in PAPER_BENCHMARKS.items()]), ""]
    if "function_annotation" not in tasks:
        parts += ["The paper's Table 4 (function annotation, F1), not run by this configuration: "
                  + ", ".join(f"{k} {v}" for k, v in PAPER_FUNCTION_F1.items()), ""]
    return "\n".join(parts)


def _first(summary: pl.DataFrame, task: str, name: str, column: str) -> str:
    found = summary.filter((pl.col("task") == task) & (pl.col("name") == name))
    return str(found[column][0]) if len(found) else "-"


def task_figure(rows: pl.DataFrame, task: str, metrics: tuple[str, ...]):
    """One panel per metric that has runs, titled with its readable name and unit (genolm.analysis.plots): each
    experiment's runs as points, a bar and error bar from `spread_bars` (mean ± SD clipped to the metric's range;
    median and quartiles for Levenshtein distances, which cannot go below 0)."""
    import matplotlib.pyplot as plt

    from genolm.analysis.plots import draw_runs, metric_display, spread_kind

    data = rows.filter(pl.col("task") == task)
    names = data["name"].unique().sort().to_list()
    shown = [m for m in metrics if len(data.filter(pl.col("metric") == m))]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(3.2 * max(1, len(shown)), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], shown):
        display = metric_display(metric)
        for x, name in enumerate(names):
            values = data.filter((pl.col("name") == name) & (pl.col("metric") == metric))["value"].to_numpy()
            if len(values):
                draw_runs(ax, x, values, metric, color="#9ecae1", point_color="#08519c")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set_title(display.name, fontsize=9)
        ax.set_ylabel(display.label, fontsize=8)
        ax.set_xlabel(f"bar: {spread_kind(metric)}", fontsize=7)
        if display.low is not None:
            ax.set_ylim(bottom=display.low)
    if not shown:
        axes[0][0].set_axis_off()
    runs = data["run"].unique().len()
    fig.suptitle(f"ENBED {task.replace('_', ' ')}: test, {runs} runs (points: runs)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_task(rows: pl.DataFrame, task: str, metrics: tuple[str, ...], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = task_figure(rows, task, metrics)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight")
    plt.close(fig)


def write_outputs(metrics: pl.DataFrame, out_dir: Path, plots: Path) -> Path:
    rows = study_rows(metrics)
    summary = summarize(pl.concat([rows, reconstruction_rows(metrics)], how="vertical_relaxed"))
    out_dir.mkdir(parents=True, exist_ok=True)
    plots.mkdir(parents=True, exist_ok=True)
    with atomic_file(out_dir / "paper_tables_summary.tsv") as tmp:
        summary.write_csv(tmp, separator="\t")
    for task in rows["task"].unique().sort().to_list():
        present = set(rows.filter(pl.col("task") == task)["metric"])
        if task == "mutation_generation":
            chosen = tuple(m for m in rows["metric"].unique().sort().to_list()
                           if m.startswith("exact_match_top") or m in ("levenshtein_mean", "levenshtein_median"))
        else:
            chosen = tuple(m for m in ("f1_macro", "accuracy", "mcc") if m in present)
        plot_task(rows, task, chosen, plots / f"{task}.png")
    target = out_dir / "paper_tables.md"
    with atomic_file(target) as tmp:
        Path(tmp).write_text(paper_tables(summary))
    return target
