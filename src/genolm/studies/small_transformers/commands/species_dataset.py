"""`genolm species-dataset`: the 12S species task (one record per species + corrupted copies, 81/9/10)."""

from __future__ import annotations

import json
from pathlib import Path

HELP = ("12S genes (resources/mito/12s.parquet, or a '<species>|<id>' marker FASTA) -> one record per species "
        "plus seeded corrupted copies (substitution rate ~ U(low, high)), shuffled into train/val/test shards")


def _split(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    return name, float(value)


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--twelve-s", type=Path, help="12S table of `genolm prepare-mito`")
    source.add_argument("--marker-fasta", type=Path, help="FASTA with '<species>|<record id>' headers")
    parser.add_argument("--copies", type=int, required=True, help="corrupted copies per species (thesis: 31)")
    parser.add_argument("--rate", type=float, nargs=2, required=True, metavar=("LOW", "HIGH"),
                        help="substitution rate range (thesis: 0.005 0.05)")
    parser.add_argument("--split", type=_split, nargs="+", required=True, metavar="NAME=FRACTION")
    parser.add_argument("--marker-bases", type=int, help="keep only the first bases of each record")
    parser.add_argument("--min-length", type=int, default=1, help="records shorter than this are dropped (counted)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="shard directory")
    parser.add_argument("--labels", type=Path, required=True, help="species names in label order (JSON list)")
    parser.add_argument("--details", type=Path, required=True, help="per-example rate and substitutions (Parquet)")
    parser.add_argument("--qc", type=Path, required=True)
    parser.add_argument("--provenance-json", help="JSON object added to the provenance")


def run(args) -> int:
    from genolm.atomic import atomic_file
    from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter, build_provenance
    from genolm.errors import GenolmInputError
    from genolm.qc import QCCounts
    from genolm.studies.small_transformers.corpus import (one_record_per_species, read_marker_fasta, read_twelve_s,
                                                          species_dataset)

    source = args.twelve_s or args.marker_fasta
    low, high = args.rate
    if not 0 <= low <= high <= 1:
        raise GenolmInputError("--rate", f"need 0 <= LOW <= HIGH <= 1, got {low} {high}")
    if args.copies < 0:
        raise GenolmInputError("--copies", "must be >= 0")
    split = dict(args.split)
    if "train" not in split or any(v < 0 for v in split.values()) or sum(split.values()) <= 0:
        raise GenolmInputError("--split", f"need a train split and non-negative fractions, got {split}")
    qc = QCCounts("species_dataset")
    markers = read_twelve_s(source) if args.twelve_s else read_marker_fasta(source)
    markers = one_record_per_species(markers, qc, min_length=args.min_length)
    if len(markers) < 2:
        raise GenolmInputError(source, f"{len(markers)} species left; classification needs at least 2")
    table, species, details = species_dataset(markers, copies=args.copies, rate_range=(low, high), split=split,
                                              marker_bases=args.marker_bases, seed=args.seed, qc=qc)
    provenance = build_provenance(inputs={"markers": source},
                                  fields={"seed": args.seed, "copies": args.copies, "rate": [low, high], "split": split,
                                          "marker_bases": args.marker_bases},
                                  extra=json.loads(args.provenance_json) if args.provenance_json else None)
    with ShardWriter(args.out, dataset="species_12s", provenance=provenance, seed=args.seed,
                     schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    with atomic_file(args.labels) as tmp:
        Path(tmp).write_text(json.dumps(species, indent=1) + "\n")
    with atomic_file(args.details) as tmp:
        details.write_parquet(tmp)
    qc.write(args.qc)
    return 0
