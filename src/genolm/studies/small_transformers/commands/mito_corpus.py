"""`genolm mito-corpus`: the mitochondrial pretraining corpus, a random genome subset split by genome."""

from __future__ import annotations

import json
from pathlib import Path

HELP = ("mitochondrial genomes (FASTA, e.g. NCBI organelle mitochondrion.N.1.genomic.fna.gz) -> windows split by "
        "genome into train/val/test shards")


def add_arguments(parser) -> None:
    parser.add_argument("--fasta", type=Path, nargs="*", default=[], help="genome FASTA files (plain or gzip)")
    parser.add_argument("--listed-manifest", type=Path,
                        help="files.tsv of `genolm download-listed`: its FASTA files (.fna/.fa/.fasta[.gz]) are read")
    parser.add_argument("--window", type=int, required=True, help="window length in bases")
    parser.add_argument("--stride", type=int, help="distance between window starts (default: --window)")
    parser.add_argument("--max-genomes", type=int, help="random subset of genomes (thesis: 2,000 / 3,000 / 4,000)")
    parser.add_argument("--min-length", type=int, default=1, help="genomes shorter than this are skipped (counted)")
    parser.add_argument("--test-fraction", type=float, required=True)
    parser.add_argument("--val-fraction", type=float, required=True, help="fraction of the non-test genomes")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="shard directory")
    parser.add_argument("--qc", type=Path, required=True)
    parser.add_argument("--provenance-json", help="JSON object added to the provenance")


def run(args) -> int:
    from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter, build_provenance
    from genolm.errors import GenolmInputError
    from genolm.qc import QCCounts
    from genolm.studies.small_transformers.corpus import mito_corpus, read_genomes

    paths = list(args.fasta)
    if args.listed_manifest:
        from genolm.sources.release import read_manifest

        paths += [Path(p) for p in read_manifest(args.listed_manifest)["path"]
                  if any(Path(p).name.endswith(s) for s in (".fna.gz", ".fa.gz", ".fasta.gz", ".fna", ".fa", ".fasta"))]
    if not paths:
        raise GenolmInputError(args.listed_manifest or "--fasta", "no genome FASTA file given")
    stride = args.stride or args.window
    if args.window < 1 or stride < 1:
        raise GenolmInputError("--window/--stride", "must be positive")
    qc = QCCounts("mito_corpus")
    genomes = read_genomes(paths, qc, min_length=args.min_length)
    table = mito_corpus(genomes, window=args.window, stride=stride, max_genomes=args.max_genomes,
                        test_fraction=args.test_fraction, val_fraction=args.val_fraction, seed=args.seed, qc=qc)
    provenance = build_provenance(inputs={p.name: p for p in paths},
                                  fields={"seed": args.seed, "window": args.window, "stride": stride},
                                  extra=json.loads(args.provenance_json) if args.provenance_json else None)
    with ShardWriter(args.out, dataset="mito_corpus", provenance=provenance, length=args.window, seed=args.seed,
                     schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(args.qc)
    return 0
