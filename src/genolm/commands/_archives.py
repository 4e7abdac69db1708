"""The `archives` limits as command-line arguments of the commands that unpack zip files."""

from __future__ import annotations

import argparse

from genolm.sources.download import ZipLimits


def add_zip_limit_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("archive limits (default: the config schema's `archives` block)")
    group.add_argument("--zip-max-bytes", type=int, help="uncompressed bytes of all members together")
    group.add_argument("--zip-max-ratio", type=float, help="largest compression ratio of a member over 1 MiB")
    group.add_argument("--zip-max-members", type=int, help="files in one archive")


def zip_limits(args: argparse.Namespace) -> ZipLimits:
    from genolm.config import archive_limits

    limits = archive_limits({"max_total_bytes": args.zip_max_bytes, "max_ratio": args.zip_max_ratio,
                             "max_members": args.zip_max_members}, source="--zip-max-*")
    return ZipLimits(**limits)
