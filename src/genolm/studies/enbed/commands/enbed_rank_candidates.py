"""`genolm enbed-rank-candidates`: a mutation-generation job's candidates ranked by the noise classifier, as the
paper picks its top-1 child (genolm.studies.enbed.ranking)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.commands._common import add_tracking_arguments, open_run

HELP = ("rank a generation job's candidates by a noise-identification classifier (least likely noisy first) and "
        "score them: the paper's Top-1")

# The results table's columns that describe the generation job and so the ranked one too (the experiment apart).
CONTEXT = ("study", "task", "model", "tokenizer", "context_length", "init", "label_fraction", "train_labelled",
           "split_seed", "pretrain_seed", "seed", "fold")


def add_arguments(parser) -> None:
    parser.add_argument("--generation-job", type=Path, required=True,
                        help="the generation job's directory (its predictions.parquet and metrics.parquet)")
    parser.add_argument("--classifier", type=Path, required=True, help="the fine-tuned noise classifier (<job>/model)")
    parser.add_argument("--noisy-label", default="noisy",
                        help="the classifier's label of noisy sequences (default: noisy)")
    parser.add_argument("--experiment", required=True,
                        help="the ranked rows' experiment, e.g. mutation_generation/ENBED+noise-rank")
    parser.add_argument("--batch-size", type=int, default=64, help="candidates per forward pass (default: 64)")
    parser.add_argument("--out", type=Path, required=True, help="job directory: metrics.parquet, predictions.parquet")
    for seed in ("split", "pretrain"):  # the replicate the workflow means: checked against the generation job's
        parser.add_argument(f"--{seed}-seed", type=int, help=f"the generation job's {seed} seed, if it must be checked")
    add_tracking_arguments(parser)


def run(args) -> int:
    from genolm.errors import GenolmInputError
    from genolm.inference.loading import default_device
    from genolm.results import metric_rows, read_metrics, write_table
    from genolm.studies.enbed.ranking import (load_classifier, noise_probabilities, rank_predictions, ranked_metrics,
                                              read_predictions)

    predictions = read_predictions(args.generation_job / "predictions.parquet")
    source = read_metrics(args.generation_job / "metrics.parquet")
    if source.is_empty():
        raise GenolmInputError(args.generation_job / "metrics.parquet", "no rows")
    context = {**source.select(CONTEXT).row(0, named=True), "experiment": args.experiment}
    for seed in ("split_seed", "pretrain_seed"):
        if getattr(args, seed) is not None and getattr(args, seed) != context[seed]:
            raise GenolmInputError(args.generation_job / "metrics.parquet", f"{seed} {context[seed]}, not the "
                                                                            f"{getattr(args, seed)} asked for")
    task, tokenizer, noisy = load_classifier(args.classifier, args.noisy_label)
    identity = argparse.Namespace(**vars(args), study=context["study"], seed=context["seed"], fold=context["fold"])
    job_run = open_run(identity, args.out, inputs=[args.generation_job / "predictions.parquet", args.classifier])
    sequences = [c for candidates in predictions["candidates"].to_list() for c in candidates]
    probabilities = noise_probabilities(task, tokenizer, noisy, sequences, batch_size=args.batch_size,
                                        device=default_device())
    values = ranked_metrics(ranked := rank_predictions(predictions, probabilities))
    job_run.log_results(values)
    write_table(ranked, args.out / "predictions.parquet")
    write_table(metric_rows(context, values, job_run.run_id), args.out / "metrics.parquet")
    job_run.log_artifact(args.out / "metrics.parquet", "tables")
    job_run.finish()
    return 0
