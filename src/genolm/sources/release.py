"""Files whose names are only known from a listing: a release directory's index, or a table of assemblies.

NCBI numbers the files of a RefSeq release directory (`mitochondrion.1.1.genomic.fna.gz`, `viral.3.1...`) and
the count changes between releases, so the names are read from the directory's own index page (HTML over
https, a LIST answer over ftp, the entries of a local directory) instead of being written into the config.
Every file then goes through `genolm.sources.download.download`; a manifest (`files.tsv`) written last records
what was fetched, so the manifest's existence means the whole set is there and verified.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from genolm.atomic import atomic_file, make_output_directory, verified_pieces
from genolm.sources.download import Provenance, download, fetch_small, local_path
from genolm.errors import GenolmInputError

MANIFEST = "files.tsv"


@dataclass(frozen=True)
class Wanted:
    """One file to fetch into a set: its name in the set, its URL and how to verify it."""

    name: str
    url: str
    checksum_listing: str | None = None
    listing_name: str | None = None


def read_listing(url: str, *, retries: int = 3, timeout: float = 60.0) -> str:
    """The text of a directory index; a local directory (path or file://) lists its entries, one a line."""
    path = local_path(url)
    if path is not None and path.is_dir():
        return "\n".join(sorted(os.listdir(path))) + "\n"
    # An index page is HTML by nature, so unlike a data file it is not refused for being HTML.
    return fetch_small(url, retries=retries, timeout=timeout, backoff=0.5).decode("utf-8", errors="replace")


def names_in_listing(text: str, pattern: str, source: object) -> list[str]:
    """Every distinct file name in `text` that `pattern` matches as a whole token (an href, a LIST line's name)."""
    try:
        regex = re.compile(rf"(?<![\w.-])(?:{pattern})(?![\w.-])")
    except re.error as error:
        raise GenolmInputError(source, f"file pattern {pattern!r} is not a regular expression: {error}") from error
    names = sorted({match.group(0) for match in regex.finditer(text)}, key=_natural_key)
    if not names:
        raise GenolmInputError(source, f"the listing names no file matching {pattern!r} (wrong URL, or a changed layout)")
    return names


def _natural_key(name: str) -> list[object]:
    # viral.10.1 after viral.9.1, not after viral.1.1
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def join_url(base: str, name: str) -> str:
    """`name` inside the directory `base` (a URL or a local path)."""
    if "://" in base:
        return urllib.parse.urljoin(base if base.endswith("/") else base + "/", urllib.parse.quote(name))
    return str(Path(base) / name)


def fetch_set(wanted: Iterable[Wanted], out_dir: Path, *, expect: str | None = "gzip", retries: int = 3,
              timeout: float = 60.0) -> pl.DataFrame:
    """Download every file into `out_dir`, verified, then write `out_dir/files.tsv`; return that manifest.

    Files already there with a matching provenance record are reused, so a rerun after one failure fetches
    only what is missing. The manifest is removed first and written only when every file succeeded.
    """
    out_dir = make_output_directory(out_dir)
    manifest = out_dir / MANIFEST
    manifest.unlink(missing_ok=True)
    rows = []
    for item in wanted:
        if "/" in item.name or item.name in ("", ".", ".."):
            raise GenolmInputError(item.url, f"refusing file name {item.name!r}: it must stay inside {out_dir}")
        with verified_pieces():  # each verified file stays for a rerun to reuse; the manifest is the output
            record: Provenance = download(item.url, out_dir / item.name, checksum_listing=item.checksum_listing,
                                          listing_name=item.listing_name, expect=expect, retries=retries,
                                          timeout=timeout)
        rows.append({"name": item.name, **asdict(record)})
    table = pl.DataFrame(rows, schema={"name": pl.Utf8, "url": pl.Utf8, "path": pl.Utf8, "size": pl.Int64,
                                       "algorithm": pl.Utf8, "checksum": pl.Utf8, "verified": pl.Boolean,
                                       "retrieved_at": pl.Utf8})
    with atomic_file(manifest) as tmp:
        table.write_csv(tmp, separator="\t")
    return table


def read_manifest(path: Path) -> pl.DataFrame:
    """A `files.tsv` written by `fetch_set`, with `path` resolved beside it (the set may have been moved)."""
    path = Path(path)
    try:
        table = pl.read_csv(path, separator="\t", schema_overrides={"checksum": pl.Utf8})
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(path, f"cannot read the download manifest: {error}") from error
    missing = {"name", "url", "checksum", "verified"} - set(table.columns)
    if missing:
        raise GenolmInputError(path, f"not a download manifest: no column(s) {', '.join(sorted(missing))}")
    return table.with_columns(pl.col("name").map_elements(lambda n: str(path.parent / n), return_dtype=pl.Utf8)
                              .alias("path"))
