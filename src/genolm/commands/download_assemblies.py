"""`genolm download-assemblies`: NCBI assemblies chosen from assembly_summary.txt, each verified by its md5."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.atomic import atomic_file
from genolm.sources.refseq import SELECTED, Selection, assembly_files, read_assembly_summary, select_assemblies
from genolm.sources.release import MANIFEST, fetch_set

HELP = "download the genome FASTA of assemblies chosen by accession or organism from an assembly_summary.txt"

log = logging.getLogger(__name__)


def _mirror(text: str) -> tuple[str, str]:
    prefix, sep, replacement = text.partition("=")
    if not sep or not prefix:
        raise argparse.ArgumentTypeError(f"expected PREFIX=REPLACEMENT, got {text!r}")
    return prefix, replacement


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", required=True, type=Path, help="assembly_summary.txt")
    parser.add_argument("--accessions", nargs="*", default=[], help="GCF_/GCA_ accessions (version optional)")
    parser.add_argument("--organisms", nargs="*", default=[], help="organism names (e.g. 'Escherichia coli')")
    parser.add_argument("--per-organism", type=int, default=1, help="assemblies taken per organism (best ranked)")
    parser.add_argument("--assembly-levels", nargs="*", default=[], help="e.g. 'Complete Genome' (default: any)")
    parser.add_argument("--mirror", type=_mirror, action="append", default=[], metavar="PREFIX=REPLACEMENT",
                        help="serve ftp_path URLs starting with PREFIX from REPLACEMENT (a lab mirror, the demo)")
    parser.add_argument("--out-dir", required=True, type=Path,
                        help=f"<accession>.fna.gz files, {SELECTED} and, last, {MANIFEST}")
    parser.add_argument("--qc", type=Path)
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)


def run(args: argparse.Namespace) -> None:
    summary = read_assembly_summary(args.summary)
    selection = Selection(args.accessions, args.organisms, args.per_organism, args.assembly_levels)
    selected, qc = select_assemblies(summary, selection, args.summary)
    log.info("selected %d assemblies: %s", len(selected), ", ".join(selected["assembly_accession"]))
    with atomic_file(args.out_dir / SELECTED) as tmp:
        selected.drop("line").write_csv(tmp, separator="\t")
    fetch_set(assembly_files(selected, dict(args.mirror)), args.out_dir, expect="gzip", retries=args.retries,
              timeout=args.timeout)
    if args.qc:
        qc.write(args.qc)
