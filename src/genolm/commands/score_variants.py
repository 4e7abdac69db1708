"""`genolm score-variants`: the zero-shot log-likelihood ratio of every variant allele under a language model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.mutations import FORMATS, write_parquet

HELP = ("score every variant allele (VCF, MAF, DepMap CSV, parquet) with a language model: log-likelihood ratio of "
        "ALT against REF, strands averaged; unscorable variants counted in a QC table")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path,
                        help="model directory (genolm's, a released HyenaDNA or DNABERT directory)")
    parser.add_argument("--reference", required=True, type=Path, help="reference FASTA (indexed, BGZF, or plain gzip: then indexed into a temporary copy)")
    parser.add_argument("--variants", required=True, type=Path, help="VCF (sites-only or not), MAF, DepMap CSV or parquet")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="format of --variants (default: auto)")
    parser.add_argument("--out", required=True, type=Path, help="scores parquet, one row per variant allele")
    parser.add_argument("--qc", required=True, type=Path, help="QC table (TSV): variants not scored, by reason")
    parser.add_argument("--window", type=int, default=None,
                        help="window in bases around each variant (default: the model's context; required for "
                             "models without a fixed context such as ENBED)")
    parser.add_argument("--strands", choices=("both", "forward"), default="both",
                        help="average the forward and reverse-complement scores (default: both)")
    parser.add_argument("--max-allele-length", type=int, default=50,
                        help="longest REF or ALT allele scored, in bases (default: 50)")
    parser.add_argument("--batch-size", type=int, default=16, help="variants per forward pass (default: 16)")


def run(args: argparse.Namespace) -> None:
    from genolm.inference.loading import default_device, load_model
    from genolm.inference.variants import score_variants
    from genolm.sources.reference import open_reference

    if args.batch_size < 1 or args.max_allele_length < 1:
        raise GenolmInputError("--batch-size/--max-allele-length", "must be positive")
    model, tokenizer = load_model(args.model)
    qc = QCCounts("score_variants")
    device = default_device()
    # A plain-gzip FASTA (as UCSC serves it) is prepared into an indexed copy for the run, then removed.
    with open_reference(args.reference, "all", args.out.parent) as reference:
        table = score_variants(model, tokenizer, args.variants, reference, format=args.format, window=args.window,
                               strands=args.strands, max_allele_length=args.max_allele_length,
                               batch_size=args.batch_size, device=device, qc=qc)
    write_parquet(table, args.out)
    qc.write(args.qc)
    log.info("scored %d variant alleles on %s; %d not scored (see %s)", table.height, device,
             qc.total("rows_read") - table.height, args.qc)
