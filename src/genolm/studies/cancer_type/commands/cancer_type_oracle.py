from __future__ import annotations

from pathlib import Path

from genolm.commands._common import add_context_arguments, add_tracking_arguments, open_run, results_context
from genolm.results import metric_rows, write_table

HELP = ("The oracle baseline of the cancer-type study: logistic regression on each window's mutational spectrum "
        "(96 SBS classes + indels), told the mutations a sequence model has to find.")


def add_arguments(parser) -> None:
    parser.add_argument("--shards", type=Path, required=True, help="mutated window shards (train, val, test)")
    parser.add_argument("--reference", type=Path, required=True, help="the indexed reference (trinucleotide context)")
    parser.add_argument("--label-names", nargs="+", required=True, help="class names in label order")
    parser.add_argument("--context-length", type=int, required=True, help="the windows' length (results column)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="job directory (metrics.parquet, predictions.parquet)")
    add_tracking_arguments(parser)
    add_context_arguments(parser)


def run(args) -> int:
    from genolm.studies.cancer_type.oracle import fit_and_score

    values, predictions = fit_and_score(args.shards, args.reference, args.label_names, args.seed)
    job_run = open_run(args, args.out, inputs=[args.shards, args.reference])
    args.model_name = args.model_name or "mutation-spectrum-logreg"
    args.tokenizer_name = args.tokenizer_name or "mutation-list"
    context = results_context(args, context_length=args.context_length, init="none")
    write_table(predictions, args.out / "predictions.parquet")
    write_table(metric_rows(context, values, job_run.run_id), args.out / "metrics.parquet")
    job_run.log_results(values)
    job_run.log_artifact(args.out / "metrics.parquet", "tables")
    job_run.finish()
    return 0
