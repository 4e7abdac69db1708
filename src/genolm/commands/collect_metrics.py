from __future__ import annotations

from pathlib import Path

from genolm.results import collect_metrics, write_table

HELP = "Concatenate per-job metric rows into the tidy results table (parquet + tsv)."


def add_arguments(parser) -> None:
    parser.add_argument("inputs", type=Path, nargs="+", help="per-job metrics.parquet files")
    parser.add_argument("--out", type=Path, required=True, help="metrics.parquet")
    parser.add_argument("--tsv", type=Path, help="the same table as TSV")


def run(args) -> int:
    write_table(collect_metrics(args.inputs), args.out, args.tsv)
    return 0
