"""The arguments of a command that writes a shard set (genolm.datasets.shards.ShardWriter)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genolm.errors import GenolmInputError


def add_shard_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--out, --dataset, --rows-per-shard, --qc, --allow-empty and --provenance-json."""
    parser.add_argument("--out", required=True, type=Path, help="output directory of the shards")
    parser.add_argument("--dataset", help="dataset name in the manifest (default: the name of --out)")
    parser.add_argument("--rows-per-shard", type=int, default=50_000, help="rows per Parquet file (default: 50000)")
    parser.add_argument("--qc", type=Path, help="QC table (TSV)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="write an empty dataset instead of failing when nothing passes the filters")
    parser.add_argument("--provenance-json", help="JSON object added to the provenance (e.g. the config hash)")


def parse_provenance(text: str | None) -> dict:
    """--provenance-json: a JSON object added to the shards' provenance (nothing when not given)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise GenolmInputError("--provenance-json", f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise GenolmInputError("--provenance-json", "must be a JSON object")
    return value
