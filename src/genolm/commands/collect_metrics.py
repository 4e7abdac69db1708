from __future__ import annotations

from pathlib import Path

from genolm.results import collect_metrics, write_table

HELP = "Concatenate per-job metric rows into the tidy results table (parquet + tsv) and plot a summary."


def add_arguments(parser) -> None:
    parser.add_argument("inputs", type=Path, nargs="+", help="per-job metrics.parquet files")
    parser.add_argument("--out", type=Path, required=True, help="metrics.parquet")
    parser.add_argument("--tsv", type=Path, help="the same table as TSV")
    parser.add_argument("--plot", type=Path, help="summary figure of the test-split classification metrics")


def run(args) -> int:
    table = collect_metrics(args.inputs)
    write_table(table, args.out, args.tsv)
    if args.plot:
        from genolm.analysis.plots import plot_metrics_summary

        plot_metrics_summary(table, args.plot)
    return 0
