"""`genolm tss-dataset`: EPDnew promoters of one organism + its assembly -> TSS-localization shards."""

from __future__ import annotations

import json
from pathlib import Path

from genolm.commands._common import split_fraction

HELP = ("EPDnew BED + the organism's prepared assembly -> strand-aware windows around each TSS, cut to a random "
        "number of upstream k-mer words and the downstream bases (TSS-localization shards)")


def add_arguments(parser) -> None:
    parser.add_argument("--bed", type=Path, required=True, help="EPDnew BED (BED6+2, thickStart..thickEnd = the TSS)")
    parser.add_argument("--assembly", type=Path, required=True, help="the organism's genome (genolm prepare-reference)")
    parser.add_argument("--organism", required=True, help="name written to the provenance and the QC table")
    parser.add_argument("--upstream", type=int, required=True, help="bases before the TSS in the window (thesis 4999)")
    parser.add_argument("--downstream", type=int, required=True, help="bases after the TSS (thesis 5000)")
    parser.add_argument("--max-upstream-words", type=int, required=True,
                        help="upstream words kept before the TSS are drawn from 0..this (thesis: 0..200 tokens)")
    parser.add_argument("--word", type=int, required=True, help="bases per upstream word (the BPE's k-mer length)")
    parser.add_argument("--split", type=split_fraction, nargs="+", metavar="NAME=FRACTION",
                        help="split the promoters (the training organism); without it every example is in `all`")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="shard directory")
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    from genolm.datasets.shards import WINDOW_SCHEMA, ShardWriter, build_provenance
    from genolm.errors import GenolmInputError
    from genolm.qc import QCCounts
    from genolm.sources.epd import read_epd_bed
    from genolm.sources.reference import ReferenceGenome
    from genolm.studies.small_transformers.tss import GenomeView, tss_table

    for name in ("upstream", "downstream", "max_upstream_words"):
        if getattr(args, name) < 0:
            raise GenolmInputError(f"--{name.replace('_', '-')}", "must be >= 0")
    if args.word < 1:
        raise GenolmInputError("--word", "must be >= 1")
    split = dict(args.split) if args.split else None
    if split is not None and ("train" not in split or any(v < 0 for v in split.values()) or sum(split.values()) <= 0):
        raise GenolmInputError("--split", f"need a train split and non-negative fractions, got {split}")
    qc = QCCounts("tss_dataset")
    promoters = read_epd_bed(args.bed)
    table = tss_table(GenomeView(ReferenceGenome(args.assembly)), promoters, upstream=args.upstream,
                      downstream=args.downstream, max_upstream_words=args.max_upstream_words, word=args.word,
                      split=split, seed=args.seed, qc=qc)
    if not len(table):
        raise GenolmInputError(args.bed, f"no promoter of {args.organism} has its window in {args.assembly} "
                                         f"(see the QC counts: {qc.to_frame().to_dicts()})")
    provenance = build_provenance(inputs={"bed": args.bed, "assembly": args.assembly},
                                  fields={"organism": args.organism, "seed": args.seed, "upstream": args.upstream,
                                          "downstream": args.downstream, "word": args.word,
                                          "max_upstream_words": args.max_upstream_words, "split": split})
    with ShardWriter(args.out, dataset=f"tss_{args.organism}", provenance=provenance, seed=args.seed,
                     schema=WINDOW_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(args.qc)
    print(json.dumps({"organism": args.organism, "examples": len(table)}))
    return 0
