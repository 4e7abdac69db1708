"""`genolm prepare-reference`: an indexed FASTA (BGZF when named *.gz) with canonical chromosome names."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.sources.reference import prepare_reference

HELP = "rewrite a reference FASTA (plain/gzip/bgzip, any naming) as an indexed, uppercase FASTA with UCSC names"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, type=Path, help="reference FASTA, plain, gzip or bgzip")
    parser.add_argument("--out", required=True, type=Path, help="output FASTA, BGZF when it ends in .gz (its .fai, .gzi and .aliases.tsv go beside it)")
    parser.add_argument("--chromosomes", default="all",
                        help="'all', 'autosomes' or comma-separated names in any convention (default: all)")
    parser.add_argument("--qc", type=Path, help="QC table (TSV) of the sequences kept and left out")
    parser.add_argument("--assembly-report", type=Path,
                        help="NCBI *_assembly_report.txt: name sequences by its UCSC-style-name column (scaffolds too)")


def run(args: argparse.Namespace) -> None:
    renames = None
    if args.assembly_report:
        from genolm.sources.refseq import read_assembly_report, report_renames

        renames = report_renames(read_assembly_report(args.assembly_report))
    qc = prepare_reference(args.source, args.out, chromosomes=args.chromosomes, renames=renames)
    if args.qc:
        qc.write(args.qc)
    log.info("wrote %s (%d sequences, %d left out)", args.out, qc.total("chromosome_kept"),
             qc.total("chromosome_not_selected"))
