"""`genolm reference-windows`: unmutated reference windows (pretraining, embeddings) as Parquet shards."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from genolm.commands._shard_output import add_shard_output_arguments, parse_provenance
from genolm.sources.reference import open_reference
from genolm.sources.chromosomes import select_chromosomes
from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import ShardWriter, build_provenance
from genolm.datasets.windows import reference_windows
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

HELP = "cut unmutated windows from the reference into Parquet shards, split by chromosome"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", required=True, type=Path, help="reference FASTA (indexed, bgzip or plain gzip)")
    parser.add_argument("--chromosomes", default="autosomes",
                        help="'all', 'autosomes' or comma-separated names (default: autosomes)")
    parser.add_argument("--length", required=True, type=int, help="window length in bases")
    parser.add_argument("--stride", type=int, help="distance between window starts (default: --length)")
    parser.add_argument("--max-windows", type=int, help="keep a random subset of at most this many windows")
    parser.add_argument("--max-n-fraction", type=float, default=0.5,
                        help="skip windows with a larger fraction of N bases (default: 0.5)")
    parser.add_argument("--seed", required=True, type=int, help="seed of the --max-windows subset")
    parser.add_argument("--split-by-chromosome", nargs="*", default=[], metavar="SPLIT=CHROM[,CHROM]",
                        help="put these chromosomes' windows in SPLIT, e.g. val=chr22 test=chr21")
    parser.add_argument("--default-split", default="train", help="split of the other chromosomes (default: train)")
    add_shard_output_arguments(parser)


def parse_split_chromosomes(specs: list[str], reference: ReferenceGenome, chromosomes: list[str]) -> dict[str, str]:
    """`["val=chr22", "test=chr20,chr21"]` -> {"chr22": "val", "chr20": "test", "chr21": "test"}."""
    splits: dict[str, str] = {}
    for spec in specs:
        split, _, names = spec.partition("=")
        if not split or not names:
            raise GenolmInputError("--split-by-chromosome", f"expected SPLIT=CHROM[,CHROM], got {spec!r}")
        for name in names.split(","):
            chrom = reference.canonical(name.strip())
            if chrom not in chromosomes:
                raise GenolmInputError("--split-by-chromosome", f"chromosome {name!r} is not among the selected "
                                                                f"chromosomes ({', '.join(chromosomes)})")
            if splits.get(chrom, split) != split:
                raise GenolmInputError("--split-by-chromosome",
                                       f"{chrom} is in two splits: {splits[chrom]} and {split}")
            splits[chrom] = split
    return splits


def run(args: argparse.Namespace) -> None:
    if args.length < 1 or (args.stride is not None and args.stride < 1):
        raise GenolmInputError("--length/--stride", "must be positive numbers of bases")
    if not 0.0 <= args.max_n_fraction <= 1.0:
        raise GenolmInputError("--max-n-fraction", f"must be between 0 and 1, got {args.max_n_fraction}")
    qc = QCCounts("reference_windows")
    extra = parse_provenance(args.provenance_json)
    with open_reference(args.reference, args.chromosomes, args.out.parent) as reference:
        chromosomes = select_chromosomes(list(reference.lengths), args.chromosomes, source=reference.path)
        splits = parse_split_chromosomes(args.split_by_chromosome, reference, chromosomes)
        provenance = build_provenance(
            inputs={"reference_fai": Path(f"{reference.path}.fai")},
            fields={"seed": args.seed, "length": args.length, "stride": args.stride or args.length,
                    "chromosomes": chromosomes, "splits": splits, "max_windows": args.max_windows},
            extra=extra,
        )
        with ShardWriter(args.out, dataset=args.dataset or args.out.name, provenance=provenance,
                         rows_per_shard=args.rows_per_shard, length=args.length, seed=args.seed,
                         allow_empty=args.allow_empty) as writer, \
                tqdm(unit="window", desc="windows", disable=None) as progress:
            for batch in reference_windows(reference, chromosomes=chromosomes, length=args.length, stride=args.stride,
                                           max_windows=args.max_windows, seed=args.seed,
                                           max_n_fraction=args.max_n_fraction, qc=qc, splits=splits,
                                           default_split=args.default_split):
                writer.write(batch)
                progress.update(batch.num_rows)
            # Candidate windows become windows unless not sampled or too N-rich; the per-chromosome count of
            # chromosomes shorter than a window counts chromosomes, not windows.
            qc.require_balance(("candidate_windows", "windows", ("not_sampled", "too_many_n")),
                               informational=("chromosome_shorter_than_window",))
            writer.add_qc(qc)
    if args.qc:
        qc.write(args.qc)
    log.info("wrote %d reference windows to %s", qc.get("windows"), args.out)
