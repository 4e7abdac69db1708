"""`genolm compare`: a study's pre-registered comparisons, from the runs of its arms (genolm.comparisons)."""

from __future__ import annotations

from pathlib import Path

from genolm.commands._common import json_arg

HELP = ("Paired differences A - B per replicate, hierarchical bootstrap intervals and verdicts of a study's "
        "pre-registered comparisons; writes comparisons.tsv/.md and a forest plot.")


def add_arguments(parser) -> None:
    parser.add_argument("--comparisons", type=json_arg, required=True,
                        help="the study's comparisons ($defs/comparison) as a JSON list, inline or @FILE (.json/.yaml)")
    parser.add_argument("--runs", type=Path, required=True,
                        help="TSV with columns arm, replicate, split_seed, pretrain_seed, seed, path (a job directory "
                             "with predictions.parquet, or a Parquet/TSV scores table with split, group and scores)")
    parser.add_argument("--out-tsv", type=Path, required=True, help="comparisons.tsv")
    parser.add_argument("--out-md", type=Path, help="the same as a Markdown table")
    parser.add_argument("--plot", type=Path, help="forest plot (PNG, PDF or SVG by suffix)")
    parser.add_argument("--title", help="title of the forest plot (e.g. the study)")


def run(args) -> int:
    from genolm.comparisons import compare, load_comparisons, read_runs, write_comparisons
    from genolm.errors import GenolmInputError

    if not isinstance(args.comparisons, list):
        raise GenolmInputError("--comparisons", "expected a list of comparisons")
    table = compare(load_comparisons(args.comparisons, "--comparisons"), read_runs(args.runs), str(args.runs))
    write_comparisons(table, args.out_tsv, args.out_md)
    if args.plot:
        from genolm.analysis.forest import plot_forest

        plot_forest(table, args.plot, args.title)
    return 0
