"""`genolm download`: fetch one file, verified, with a provenance record beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.sources.download import EXPECT_KINDS, download

HELP = "download a file (http, https, ftp, file:// or a local path), verify it and record its provenance"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="URL or local path of the file")
    parser.add_argument("--out", required=True, type=Path, help="destination path")
    checksum = parser.add_mutually_exclusive_group()
    checksum.add_argument("--md5", metavar="HEX", help="expected md5")
    checksum.add_argument("--sha256", metavar="HEX", help="expected sha256")
    checksum.add_argument("--bsdsum", metavar="'SUM BLOCKS'", help="expected BSD sum, as `sum -r` prints it")
    checksum.add_argument(
        "--checksum-listing", metavar="URL",
        help="listing with the expected checksum (md5sum.txt, md5checksums.txt, Ensembl CHECKSUMS, sha256sum)",
    )
    parser.add_argument("--listing-name", help="name to look up in --checksum-listing (default: the URL's file name); "
                        "for DepMap's catalogue '<release>/<filename>'")
    parser.add_argument("--expect", choices=EXPECT_KINDS, help="check the content is this kind of data")
    parser.add_argument("--retries", type=int, default=3, help="further attempts after a transient failure")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds without data before an attempt fails")


def run(args: argparse.Namespace) -> None:
    algorithm, checksum = next(
        ((name, value) for name, value in (("md5", args.md5), ("sha256", args.sha256), ("bsdsum", args.bsdsum))
         if value is not None),
        ("md5", None),
    )
    download(
        args.url, args.out, checksum=checksum, algorithm=algorithm, checksum_listing=args.checksum_listing, listing_name=args.listing_name,
        expect=args.expect, retries=args.retries, timeout=args.timeout,
    )
