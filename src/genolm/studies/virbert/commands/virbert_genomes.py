"""`genolm virbert-genomes`: the study's labelled genomes, grouped into units and split by unit."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.errors import GenolmInputError
from genolm.atomic import atomic_file
from genolm.commands._common import split_fraction
from genolm.qc import QCCounts

HELP = "label viral genomes phage / other, group them (genome or family) and split 70/20/10 by unit"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--viral-genomes", type=Path, help="genomes.parquet of prepare-viral")
    parser.add_argument("--viral-labels", type=Path, help="labels.parquet of prepare-viral")
    parser.add_argument("--extra", nargs=2, action="append", type=Path, default=[], metavar=("FASTA", "TSV"),
                        help="more genomes: a FASTA and its TSV (accession, genome_id, is_phage[, origin]); repeatable")
    parser.add_argument("--families", type=Path, help="TSV genome_id -> family")
    parser.add_argument("--unit", choices=("genome", "family"), required=True, help="the unit the split is drawn by")
    parser.add_argument("--split", nargs="+", type=split_fraction, required=True, metavar="NAME=FRACTION")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="genome table (parquet) with family and split")
    parser.add_argument("--qc", type=Path, required=True)


def run(args: argparse.Namespace) -> None:
    from genolm.studies.virbert.genomes import build_genome_table

    if (args.viral_genomes is None) != (args.viral_labels is None):
        raise GenolmInputError("--viral-genomes", "--viral-genomes and --viral-labels go together: pass both or neither")
    qc = QCCounts("virbert_genomes")
    table = build_genome_table(
        viral=(args.viral_genomes, args.viral_labels) if args.viral_genomes else None,
        extra=[tuple(pair) for pair in args.extra], families=args.families, split=dict(args.split),
        unit=args.unit, seed=args.seed, qc=qc)
    with atomic_file(args.out) as tmp:
        table.write_parquet(tmp, compression="zstd")
    qc.write(args.qc)
    log.info("%d records of %d genomes in %d families", len(table), table["genome_id"].n_unique(),
             table["family"].n_unique())
