"""`genolm virbert-examples`: pretraining pieces, or fine-tuning + evaluation fragments, of the split genomes, as shards."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "sample the virBERT examples (pretraining pieces, or fine-tuning / evaluation fragments) into shards"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genomes", type=Path, required=True, help="genome table of virbert-genomes")
    parser.add_argument("--kind", choices=("pretraining", "finetune"), required=True)
    parser.add_argument("--splits", nargs="+", required=True, help="splits to sample (pretraining: train [val])")
    parser.add_argument("--length", type=int, help="finetune: fragment length (nt)")
    parser.add_argument("--low", type=int, help="pretraining: shortest piece")
    parser.add_argument("--high", type=int, help="pretraining: longest piece")
    parser.add_argument("--full-fraction", type=float, help="pretraining: share of pieces forced to --high")
    parser.add_argument("--sampled-ratio", type=float, help="pretraining: random subsequences per cut")
    parser.add_argument("--cap", type=int, help="finetune: fragments per record at most")
    parser.add_argument("--max-repeats", type=int, help="finetune: rounds of tiles a short record may give")
    parser.add_argument("--per-genome", type=int, help="evaluation: fragments per record")
    parser.add_argument("--no-balance", dest="balance", action="store_false", help="finetune: keep the class imbalance")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="shard directory")
    parser.add_argument("--qc", type=Path, required=True)


def run(args: argparse.Namespace) -> None:
    import polars as pl

    from genolm.datasets.shards import build_provenance
    from genolm.errors import GenolmInputError
    from genolm.qc import QCCounts
    from genolm.studies.virbert.samplers import write_examples

    # No defaults here: the workflow passes the config's values (defaults live in the study's schema).
    need = (("low", "high", "full_fraction", "sampled_ratio") if args.kind == "pretraining"
            else ("length", "cap", "max_repeats", "per_genome"))
    missing = [f"--{n.replace('_', '-')}" for n in need if getattr(args, n) is None]
    if missing:
        raise GenolmInputError("--kind", f"--kind {args.kind} needs {' '.join(missing)}: pass them")
    if args.kind == "pretraining" and not 1 <= args.low <= args.high:
        raise GenolmInputError("--low/--high", "need 1 <= --low <= --high")
    try:
        genomes = pl.read_parquet(args.genomes)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise GenolmInputError(args.genomes, f"cannot read as parquet ({error})") from None
    missing = [c for c in ("genome_id", "label", "split", "sequence") if c not in genomes.columns]
    if missing:
        raise GenolmInputError(args.genomes, f"not a virbert genome table: no column(s) {', '.join(missing)}")
    fields = {k: v for k, v in vars(args).items() if k not in ("genomes", "out", "qc", "func", "command")}
    provenance = build_provenance(inputs={"genomes": args.genomes}, fields={k: str(v) for k, v in fields.items()})
    qc = QCCounts(f"virbert_examples_{args.kind}")
    settings = {n: getattr(args, n) for n in need + (("balance",) if args.kind == "finetune" else ())}
    write_examples(genomes, args.out, kind=args.kind, seed=args.seed, provenance=provenance, qc=qc,
                   splits=tuple(args.splits), **settings)
    qc.write(args.qc)
