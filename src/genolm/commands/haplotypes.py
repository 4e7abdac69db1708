"""`genolm haplotypes`: phased samples' haplotype sequences (the reference with each haplotype's alleles applied,
as `bcftools consensus -H 1|2`), one gzip FASTA per haplotype (`<sample>_h1.fa.gz`: a genome each, as a corpus
reads genomes), for pretraining corpora with population variation (genolm.datasets.haplotypes)."""

from __future__ import annotations

import argparse
import gzip
import logging
from pathlib import Path

from tqdm import tqdm

from contextlib import ExitStack

from genolm.atomic import atomic_directory
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

HELP = "phased samples' haplotypes of chosen chromosomes (reference + a VCF's phased alleles), a gzip FASTA each"

log = logging.getLogger(__name__)
LINE = 80


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vcf", nargs="+", required=True, type=Path,
                        help="phased VCF/BCF files (e.g. the 1000 Genomes Project's, one per chromosome)")
    parser.add_argument("--reference", required=True, type=Path,
                        help="the reference the VCFs are called against (indexed)")
    parser.add_argument("--chromosomes", nargs="+", required=True, help="chromosomes to build, in any naming")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--samples", nargs="+", help="sample names (their order in the VCF is kept)")
    group.add_argument("--max-samples", type=int, help="draw this many of the first VCF's samples with --seed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --max-samples draw (default: 0)")
    parser.add_argument("--out", required=True, type=Path,
                        help="directory of <sample>_h<1|2>.fa.gz, records named after the chromosomes")
    parser.add_argument("--qc", required=True, type=Path, help="QC table (TSV): per-call reasons that add up")


def run(args: argparse.Namespace) -> None:
    from genolm.datasets.haplotypes import choose_samples, haplotype_sequences
    from genolm.sources.reference import ReferenceGenome

    if args.max_samples is not None and args.max_samples < 1:
        raise GenolmInputError("--max-samples", f"must be positive, got {args.max_samples}")
    samples = choose_samples(args.vcf[0], samples=args.samples, max_samples=args.max_samples, seed=args.seed)
    reference = ReferenceGenome(args.reference)
    qc = QCCounts("haplotypes")
    records = 0
    with atomic_directory(args.out) as tmp, ExitStack() as files:
        handles = {}
        for title, sequence in tqdm(haplotype_sequences(args.vcf, reference, samples=samples,
                                                        chromosomes=args.chromosomes, qc=qc),
                                    unit="haplotype", desc="haplotypes", disable=None):
            haplotype, chromosome = title.split(" ")
            if haplotype not in handles:
                handles[haplotype] = files.enter_context(gzip.open(tmp / f"{haplotype}.fa.gz", "wt", compresslevel=6))
            fasta = handles[haplotype]
            fasta.write(f">{chromosome} {haplotype}\n")
            for start in range(0, len(sequence), LINE):
                fasta.write(sequence[start : start + LINE] + "\n")
            records += 1
        files.close()
        qc.require_balance(("calls", "applied", ("reference_allele", "missing_allele", "unphased_heterozygous",
                                                 "symbolic_alt", "ref_mismatch", "overlap_skipped")))
    qc.add("records_written", records)
    qc.write(args.qc)
    log.info("wrote %d chromosomes of %d haplotypes (%d samples) to %s (%d calls applied)", records, len(handles),
             len(samples), args.out, qc.get("applied"))
