"""`genolm cancer-type-zero-shot`: the zero-shot arm (genolm.studies.cancer_type.zero_shot)."""

from __future__ import annotations

from pathlib import Path

from genolm.commands._common import add_context_arguments, json_arg, results_context

HELP = ("The zero-shot arm of the cancer-type study: a backbone's variant scores of each selected cell line's "
        "mutations, compared between lineages and classifying cell lines (results-table rows).")


def add_arguments(parser) -> None:
    parser.add_argument("--cell-lines", type=Path, required=True, help="select-cell-lines' cell_lines.parquet")
    parser.add_argument("--mutations", type=Path, required=True, help="prepare-mutations' mutations.parquet")
    parser.add_argument("--scores", type=Path, required=True, help="score-variants' output for these mutations")
    parser.add_argument("--context-length", type=int, required=True, help="the scoring window (results column)")
    parser.add_argument("--seed", type=int, required=True, help="bootstrap seed")
    parser.add_argument("--out", type=Path, required=True, help="metrics.parquet")
    parser.add_argument("--features", type=Path, required=True, help="per-cell-line score features (parquet)")
    parser.add_argument("--qc", type=Path, required=True, help="QC table (TSV)")
    parser.add_argument("--lineage-comparisons", type=json_arg, default=[],
                        help="pre-registered lineage comparisons (JSON list of {name, lineage_a, lineage_b, "
                             "expected_direction, description}; the config's zero_shot.lineage_comparisons)")
    parser.add_argument("--out-md", type=Path, help="the report's page: classifier and comparisons with verdicts")
    add_context_arguments(parser)


def run(args) -> int:
    import polars as pl

    from genolm.qc import QCCounts
    from genolm.results import metric_rows, write_table
    from genolm.atomic import atomic_file
    from genolm.studies.cancer_type.zero_shot import (cell_line_features, lineage_comparison, lineage_verdicts,
                                                      zero_shot_classification, zero_shot_markdown)

    cell_lines = pl.read_parquet(args.cell_lines)
    qc = QCCounts("cancer_type_zero_shot")
    features = cell_line_features(pl.read_parquet(args.mutations), pl.read_parquet(args.scores), cell_lines, qc=qc)
    # Lineages in label order, which is the config's order.
    lineages = cell_lines.sort("label").unique("label", maintain_order=True)["lineage"].to_list()
    comparison = lineage_comparison(features, lineages, seed=args.seed)
    verdicts = lineage_verdicts(comparison, args.lineage_comparisons)
    values = {**zero_shot_classification(features, seed=args.seed), **{f"all/{k}": v for k, v in comparison.items()}}
    args.tokenizer_name = args.tokenizer_name or "pretrained"
    context = results_context(args, context_length=args.context_length, init="pretrained")
    write_table(features, args.features)
    write_table(metric_rows(context, values, ""), args.out)
    qc.write(args.qc)
    if args.out_md:
        with atomic_file(args.out_md) as tmp:
            tmp.write_text(zero_shot_markdown(f"{args.experiment} ({args.model_name})", verdicts, values))
    return 0
