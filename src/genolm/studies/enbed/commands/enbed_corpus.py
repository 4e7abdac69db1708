"""`genolm enbed-corpus`: ENBED's multi-assembly pretraining corpus as byte windows (N removed)."""

from __future__ import annotations

from pathlib import Path

HELP = "join each assembly's records (headers and N removed) and cut byte windows for pretraining"


def add_arguments(parser) -> None:
    parser.add_argument("--genomes", nargs="+", type=Path, required=True,
                        help="assembly FASTA files (plain or gzip), or directories of *.fa.gz / *.fna.gz")
    parser.add_argument("--length", type=int, required=True, help="window length in bytes")
    parser.add_argument("--max-windows", type=int, help="windows drawn per assembly (default: all)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="share of each assembly's windows for validation")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="shard directory")
    parser.add_argument("--qc", type=Path, required=True, help="QC table (TSV)")


def run(args) -> int:
    from genolm.errors import GenolmInputError
    from genolm.studies.enbed.corpus import write_corpus

    genomes = []
    for path in args.genomes:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith((".fa.gz", ".fna.gz", ".fa", ".fna")))
            if not found:
                raise GenolmInputError(path, "no FASTA files (*.fa.gz, *.fna.gz) in the directory")
            genomes.extend(found)
        elif not path.is_file():
            raise GenolmInputError(path, "no such assembly file")
        else:
            genomes.append(path)
    write_corpus(genomes, args.out, args.qc, length=args.length, max_windows=args.max_windows,
                 val_fraction=args.val_fraction, seed=args.seed)
    return 0
