"""`genolm compare`: a study's pre-registered comparisons, from the runs of its arms (genolm.comparisons)."""

from __future__ import annotations

from pathlib import Path

from genolm.commands._common import json_arg

HELP = ("Paired differences A - B per replicate, hierarchical bootstrap intervals and verdicts of a study's "
        "pre-registered comparisons; writes comparisons.tsv/.md and a forest plot.")


def add_arguments(parser) -> None:
    parser.add_argument("--comparisons", type=json_arg, required=True,
                        help="the study's comparisons ($defs/comparison) as a JSON list, inline or @FILE (.json/.yaml)")
    runs = parser.add_mutually_exclusive_group(required=True)
    runs.add_argument("--runs", type=Path,
                      help="TSV with columns arm, replicate, split_seed, pretrain_seed, seed, path (a job directory "
                           "with predictions.parquet, or a Parquet/TSV scores table with split, group and scores)")
    runs.add_argument("--run", action="append", metavar="arm=A,replicate=R,split_seed=S,pretrain_seed=P,seed=T,path=DIR",
                      help="one run (repeatable): the runs table's row as arguments, for a rule that lists its runs")
    parser.add_argument("--out-tsv", type=Path, required=True, help="comparisons.tsv")
    parser.add_argument("--out-md", type=Path, help="the same as a Markdown table")
    parser.add_argument("--plot", type=Path, help="forest plot (PNG, PDF or SVG by suffix)")
    parser.add_argument("--title", help="title of the forest plot (e.g. the study)")


def run(args) -> int:
    from genolm.comparisons import compare, load_comparisons, read_runs, runs_from_arguments, write_comparisons
    from genolm.errors import GenolmInputError

    if not isinstance(args.comparisons, list):
        raise GenolmInputError("--comparisons", "expected a list of comparisons")
    runs = read_runs(args.runs) if args.runs else runs_from_arguments(args.run)
    table = compare(load_comparisons(args.comparisons, "--comparisons"), runs, str(args.runs or "--run"))
    write_comparisons(table, args.out_tsv, args.out_md)
    if args.plot:
        from genolm.analysis.forest import plot_forest

        plot_forest(table, args.plot, args.title)
    return 0
