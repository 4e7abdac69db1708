"""`genolm enbed-reconstruction`: reconstruction pairs (text infilling) from the corpus, to pretrain the
mutation-generation arms (genolm.studies.enbed.reconstruction)."""

from __future__ import annotations

from pathlib import Path

HELP = "corpus pieces with spans masked by one N each -> the whole piece: sequence-to-sequence pretraining pairs"


def add_arguments(parser) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="corpus shards (genolm enbed-corpus)")
    parser.add_argument("--length", type=int, required=True, help="piece length in bases (the mutation pairs' length)")
    parser.add_argument("--train", type=int, required=True)
    parser.add_argument("--val", type=int, required=True)
    parser.add_argument("--test", type=int, required=True)
    parser.add_argument("--noise-density", type=float, required=True, help="share of bases masked")
    parser.add_argument("--mean-span-length", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    from genolm.studies.enbed.reconstruction import write_reconstruction_dataset

    write_reconstruction_dataset(args.corpus, args.out, args.qc, length=args.length, train=args.train, val=args.val,
                                 test=args.test, noise_density=args.noise_density,
                                 mean_span_length=args.mean_span_length, seed=args.seed)
    return 0
