"""`genolm benchmarks-leaderboard`: the benchmarks study's runs -> leaderboard.tsv / .md and a heat map."""

from __future__ import annotations

import json
from pathlib import Path

HELP = "one row per task and model (learning rate chosen on validation, test mean, sd, t interval, rank), published numbers beside"


def add_arguments(parser) -> None:
    parser.add_argument("metrics", nargs="+", type=Path, help="the study's per-run metrics.parquet files")
    parser.add_argument("--tasks", required=True,
                        help='JSON {task: {"metric": ..., "protocol": ...}}: each task\'s metric and protocol line')
    parser.add_argument("--out-tsv", type=Path, required=True)
    parser.add_argument("--out-md", type=Path, required=True)
    parser.add_argument("--plot", type=Path, required=True, help="the heat map (PNG)")


def run(args) -> int:
    from genolm.errors import GenolmInputError
    from genolm.studies.benchmarks.leaderboard import write_leaderboard

    try:
        tasks = json.loads(args.tasks)
    except json.JSONDecodeError as error:
        raise GenolmInputError("--tasks", f"not JSON: {error}") from None
    write_leaderboard(args.metrics, tasks, args.out_tsv, args.out_md, args.plot)
    return 0
