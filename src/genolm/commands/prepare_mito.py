"""`genolm prepare-mito`: the 12S rRNA gene of every annotated mitochondrial genome -> 12s.parquet."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.commands._archives import add_zip_limit_arguments, zip_limits
from genolm.errors import GenolmInputError
from genolm.sources.mito import extract_12s
from genolm.sources.release import read_manifest

HELP = "extract the 12S rRNA gene (with species and lineage) from NCBI organelle GenBank files and MitoFish zips"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ncbi-manifest", type=Path,
                        help="files.tsv of `genolm download-listed` for the organelle release (its .gbff files are read)")
    parser.add_argument("--gbff", type=Path, nargs="*", default=[], help="further GenBank files")
    parser.add_argument("--mitofish-genomes", type=Path, nargs="*", default=[],
                        help="complete_partial_mitogenomes.zip / mitogenomes.zip")
    parser.add_argument("--mitofish-annotations", type=Path, nargs="*", default=[], help="mitoannotations.zip")
    parser.add_argument("--out", required=True, type=Path, help="12s.parquet")
    parser.add_argument("--qc", type=Path)
    add_zip_limit_arguments(parser)


def run(args: argparse.Namespace) -> None:
    gbff = list(args.gbff)
    if args.ncbi_manifest:
        gbff += [Path(p) for p in read_manifest(args.ncbi_manifest)["path"] if ".gbff" in Path(p).name]
    if not gbff and not args.mitofish_genomes and not args.mitofish_annotations:
        raise GenolmInputError("prepare-mito", "no input: give --ncbi-manifest, --gbff or the MitoFish zips")
    qc = extract_12s(gbff, args.mitofish_genomes, args.mitofish_annotations, args.out, zip_limits=zip_limits(args))
    if not qc.total("12s_extracted"):
        # An empty table is a wrong input, not a result (the output is not kept: the stage fails as a whole).
        raise GenolmInputError(args.out, "no 12S gene found in any record: check the inputs (the QC counts say "
                                         "why each record has none)")
    if args.qc:
        qc.write(args.qc)
    without = qc.to_frame().filter(qc.to_frame()["reason"].str.starts_with("no_12s"))["count"].sum()
    log.info("%d 12S sequences; %d records without one (reasons in the QC table)", qc.total("12s_extracted"), without)
