"""The study's results pivoted into the documents' tables, beside their numbers, and its figure.

    Table 1 (= thesis Tables 4.2 / 4.3)   macro recall (%) and binary phage F1 per model and label fraction, per length
    Table 4.1                             linear evaluation (frozen backbone), all labels
    Table 4.4                             transfer from a human-genome DNABERT-6 (or the workflow's stand-in)

Every value of ours is the test score at the checkpoint chosen on validation (`best`; a baseline without
checkpoints: its only fit, `last`), as mean ± sd over the seeds, with the number of seeds. Our label fractions are
the config's; they are matched to the documents' by rank (largest with largest), and both are named in the header.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from genolm.atomic import atomic_file

EXPERIMENT = re.compile(r"^(?P<arm>.+)_L(?P<length>\d+)_f(?P<fraction>[0-9.e-]+)$")
# Per-class metrics are named by label (genomes.LABEL_NAMES: other, phage); `f1/phage` is the binary F1 with
# phage positive.
METRICS = {"recall_macro": "recall_m", "f1/phage": "f1_phage", "recall/other": "recall_other",
           "recall/phage": "recall_phage", "predicted_rate/phage": "predicted_phage_rate"}

# (macro recall %, binary F1 with phage positive); None where the documents print "-".
PAPER_FRACTIONS = (0.1, 0.01, 0.001)
PAPER_TABLE1 = {
    150: {
        "self-genomenet": ((78.2, 0.785), (75.3, 0.751), (67.2, 0.700)),
        "supervised-virBERT": ((71.8, 0.710), (67.6, 0.673), (62.4, 0.608)),
        "virBERT": ((85.7, 0.851), (82.2, 0.821), (77.8, 0.780)),
        "virBERT-mask8": ((85.0, 0.845), (81.7, 0.812), (76.7, 0.762)),
        "virBERT-stride3": ((80.8, 0.801), (75.1, 0.757), (65.6, 0.654)),
    },
    1000: {
        "self-genomenet": ((94.0, None), (85.9, None), (73.1, 0.846)),
        "supervised-virBERT": ((81.5, 0.871), (77.2, 0.867), (70.6, 0.773)),
        "virBERT": ((97.9, 0.986), (94.4, 0.968), (87.8, 0.930)),
        "virBERT-mask8": ((97.2, 0.983), (91.7, 0.953), (81.7, 0.901)),
        "virBERT-stride3": ((98.1, 0.988), (90.9, 0.949), (87.2, 0.927)),
    },
}
PAPER_TABLE4_1 = {"self-genomenet": (88.6, 0.916), "virBERT": (97.8, 0.986), "virBERT-mask8": (93.8, 0.963),
                  "virBERT-stride3": (92.6, 0.956)}
PAPER_TABLE4_4 = {("DNABERT6", "human"): {150: (79.2, 0.799), 1000: (96.6, 0.978)},
                  ("self-genomenet", "bacteria"): {150: (None, None), 1000: (97.0, None)}}
VARIANT_ROWS = {"virbert": "virBERT", "mask8": "virBERT-mask8", "stride3": "virBERT-stride3"}


def arm_summary(metrics: pl.DataFrame) -> pl.DataFrame:
    """One row per (arm, length, fraction, metric): mean, sd and n over seeds of the test score at the selected
    checkpoint, plus the labels used (mean over seeds)."""
    rows = metrics.filter((pl.col("split") == "test") & pl.col("metric").is_in(list(METRICS)))
    parsed = rows["experiment"].map_elements(lambda e: (m := EXPERIMENT.match(e)) and m.groupdict(),
                                             return_dtype=pl.Struct({"arm": pl.Utf8, "length": pl.Utf8, "fraction": pl.Utf8}))
    rows = rows.with_columns(parsed.alias("p")).filter(pl.col("p").is_not_null()).unnest("p").with_columns(
        pl.col("length").cast(pl.Int64), pl.col("fraction").cast(pl.Float64))
    # best where the job chose one on validation, else its only checkpoint
    has_best = rows.group_by("experiment", "seed").agg((pl.col("checkpoint") == "best").any().alias("has_best"))
    rows = rows.join(has_best, on=["experiment", "seed"]).filter(
        pl.when(pl.col("has_best")).then(pl.col("checkpoint") == "best").otherwise(pl.col("checkpoint") == "last"))
    return (rows.group_by("arm", "model", "init", "length", "fraction", "metric")
            .agg(pl.col("value").mean().alias("mean"), pl.col("value").std().alias("sd"),
                 pl.col("seed").n_unique().alias("seeds"), pl.col("train_labelled").mean().alias("train_labelled"),
                 pl.col("checkpoint").first().alias("checkpoint"))
            .with_columns(pl.col("metric").replace_strict(METRICS).alias("metric"))
            .sort("length", "arm", "fraction", "metric", descending=[False, False, True, False]))


def _cell(summary: pl.DataFrame, arm: str, length: int, fraction: float, metric: str, scale: float) -> str:
    hit = summary.filter((pl.col("arm") == arm) & (pl.col("length") == length) & (pl.col("fraction") == fraction)
                         & (pl.col("metric") == metric))
    if not len(hit):
        return "-"
    mean, sd, n = hit["mean"][0] * scale, hit["sd"][0], hit["seeds"][0]
    digits = 1 if scale == 100 else 3
    spread = f" ± {sd * scale:.{digits}f}" if sd is not None and np.isfinite(sd) else ""
    return f"{mean:.{digits}f}{spread} (n={n})"


def _paper(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def paper_row(arm: dict, study: dict, table: str) -> str | None:
    """The documents' row an arm reproduces (None: no such row; a shuffled-label control reproduces none)."""
    if arm.get("shuffle_labels"):
        return None
    if "model" in arm:
        return "self-genomenet" if arm["model"]["name"] == "cnn-lstm" else None
    if arm["backbone"] == "transfer":
        return "DNABERT6" if table == "4.4" else None
    row = VARIANT_ROWS.get(arm["backbone"], arm["backbone"])
    if arm["init"] == "random":
        return "supervised-virBERT" if arm["backbone"] == "virbert" else f"supervised-{row}"
    return row


def pivot_tables(summary: pl.DataFrame, study: dict) -> str:
    """Markdown: Table 1 per length, Table 4.1 and Table 4.4, ours beside the documents'."""
    ours = sorted(study["label_fractions"], reverse=True)
    lines = ["# virBERT: the demo's results in the documents' layout", "",
             "Ours: test at the checkpoint chosen on validation, mean ± sd over seeds (n). Label fractions are "
             "matched by rank: " + ", ".join(f"ours {o:g} ~ paper {p:g}" for o, p in zip(ours, PAPER_FRACTIONS)) + ".",
             ""]
    arms = study["arms"]
    for length in study["lengths"]:
        lines += [f"## Table 1 ({'Table 4.2' if length == 150 else 'Table 4.3' if length == 1000 else 'no table'} "
                  f"in the thesis): {length} nt", ""]
        header = ["model", "paper row"]
        for i, fraction in enumerate(ours):
            paper = f" / paper {PAPER_FRACTIONS[i]:g}" if i < len(PAPER_FRACTIONS) else ""
            header += [f"Recall_M f={fraction:g}", f"F1 f={fraction:g}", f"paper{paper} Recall_M", "paper F1"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, arm in arms.items():
            if arm.get("init") == "frozen" or arm.get("backbone") == "transfer":
                continue
            if length not in (arm.get("lengths") or study["lengths"]):
                continue
            row = paper_row(arm, study, "1")
            paper = PAPER_TABLE1.get(length, {}).get(row) if row else None
            cells = [name, row or "(not in the documents)"]
            for i, fraction in enumerate(ours):
                cells += [_cell(summary, name, length, fraction, "recall_m", 100),
                          _cell(summary, name, length, fraction, "f1_phage", 1)]
                pair = paper[i] if paper and i < len(paper) else (None, None)
                cells += [_paper(pair[0], 1), _paper(pair[1], 3)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    for table, title, init in (("4.1", "Table 4.1: linear evaluation (frozen backbone)", "frozen"),
                               ("4.4", "Table 4.4: transfer from a human-genome DNABERT-6", None)):
        lines += [f"## {title}", "", "| model | length | label fraction | Recall_M | F1 | paper row | paper Recall_M | paper F1 |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, arm in arms.items():
            if (init and arm.get("init") != init) or (not init and arm.get("backbone") != "transfer"):
                continue
            for length in arm.get("lengths") or study["lengths"]:
                for fraction in arm.get("label_fractions") or study["label_fractions"]:
                    if table == "4.1":
                        row = paper_row(arm, study, table)
                        paper = PAPER_TABLE4_1.get(row, (None, None))
                        note = "" if length == 1000 else " (paper: 1000 nt)"
                    else:
                        row = "DNABERT6 (human)"
                        paper = PAPER_TABLE4_4[("DNABERT6", "human")].get(length, (None, None))
                        note = "" if study["transfer"]["checkpoint"] else " (ours: stand-in pretrained on the workflow's human reference)"
                    lines.append(f"| {name} | {length} | {fraction:g} | {_cell(summary, name, length, fraction, 'recall_m', 100)}"
                                 f" | {_cell(summary, name, length, fraction, 'f1_phage', 1)} | {row}{note} | "
                                 f"{_paper(paper[0], 1)} | {_paper(paper[1], 3)} |")
        lines.append("")
    return "\n".join(lines)


def recall_figure(summary: pl.DataFrame, metrics: pl.DataFrame, study: dict):
    """Macro recall against label fraction, one line per arm (mean, SD bars clipped to 0-100 %, seeds as dots), a
    panel per length; the logarithmic fraction axis is ticked at the fractions trained."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from genolm.analysis.plots import metric_display

    display = metric_display("recall_macro")
    lengths = study["lengths"]
    fig, axes = plt.subplots(1, len(lengths), figsize=(5.5 * len(lengths), 4.2), squeeze=False)
    recall = summary.filter(pl.col("metric") == "recall_m")
    per_seed = metrics.filter((pl.col("split") == "test") & (pl.col("metric") == "recall_macro"))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, length in zip(axes[0], lengths):
        fractions = set()
        for i, arm in enumerate(study["arms"]):
            part = recall.filter((pl.col("arm") == arm) & (pl.col("length") == length)).sort("fraction")
            if not len(part):
                continue
            colour = colours[i % len(colours)]
            x, y = part["fraction"].to_numpy(), part["mean"].to_numpy() * display.scale
            fractions.update(x.tolist())
            sd = np.nan_to_num(part["sd"].fill_null(0).to_numpy() * display.scale)
            low, high = np.maximum(y - sd, display.low), np.minimum(y + sd, display.high)
            ax.errorbar(x, y, yerr=[y - low, high - y], marker="o", capsize=3, color=colour,
                        label=f"{arm} (n={part['seeds'].max()})", linestyle="-" if len(part) > 1 else "none")
            checkpoint = part["checkpoint"][0]
            for fraction in x:
                dots = per_seed.filter((pl.col("experiment") == f"{arm}_L{length}_f{fraction:g}")
                                       & (pl.col("checkpoint") == checkpoint))["value"].to_numpy() * display.scale
                ax.scatter(np.full(len(dots), fraction), dots, s=10, color=colour, alpha=0.5)
        ax.axhline(50, color="grey", linestyle=":", linewidth=1, label="chance (majority)")
        ax.set_xscale("log")
        # Ticks at the trained fractions (0.01, 0.1, 1), not the log axis' powers of ten (10^-2, 10^0).
        ax.set_xticks(sorted(fractions), [f"{f:g}" for f in sorted(fractions)])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("label fraction (of training genomes)")
        ax.set_ylabel(f"test {display.label}")
        ax.set_title(f"phage vs other virus, {length} nt fragments")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_recall(summary: pl.DataFrame, metrics: pl.DataFrame, study: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = recall_figure(summary, metrics, study)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
