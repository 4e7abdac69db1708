"""`genolm tss-evaluate`: a fine-tuned TSS-localization run, scored on every organism (Table 5.2 rows)."""

from __future__ import annotations

from pathlib import Path

HELP = ("score one TSS-localization run on every organism's shards: accuracy of the TSS token per organism and "
        "split, beside the position prior and chance (metrics rows)")


def _organism(text: str) -> tuple[str, Path]:
    import argparse

    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected ORGANISM=SHARDS, got {text!r}")
    return name, Path(path)


def add_arguments(parser) -> None:
    parser.add_argument("--job-dir", type=Path, required=True,
                        help="the run's job directory (genolm train --out): model/, metrics.parquet, checkpoints/")
    parser.add_argument("--organism", type=_organism, nargs="+", required=True, metavar="ORGANISM=SHARDS")
    parser.add_argument("--train-shards", type=Path, required=True, help="the shards the run trained on")
    parser.add_argument("--out", type=Path, required=True, help="metrics.parquet of the organism rows")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own)")


def run(args) -> int:
    import polars as pl

    from genolm.errors import GenolmInputError
    from genolm.results import metric_rows, read_metrics, write_table
    from genolm.studies.small_transformers.tss import evaluate_organisms

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    own = read_metrics(args.job_dir / "metrics.parquet")
    if not len(own):
        raise GenolmInputError(args.job_dir / "metrics.parquet", "no rows")
    first = own.row(0, named=True)
    context = {k: first[k] for k in ("study", "task", "experiment", "model", "tokenizer", "context_length", "init",
                                     "label_fraction", "train_labelled", "split_seed", "pretrain_seed", "seed")}
    # The trainer saves the model after scoring the checkpoint chosen on validation, so it holds those weights.
    checkpoint = "best" if (args.job_dir / "checkpoints" / "best.ckpt").exists() else "last"
    values = evaluate_organisms(args.job_dir / "model", dict(args.organism), args.train_shards,
                                int(first["context_length"]), checkpoint)
    frame = metric_rows(context, values, first["mlflow_run_id"] or "")
    write_table(frame, args.out)
    with pl.Config(tbl_rows=-1):
        print(frame.select("split", "metric", "value"))
    return 0
