"""`genolm prepare-benchmark`: a Genomic Benchmarks dataset or a Nucleotide Transformer task -> one table."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.commands._archives import add_zip_limit_arguments, zip_limits

HELP = "read a benchmark dataset (Genomic Benchmarks or Nucleotide Transformer task; directory or zip) into Parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=["genomic-benchmarks", "nucleotide-transformer"])
    parser.add_argument("--input", required=True, type=Path,
                        help="the dataset/task directory, or a zip holding it (as its only top-level directory)")
    parser.add_argument("--reference", type=Path,
                        help="indexed reference for Genomic Benchmarks interval tables, when every class names the "
                             "same reference in metadata.yaml (or there is no metadata.yaml)")
    parser.add_argument("--reference-for", action="append", default=[], metavar="FILE=PATH",
                        help="the indexed genome standing for a reference file name of metadata.yaml "
                             "(e.g. Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz=resources/reference/ce/genome.fa.gz)")
    parser.add_argument("--transcripts-for", action="append", default=[], metavar="FILE=PATH",
                        help="a transcript FASTA (read by record id, versions ignored) standing for a reference file "
                             "name of metadata.yaml (e.g. Homo_sapiens.GRCh38.cdna.all.fa.gz=...)")
    parser.add_argument("--out", required=True, type=Path, help="Parquet table")
    parser.add_argument("--qc", type=Path)
    add_zip_limit_arguments(parser)


def run(args: argparse.Namespace) -> None:
    from genolm.atomic import atomic_file, scratch_directory
    from genolm.sources.benchmarks import read_genomic_benchmark, read_nt_task
    from genolm.sources.download import safe_extract_zip
    from genolm.errors import GenolmInputError

    with scratch_directory(args.out.parent, prefix=".benchmark-") as tmp:
        root = args.input
        if root.is_file():
            safe_extract_zip(root, Path(tmp), zip_limits(args))
            tops = [p for p in Path(tmp).iterdir() if p.is_dir()]
            if len(tops) != 1:
                raise GenolmInputError(args.input, f"expected one top-level directory in the zip, found {len(tops)}")
            root = tops[0]
        if args.format == "genomic-benchmarks":
            table, qc = read_genomic_benchmark(root, args.reference,
                                               references=_pairs(args.reference_for, "--reference-for"),
                                               transcripts=_pairs(args.transcripts_for, "--transcripts-for"))
        else:
            table, qc = read_nt_task(root)
    with atomic_file(args.out) as tmp_out:  # the table appears last, once the QC table is written too
        table.write_parquet(tmp_out)
        if args.qc:
            qc.write(args.qc)


def _pairs(values: list[str], option: str) -> dict[str, Path]:
    from genolm.errors import GenolmInputError

    pairs = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise GenolmInputError(option, f"{value!r} is not FILE=PATH")
        pairs[name] = Path(path)
    return pairs
