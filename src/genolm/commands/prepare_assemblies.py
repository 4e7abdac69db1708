"""`genolm prepare-assemblies`: downloaded assemblies -> BGZF FASTA per assembly + assemblies.parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.sources.refseq import prepare_assemblies

HELP = "normalize downloaded assemblies (indexed BGZF FASTA each) and write their table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--downloads", required=True, type=Path, help="files.tsv of `genolm download-assemblies`")
    parser.add_argument("--out-dir", required=True, type=Path, help="where <accession>.fa.gz (+ indexes) go")
    parser.add_argument("--table", required=True, type=Path, help="assemblies.parquet")
    parser.add_argument("--qc", type=Path)


def run(args: argparse.Namespace) -> None:
    qc = prepare_assemblies(args.downloads, args.out_dir, args.table)
    if args.qc:
        qc.write(args.qc)
