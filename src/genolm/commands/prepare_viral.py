"""`genolm prepare-viral`: viral genomes and their phage / other-virus labels."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.sources.release import read_manifest
from genolm.sources.viral import prepare_viral

HELP = "normalize viral genomes (RefSeq viral FASTA + GenBank) and label them phage or not from Virus-Host DB"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, help="files.tsv of `genolm download-listed` (.fna and .gbff files)")
    parser.add_argument("--fasta", type=Path, nargs="*", default=[], help="further genome FASTA (plain or gzip)")
    parser.add_argument("--gbff", type=Path, nargs="*", default=[], help="further GenBank files (taxon of each record)")
    parser.add_argument("--virushostdb", type=Path, help="virushostdb.tsv")
    parser.add_argument("--out-genomes", required=True, type=Path, help="genomes.parquet")
    parser.add_argument("--out-labels", required=True, type=Path, help="labels.parquet")
    parser.add_argument("--qc", type=Path)


def run(args: argparse.Namespace) -> None:
    fasta, gbff = list(args.fasta), list(args.gbff)
    if args.manifest:
        for path in map(Path, read_manifest(args.manifest)["path"]):
            (gbff if ".gbff" in path.name else fasta).append(path)
    qc = prepare_viral(fasta, gbff, args.virushostdb, args.out_genomes, args.out_labels)
    if args.qc:
        qc.write(args.qc)
