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
    # dest run_rows: genolm.cli keeps the command's function in args.run
    runs.add_argument("--run", action="append", dest="run_rows", metavar="arm=A,replicate=R,split_seed=S,pretrain_seed=P,seed=T,path=DIR",
                      help="one run (repeatable): the runs table's row as arguments, for a rule that lists its runs; "
                           "an optional group_shards=DIR is the shard set that run's units are looked up in (a "
                           "replicate with its own split) instead of --group-shards")
    parser.add_argument("--group-shards", type=Path,
                        help="the shard set the jobs were scored on: each prediction's unit is its --group-column at "
                             "the prediction's split and index (for predictions without a group, e.g. generation)")
    parser.add_argument("--group-column", default="sample", help="the --group-shards column naming the unit")
    parser.add_argument("--unit-map", nargs=3, metavar=("TABLE", "FROM", "TO"),
                        help="a Parquet/TSV table mapping each prediction's group (column FROM) to the unit resampled "
                             "(column TO), e.g. genomes.parquet genome_id family")
    parser.add_argument("--out-tsv", type=Path, required=True, help="comparisons.tsv")
    parser.add_argument("--out-md", type=Path, help="the same as a Markdown table")
    parser.add_argument("--plot", type=Path, help="forest plot (PNG, PDF or SVG by suffix)")
    parser.add_argument("--title", help="title of the forest plot (e.g. the study)")


def run(args) -> int:
    from genolm.comparisons import (UnitSource, compare, load_comparisons, read_runs, read_unit_map,
                                    runs_from_arguments, write_comparisons)
    from genolm.errors import GenolmInputError

    if not isinstance(args.comparisons, list):
        raise GenolmInputError("--comparisons", "expected a list of comparisons")
    runs = read_runs(args.runs) if args.runs else runs_from_arguments(args.run_rows)
    units = None
    if args.group_shards or args.unit_map or runs["group_shards"].drop_nulls().len():
        units = UnitSource(shards=args.group_shards, column=args.group_column,
                           mapping=read_unit_map(*args.unit_map) if args.unit_map else None,
                           mapping_source=args.unit_map[0] if args.unit_map else "")
    table = compare(load_comparisons(args.comparisons, "--comparisons"), runs, str(args.runs or "--run"), units)
    write_comparisons(table, args.out_tsv, args.out_md)
    if args.plot:
        from genolm.analysis.forest import plot_forest

        plot_forest(table, args.plot, args.title)
    return 0
