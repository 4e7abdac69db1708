"""`genolm benchmark-shards`: a benchmark table (`genolm prepare-benchmark`) as shards, with the validation split
or the Nucleotide Transformer fold (genolm.datasets.benchmarks), for any study."""

from __future__ import annotations

from pathlib import Path

HELP = "benchmark table -> shards; --folds K --fold k for the Nucleotide Transformer 10-fold protocol"


def add_arguments(parser) -> None:
    parser.add_argument("--table", type=Path, required=True, help="resources/benchmarks/<task>.parquet")
    parser.add_argument("--folds", type=int, help="number of folds of the training set (NT protocol)")
    parser.add_argument("--fold", type=int, help="the validation fold, 1..folds")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="without --folds")
    parser.add_argument("--max-length", type=int, help="cut longer sequences to this many bases")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    from genolm.datasets.benchmarks import write_benchmark_shards

    write_benchmark_shards(args.table, args.out, args.qc, folds=args.folds, fold=args.fold,
                           val_fraction=args.val_fraction, seed=args.seed, max_length=args.max_length)
    return 0
