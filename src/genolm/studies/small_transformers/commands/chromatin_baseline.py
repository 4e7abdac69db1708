"""`genolm chromatin-baseline`: one k-mer logistic regression per chromatin label (the Table 5.4 baseline)."""

from __future__ import annotations

import json
from pathlib import Path

from genolm.commands._common import add_context_arguments

HELP = ("fit one logistic regression per label of chromatin-dataset shards on k-mer frequencies and score "
        "AUROC per label, per group and macro on val and test (metrics rows)")


def add_arguments(parser) -> None:
    parser.add_argument("--shards", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True, help="labels JSON of `genolm chromatin-dataset`")
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of each regression")
    parser.add_argument("--context-length", type=int, required=True, help="the results table's context_length")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="metrics.parquet")
    add_context_arguments(parser)


def run(args) -> int:
    from genolm.commands._common import results_context
    from genolm.datasets.shards import read_manifest
    from genolm.errors import GenolmInputError
    from genolm.results import metric_rows, write_table
    from genolm.studies.small_transformers.chromatin import kmer_baseline
    from genolm.training.data import WindowDataset

    try:
        labels = json.loads(args.labels.read_text())
        names, groups = labels["label_names"], labels["label_groups"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise GenolmInputError(args.labels, f"not a chromatin-dataset labels file: {error}") from None
    splits = read_manifest(args.shards)["splits"]
    data = {split: WindowDataset(args.shards, split, with_labels=True, label_column="targets")
            for split in ("train", "val", "test") if split in splits}
    if "train" not in data or "test" not in data:
        raise GenolmInputError(args.shards, f"need train and test splits, have {', '.join(splits)}")
    values = kmer_baseline((data["train"].sequences, data["train"].labels),
                           {s: (d.sequences, d.labels) for s, d in data.items() if s != "train"},
                           names=names, groups=groups, k=args.k, C=args.C)
    args.model_name = args.model_name or "kmer-logreg"
    args.tokenizer_name = args.tokenizer_name or f"{args.k}-mer spectrum"
    context = {**results_context(args, context_length=args.context_length, init="random"),
               "label_fraction": 1.0, "train_labelled": len(data["train"])}
    write_table(metric_rows(context, values, ""), args.out)
    print(json.dumps({k: round(v, 4) for k, v in values.items() if "auroc_" in k}))
    return 0
