"""`genolm mutate-windows`: windows around anchor mutations with each cell line's mutations applied."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import polars as pl
from tqdm import tqdm

from genolm.commands._shard_output import add_shard_output_arguments, parse_provenance
from genolm.sources.mutations import (
    FORMATS,
    MUTATION_DROP_REASONS,
    MUTATION_RECORD_REASONS,
    read_mutations,
    read_samples,
    validate_against_reference,
)
from genolm.sources.reference import open_reference
from genolm.datasets.shards import ShardWriter, build_provenance
from genolm.datasets.windows import ANCHOR_COLUMNS, ANCHOR_DROP_REASONS, WINDOW_INFO_REASONS, materialize_windows
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

HELP = "materialize mutated windows around anchor mutations into Parquet shards"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", required=True, type=Path, help="reference FASTA (indexed, bgzip or plain gzip)")
    parser.add_argument("--mutations", required=True, type=Path, help="mutation file")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="format of --mutations (default: auto)")
    parser.add_argument("--samples", type=Path,
                        help="DepMap Model.csv: without --anchors, label = index of the lineage in sorted order")
    parser.add_argument("--anchors", type=Path,
                        help="anchors parquet (sample, label, split, chrom, pos, ref, alt, anchor_id); "
                             "default: every valid mutation is an anchor, split 'all'")
    parser.add_argument("--chromosomes", default="autosomes",
                        help="'all', 'autosomes' or comma-separated names (default: autosomes)")
    parser.add_argument("--max-ref-mismatch-fraction", type=float, default=0.01,
                        help="fail when more REF alleles than this disagree with the reference (default: 0.01)")
    parser.add_argument("--length", required=True, type=int, help="window length in bases")
    parser.add_argument("--seed", required=True, type=int, help="seed of the window offsets")
    parser.add_argument("--reference-only", action="store_true",
                        help="a control: the same windows with the reference's bases, none of the mutations applied")
    add_shard_output_arguments(parser)


def all_mutations_as_anchors(mutations: pl.DataFrame, samples: pl.DataFrame | None, qc: QCCounts) -> pl.DataFrame:
    """Every mutation is an anchor; its label is the index of its sample's lineage in sorted lineage order."""
    anchors = mutations.with_row_index("anchor_id").with_columns(
        pl.col("anchor_id").cast(pl.Int64), pl.lit("all").alias("split")
    )
    if samples is None:
        anchors = anchors.with_columns(pl.lit(None, dtype=pl.Int64).alias("label"))
    else:
        lineages = sorted(samples["lineage"].drop_nulls().unique().to_list())
        labels = samples.select(
            "sample",
            pl.col("lineage").replace_strict({name: i for i, name in enumerate(lineages)}, default=None,
                                             return_dtype=pl.Int64).alias("label"),
        )
        anchors = anchors.join(labels, on="sample", how="left", maintain_order="left")
        qc.add("anchor_without_lineage", int(anchors["label"].null_count()))
    return anchors.select(ANCHOR_COLUMNS)


def read_anchors(path: Path) -> pl.DataFrame:
    try:
        anchors = pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError) as error:
        raise GenolmInputError(path, f"cannot read anchors parquet ({error})") from None
    missing = [c for c in ANCHOR_COLUMNS if c not in anchors.columns]
    if missing:
        raise GenolmInputError(path, f"anchors table lacks columns {missing}")
    return anchors


def run(args: argparse.Namespace) -> None:
    if args.length < 1:
        raise GenolmInputError("--length", f"must be a positive number of bases, got {args.length}")
    qc = QCCounts("mutate_windows")
    extra = parse_provenance(args.provenance_json)
    with open_reference(args.reference, args.chromosomes, args.out.parent) as reference:
        mutations = read_mutations(args.mutations, args.format, qc=qc)
        mutations = validate_against_reference(
            mutations, reference, source=args.mutations, chromosomes=args.chromosomes,
            max_ref_mismatch_fraction=args.max_ref_mismatch_fraction, qc=qc,
        )
        qc.add("mutations_kept", mutations.height)
        if args.anchors:
            anchors = read_anchors(args.anchors)
        else:
            samples = read_samples(args.samples, qc=qc) if args.samples else None
            anchors = all_mutations_as_anchors(mutations, samples, qc)
        inputs = {"reference_fai": Path(f"{reference.path}.fai"), "mutations": args.mutations}
        if args.anchors:
            inputs["anchors"] = args.anchors
        provenance = build_provenance(inputs=inputs, fields={"seed": args.seed, "length": args.length,
                                                                         "reference_only": args.reference_only}, extra=extra)
        log.info("materializing windows of %d bases for %d anchors", args.length, anchors.height)
        with ShardWriter(args.out, dataset=args.dataset or args.out.name, provenance=provenance,
                         rows_per_shard=args.rows_per_shard, length=args.length, seed=args.seed,
                         allow_empty=args.allow_empty) as writer, \
                tqdm(total=anchors.height, unit="anchor", desc="windows", disable=None) as progress:
            for batch in materialize_windows(reference, mutations, anchors, length=args.length, seed=args.seed, qc=qc,
                                             reference_only=args.reference_only):
                writer.write(batch)
                progress.update(batch.num_rows)
            qc.require_balance(("rows_read", "mutations_kept", MUTATION_DROP_REASONS),
                               ("anchors", "windows", ANCHOR_DROP_REASONS),
                               informational=WINDOW_INFO_REASONS + MUTATION_RECORD_REASONS
                               + ("anchor_without_lineage", "sample_value_whitespace_trimmed"))
            writer.add_qc(qc)
    if args.qc:
        qc.write(args.qc)
    log.info("wrote %d windows to %s (%d anchors skipped, see QC)", qc.get("windows"), args.out,
             anchors.height - qc.get("windows"))
