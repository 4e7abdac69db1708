"""`genolm variant-benchmark`: AUROC (with a bootstrap interval) of zero-shot variant scores against labels."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError

HELP = ("AUROC with a bootstrap interval of `score-variants` outputs against labelled variants (ClinVar CLNSIG or a "
        "0/1 INFO field or parquet `label`): result-table rows per model")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", required=True, nargs="+", type=Path, help="score-variants outputs, one per model")
    parser.add_argument("--names", required=True, nargs="+", help="a model name for each --scores file")
    parser.add_argument("--labels", required=True, type=Path, help="labelled variants: VCF or parquet (chrom, pos, ref, alt, label)")
    parser.add_argument("--label-field", default="CLNSIG", help="VCF INFO field holding the label (default: CLNSIG)")
    parser.add_argument("--task", required=True, help="benchmark name for the results table's task column")
    parser.add_argument("--study", default="variant_effect",
                        help="the results table's study column (default: variant_effect; a study's rule names itself)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--out", required=True, type=Path, help="metrics parquet (genolm.results.METRICS_SCHEMA)")
    parser.add_argument("--qc", required=True, type=Path, help="QC table (TSV), one stage per model")
    parser.add_argument("--out-md", type=Path, help="markdown table for the report: AUROC and interval per model")


def run(args: argparse.Namespace) -> None:
    from genolm.atomic import atomic_file
    from genolm.inference.benchmark import benchmark, read_labels
    from genolm.qc import QCCounts
    from genolm.results import metric_rows, write_table

    if len(args.scores) != len(args.names) or len(set(args.names)) != len(args.names):
        raise GenolmInputError("--names", "give one distinct name per --scores file")
    frames, qc_frames, summaries = [], [], []
    for path, name in zip(args.scores, args.names):
        qc = QCCounts(f"variant_benchmark/{name}")
        labels = read_labels(args.labels, field=args.label_field, qc=qc)
        try:
            scores = pl.read_parquet(path, columns=["chrom", "pos", "ref", "alt", "llr"])
        except (OSError, pl.exceptions.PolarsError) as error:
            raise GenolmInputError(path, f"not a score-variants table ({str(error).splitlines()[0]})") from None
        values = benchmark(scores, labels, seed=args.seed, qc=qc)
        context = {"study": args.study, "task": args.task, "experiment": f"{name}-zero-shot", "model": name,
                   "init": "pretrained", "seed": args.seed}
        summaries.append((name, values))
        frames.append(metric_rows(context, {f"all/{metric}": value for metric, value in values.items()}, ""))
        qc_frames.append(qc.to_frame())
        log.info("%s: AUROC %.3f (%.3f-%.3f) on %d labelled variants", name, *values["auroc"],
                 int(values["n_damaging"] + values["n_benign"]))
    write_table(pl.concat(frames), args.out)
    with atomic_file(args.qc) as tmp:
        pl.concat(qc_frames).write_csv(tmp, separator="\t")
    if args.out_md:
        with atomic_file(args.out_md) as tmp:
            tmp.write_text(benchmark_markdown(args.task, args.labels.name, summaries))


def benchmark_markdown(task: str, labels: str, summaries: list[tuple[str, dict]]) -> str:
    lines = [f"### Variant-effect benchmark: {task}", "",
             f"Zero-shot AUROC of -LLR (damaging scored higher) against the labels of `{labels}`, 95% bootstrap "
             "interval over variants.", "",
             "| model | AUROC | 95% interval | damaging | benign |", "| --- | ---: | --- | ---: | ---: |"]
    for name, values in summaries:
        point, low, high = values["auroc"]
        lines.append(f"| {name} | {point:.3f} | [{low:.3f}, {high:.3f}] | {int(values['n_damaging'])} | "
                     f"{int(values['n_benign'])} |")
    return "\n".join(lines) + "\n"
