"""`genolm virbert-tables`: the study's results in the documents' layout (Table 1, 4.1, 4.4) and its figure."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.commands._common import json_arg

HELP = "pivot the virBERT results into the documents' tables beside their numbers, and plot recall vs label fraction"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metrics", nargs="+", type=Path, help="per-job metrics.parquet files of the study")
    parser.add_argument("--study", type=json_arg, required=True, help="the validated studies.virbert block (JSON)")
    parser.add_argument("--summary", type=Path, required=True, help="per arm, length, fraction, metric: mean/sd/n (TSV)")
    parser.add_argument("--tables", type=Path, required=True, help="the pivoted tables beside the documents' (Markdown)")
    parser.add_argument("--figure", type=Path, required=True, help="macro recall against label fraction (PNG)")


def run(args: argparse.Namespace) -> None:
    from genolm.atomic import atomic_file
    from genolm.results import collect_metrics
    from genolm.studies.virbert.tables import arm_summary, pivot_tables, plot_recall

    metrics = collect_metrics(args.metrics)
    summary = arm_summary(metrics)
    with atomic_file(args.summary) as tmp:
        summary.write_csv(tmp, separator="\t")
    with atomic_file(args.tables) as tmp:
        Path(tmp).write_text(pivot_tables(summary, args.study) + "\n")
    plot_recall(summary, metrics, args.study, args.figure)
