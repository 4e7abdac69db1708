"""`genolm prepare-mutations`: one validated, VCF-style mutation table and the sample annotations."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError
from genolm.sources.mutations import (
    FORMATS,
    MUTATION_DROP_REASONS,
    MUTATION_RECORD_REASONS,
    attach_mutation_counts,
    read_mutations,
    read_samples,
    validate_against_reference,
    write_parquet,
)
from genolm.sources.reference import ReferenceGenome
from genolm.qc import QCCounts

HELP = "read somatic mutations (DepMap CSV, VCF, MAF), check them against the reference and write parquet tables"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mutations", required=True, type=Path, help="mutation file")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="format of --mutations (default: auto)")
    parser.add_argument("--samples", required=True, type=Path, help="DepMap Model.csv (ModelID, OncotreeLineage, ...)")
    parser.add_argument("--reference", required=True, type=Path, help="FASTA written by `genolm prepare-reference`")
    parser.add_argument("--chromosomes", default="autosomes",
                        help="'all', 'autosomes' or comma-separated names (default: autosomes)")
    parser.add_argument("--max-ref-mismatch-fraction", type=float, default=0.01,
                        help="fail when more REF alleles than this disagree with the reference (default: 0.01)")
    parser.add_argument("--out-mutations", required=True, type=Path, help="mutations parquet")
    parser.add_argument("--out-samples", required=True, type=Path, help="samples parquet (with n_mutations)")
    parser.add_argument("--qc", required=True, type=Path, help="QC table (TSV)")


def run(args: argparse.Namespace) -> None:
    if not 0.0 <= args.max_ref_mismatch_fraction <= 1.0:
        raise GenolmInputError("--max-ref-mismatch-fraction", f"must be between 0 and 1, got {args.max_ref_mismatch_fraction}")
    qc = QCCounts("prepare_mutations")
    reference = ReferenceGenome(args.reference)
    mutations = read_mutations(args.mutations, args.format, qc=qc)
    samples = read_samples(args.samples, qc=qc)
    mutations = validate_against_reference(
        mutations, reference, source=args.mutations, chromosomes=args.chromosomes,
        max_ref_mismatch_fraction=args.max_ref_mismatch_fraction, qc=qc,
    )
    mutations, samples = attach_mutation_counts(mutations, samples, qc=qc)
    qc.add("mutations_kept", mutations.height)  # after the last filter, so the table adds up
    qc.require_balance(("rows_read", "mutations_kept", MUTATION_DROP_REASONS + ("sample_not_annotated",)),
                       informational=MUTATION_RECORD_REASONS + ("sample_value_whitespace_trimmed",))
    if mutations.height == 0:
        counted = ", ".join(f"{r} {n}" for r, n in qc.to_frame().group_by("reason").agg(pl.col("count").sum())
                            .sort("reason").iter_rows() if n)
        raise GenolmInputError(args.mutations, f"no mutation passed the checks (QC counts: {counted or 'none'}): "
                                               "check --chromosomes and that the samples table names these samples")
    write_parquet(mutations, args.out_mutations)
    write_parquet(samples, args.out_samples)
    qc.write(args.qc)
    log.info("wrote %d mutations of %d samples to %s", mutations.height,
             samples.filter(samples["n_mutations"] > 0).height, args.out_mutations)
