"""`genolm select-cell-lines`: the study's cell lines, their splits and their anchor mutations."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import polars as pl

from genolm.sources.mutations import write_parquet
from genolm.sources.tables import read_parquet_table
from genolm.studies.cancer_type.selection import hold_out_chromosomes, select_cell_lines, split_sizes
from genolm.errors import GenolmInputError
from genolm.commands._common import split_fraction
from genolm.qc import QCCounts

HELP = "select cell lines of the given lineages above the median mutation burden, split them and draw anchors"

log = logging.getLogger(__name__)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mutations", required=True, type=Path, help="mutations parquet from prepare-mutations")
    parser.add_argument("--samples", required=True, type=Path, help="samples parquet from prepare-mutations")
    # Defaults live in the config schema (studies.cancer_type), which the workflow passes in full.
    parser.add_argument("--lineages", nargs="+", required=True,
                        help="OncotreeLineage values, one per class, in label order, e.g. Lung Lymphoid")
    parser.add_argument("--split", nargs="+", type=split_fraction, metavar="NAME=FRACTION", required=True,
                        help="split fractions, e.g. train=0.7 val=0.1 test=0.2")
    parser.add_argument("--seed", type=int, required=True, help="seed of the split and anchor draws")
    parser.add_argument("--max-anchors-per-cell-line", type=_positive_int, help="cap on the anchors drawn per cell line")
    parser.add_argument("--no-class-balance", dest="balance_classes", action="store_false",
                        help="keep every cell line above the median instead of the same number per lineage")
    parser.add_argument("--hold-out-chromosomes", nargs="+", metavar="SPLIT=CHR,CHR", default=[],
                        help="the chromosome-held-out control: each named split keeps only its anchors on these "
                             "chromosomes, every other split only those on none of them (e.g. test=chr4,chr19)")
    parser.add_argument("--out-cell-lines", required=True, type=Path, help="cell lines parquet")
    parser.add_argument("--out-anchors", required=True, type=Path, help="anchors parquet")
    parser.add_argument("--qc", required=True, type=Path, help="QC table (TSV)")


def _read(path: Path, columns: list[str]) -> pl.DataFrame:
    return read_parquet_table(path, columns, "not the table `genolm prepare-mutations` writes for this argument")


def run(args: argparse.Namespace) -> None:
    fractions = dict(args.split)
    try:
        split_sizes(0, fractions)
    except ValueError as error:
        raise GenolmInputError("--split", f"{error}: give fractions that sum to 1") from None
    qc = QCCounts("select_cell_lines")
    cell_lines, anchors = select_cell_lines(
        _read(args.mutations, ["sample", "chrom", "pos", "ref", "alt"]), _read(args.samples, ["sample", "lineage"]),
        lineages=args.lineages, split_fractions=fractions,
        seed=args.seed, max_anchors_per_cell_line=args.max_anchors_per_cell_line,
        balance_classes=args.balance_classes, qc=qc,
    )
    if args.hold_out_chromosomes:
        held_out = {}
        for entry in args.hold_out_chromosomes:
            split, sep, chromosomes = entry.partition("=")
            if not sep or not split or not chromosomes:
                raise GenolmInputError("--hold-out-chromosomes", f"expected SPLIT=CHR[,CHR...], got {entry!r}")
            held_out[split] = chromosomes.split(",")
        anchors = hold_out_chromosomes(anchors, held_out, qc)
    write_parquet(cell_lines, args.out_cell_lines)
    write_parquet(anchors, args.out_anchors)
    qc.write(args.qc)
    log.info("selected %d cell lines, %d anchors", cell_lines.height, anchors.height)
