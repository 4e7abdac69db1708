"""`genolm enbed-pairs`: parent -> child pairs from a phylogeny, split by clade and similarity."""

from __future__ import annotations

from pathlib import Path

HELP = "mutation-generation pairs (FASTA + parent/child/clade table) cut to a region and split by clade"


def add_arguments(parser) -> None:
    parser.add_argument("--fasta", type=Path, required=True)
    parser.add_argument("--pairs", type=Path, required=True, help="TSV with header: parent child clade")
    parser.add_argument("--region", type=int, nargs=2, metavar=("START", "END"), help="0-based half-open region to cut")
    parser.add_argument("--similarity", type=float, default=0.95, help="clades more similar than this share a split")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    from genolm.studies.enbed.pairs import write_pairs

    write_pairs(args.fasta, args.pairs, args.out, args.qc, region=tuple(args.region) if args.region else None,
                similarity_threshold=args.similarity, fractions={"val": args.val_fraction, "test": args.test_fraction},
                seed=args.seed)
    return 0
