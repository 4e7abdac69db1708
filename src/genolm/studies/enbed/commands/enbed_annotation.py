"""`genolm enbed-annotation`: the biological function annotation dataset (Table 4) from an Ensembl GTF and its
assembly (genolm.studies.enbed.annotation)."""

from __future__ import annotations

from pathlib import Path

HELP = "genome fragments labelled CDS / lncRNA / snoRNA / ... by an Ensembl GTF, balanced, split by gene"


def add_arguments(parser) -> None:
    parser.add_argument("--gtf", type=Path, required=True, help="Ensembl-layout GTF (plain or gzip)")
    parser.add_argument("--assembly", type=Path, required=True, help="the GTF's assembly, FASTA (plain or gzip)")
    parser.add_argument("--classes", nargs="+", required=True, help="class names in label order")
    parser.add_argument("--min-length", type=int, required=True)
    parser.add_argument("--max-length", type=int, required=True, help="fragments are cut to this many bases (the paper: 512)")
    parser.add_argument("--max-per-class", type=int, help="fragments per class and split at most (default: all the balance allows)")
    parser.add_argument("--val-fraction", type=float, required=True)
    parser.add_argument("--test-fraction", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    from genolm.studies.enbed.annotation import write_annotation_dataset

    write_annotation_dataset(args.gtf, args.assembly, args.out, args.qc, classes=tuple(args.classes),
                             min_length=args.min_length, max_length=args.max_length, max_per_class=args.max_per_class,
                             val_fraction=args.val_fraction, test_fraction=args.test_fraction, seed=args.seed)
    return 0
