"""`genolm download-listed`: every file of a release directory whose name matches a pattern, verified."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from genolm.sources.download import EXPECT_KINDS
from genolm.sources.release import MANIFEST, Wanted, fetch_set, join_url, names_in_listing, read_listing

HELP = "download the files a release directory's listing names (e.g. every mitochondrion.N.1.genomic.fna.gz)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listing", required=True, help="the directory (URL or path) whose index names the files")
    parser.add_argument("--pattern", required=True, help="regular expression a whole file name must match")
    parser.add_argument("--checksum-listing", help="listing with the files' checksums (md5checksums.txt, "
                        "a RefSeq release's files.installed); without it the files are only content-checked")
    parser.add_argument("--expect", choices=EXPECT_KINDS, default="gzip")
    parser.add_argument("--out-dir", required=True, type=Path,
                        help=f"where the files go; {MANIFEST} is written there last")
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)


def run(args: argparse.Namespace) -> None:
    names = names_in_listing(read_listing(args.listing, retries=args.retries, timeout=args.timeout), args.pattern,
                             args.listing)
    log.info("%s lists %d file(s) matching %s: %s", args.listing, len(names), args.pattern, ", ".join(names))
    fetch_set([Wanted(name, join_url(args.listing, name), args.checksum_listing) for name in names], args.out_dir,
              expect=args.expect, retries=args.retries, timeout=args.timeout)
