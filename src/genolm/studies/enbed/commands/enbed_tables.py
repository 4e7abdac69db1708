"""`genolm enbed-tables`: the study's rows in the paper's table layouts, beside the paper's numbers; a figure per task."""

from __future__ import annotations

from pathlib import Path

HELP = "pivot the ENBED study's result rows into the paper's Tables 1-5, 11-12 and draw one figure per task"


def add_arguments(parser) -> None:
    parser.add_argument("metrics", nargs="+", type=Path, help="per-job metrics.parquet files (or the results table)")
    parser.add_argument("--out-dir", type=Path, required=True, help="writes paper_tables.md and paper_tables_summary.tsv")
    parser.add_argument("--plots", type=Path, required=True, help="writes <task>.png")


def run(args) -> int:
    from genolm.results import collect_metrics
    from genolm.studies.enbed.tables import write_outputs

    write_outputs(collect_metrics(args.metrics), args.out_dir, args.plots)
    return 0
