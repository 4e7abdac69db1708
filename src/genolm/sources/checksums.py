"""Checksums of downloaded files and the listing files that publish them.

Three algorithms cover genolm's sources: md5 (UCSC `md5sum.txt`, NCBI `md5checksums.txt`, RefSeq release
catalogues since December 2022), sha256 (`sha256sum` output), and the BSD `sum` checksum that Ensembl's
`CHECKSUMS` files use. A BSD sum value is written as "<checksum> <blocks>", the two numbers `sum -r` prints.
RefSeq catalogues before December 2022 list a decimal CRC of an unstated variant: such a listing is read (the
file must be in it) but its value is not compared (`UNVERIFIABLE`).
"""

from __future__ import annotations

import functools
import hashlib
import math
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from genolm.errors import GenolmInputError

ALGORITHMS = ("md5", "sha256", "bsdsum")

_HEX_LENGTH = {"md5": 32, "sha256": 64}


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


@functools.cache
def _bsd_rotate_add() -> Callable[[np.ndarray, int], int]:
    # A per-byte sequential recurrence has no vectorised form, and pure Python takes minutes on a
    # genome-sized file, so it is compiled; numba is imported here, on first use, because importing and
    # compiling cost a second or two that md5 and sha256 downloads need not pay.
    import numba

    @numba.njit(nogil=True)
    def rotate_add(data: np.ndarray, checksum: int) -> int:
        for byte in data:
            checksum = ((checksum >> 1) | ((checksum & 1) << 15)) + byte
            checksum &= 0xFFFF
        return checksum

    return rotate_add


class BSDSum:
    """The BSD `sum` checksum: a 16-bit rotate-right-and-add over every byte, plus the size in 1 KiB blocks."""

    def __init__(self) -> None:
        self._checksum = 0
        self._size = 0

    def update(self, data: bytes, /) -> None:
        self._checksum = int(_bsd_rotate_add()(np.frombuffer(data, dtype=np.uint8), self._checksum))
        self._size += len(data)

    def hexdigest(self) -> str:
        # Not hex, but named like hashlib's method so that all three algorithms share one interface.
        return f"{self._checksum} {math.ceil(self._size / 1024)}"


def new_hasher(algorithm: str) -> Hasher:
    if algorithm == "bsdsum":
        return BSDSum()
    if algorithm in _HEX_LENGTH:
        return hashlib.new(algorithm)
    raise ValueError(f"unknown checksum algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def normalise_checksum(algorithm: str, value: str, source: object) -> str:
    """The canonical spelling of a checksum (lower-case hex; "<checksum> <blocks>" without zero padding).

    `source` names where the value came from (a URL, a listing) for the error message.
    """
    value = value.strip()
    if algorithm == "bsdsum":
        parts = value.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > 0xFFFF:
            raise GenolmInputError(
                source, f"BSD sum checksum must be '<checksum 0-65535> <1 KiB blocks>', got {value!r}"
            )
        return f"{int(parts[0])} {int(parts[1])}"
    length = _HEX_LENGTH.get(algorithm)
    if length is None:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
    if not re.fullmatch(rf"[0-9a-fA-F]{{{length}}}", value):
        raise GenolmInputError(source, f"{algorithm} checksum must be {length} hex digits, got {value!r}")
    return value.lower()


# "<md5>  file" (UCSC md5sum.txt, NCBI md5checksums.txt with "./file"), "<sha256>  file" (sha256sum; "*" marks
# binary mode), "<bsd sum> <blocks> file" (Ensembl CHECKSUMS), and a RefSeq release's release<N>.files.installed:
# "<checksum> file" with any whitespace between (one space, several, a tab), the checksum an md5 since December
# 2022 and a decimal CRC before.
_LISTING_LINE = (
    (re.compile(r"([0-9a-fA-F]{32})\s+\*?(\S.*)"), "md5"),
    (re.compile(r"([0-9a-fA-F]{64})\s+\*?(\S.*)"), "sha256"),
    (re.compile(r"(\d+\s+\d+)\s+(\S.*)"), "bsdsum"),
    (re.compile(r"(\d{1,10})\s+(\S.*)"), "crc"),
)
# Listed but not recomputable: NCBI's catalogue does not say which CRC variant its old values are, so a file listed
# with one is checked for complete content (gzip carries its own CRC-32 per member), not against the value.
UNVERIFIABLE = ("crc",)


def parse_checksum_listing(text: str, source: object) -> dict[str, tuple[str, str]]:
    """File name (without a leading "./") -> (algorithm, normalised checksum) for every line of a listing."""
    if text.startswith("release,"):
        return _parse_depmap_catalogue(text, source)
    entries: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        for pattern, algorithm in _LISTING_LINE:
            match = pattern.fullmatch(line.rstrip("\r\n\t "))
            if match:
                break
        else:
            raise GenolmInputError(
                source,
                "not a checksum listing line (expected '<md5|sha256> file', '<sum> <blocks> file' or '<crc> file')",
                record=f"line {number}: {line[:80]!r}",
            )
        name = match.group(2).strip()
        name = name[2:] if name.startswith("./") else name
        checksum = (str(int(match.group(1))) if algorithm == "crc"
                    else normalise_checksum(algorithm, match.group(1), f"{source}, line {number}"))
        if entries.get(name, (algorithm, checksum)) != (algorithm, checksum):
            raise GenolmInputError(source, f"two different checksums for {name!r}", record=f"line {number}")
        entries[name] = (algorithm, checksum)
    return entries


def _parse_depmap_catalogue(text: str, source: object) -> dict[str, tuple[str, str]]:
    """DepMap's release catalogue (CSV `release, release_date, filename, url, md5_hash`).

    Entries are keyed "<release>/<filename>"; lookup by bare file name works while only one release lists it
    and is refused as ambiguous otherwise.
    """
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    missing = {"release", "filename", "md5_hash"} - set(reader.fieldnames or [])
    if missing:
        raise GenolmInputError(source, f"DepMap catalogue lacks column(s) {', '.join(sorted(missing))}")
    entries: dict[str, tuple[str, str]] = {}
    for number, row in enumerate(reader, start=2):
        if not row["md5_hash"]:
            continue  # files without a published checksum cannot be verified from the catalogue
        checksum = normalise_checksum("md5", row["md5_hash"], f"{source}, line {number}")
        entries[f"{row['release']}/{row['filename']}"] = ("md5", checksum)
    return entries


def lookup_checksum(entries: dict[str, tuple[str, str]], filename: str, source: object) -> tuple[str, str]:
    """The (algorithm, checksum) a listing gives for `filename`, matched on the whole name, else on its basename."""
    if filename in entries:
        return entries[filename]
    # NCBI listings also name files in subdirectories ("./GCF_..._assembly_structure/..."): a basename is
    # accepted only when exactly one entry has it, so a file can never pick up another directory's checksum.
    same_base = {name: value for name, value in entries.items() if posixpath.basename(name) == filename}
    if len(same_base) == 1:
        return next(iter(same_base.values()))
    if same_base:
        raise GenolmInputError(source, f"{filename!r} is ambiguous: listed as {', '.join(sorted(same_base))}")
    raise GenolmInputError(source, f"no checksum listed for {filename!r} ({len(entries)} entries)")


def file_checksum(path: str | Path) -> str:
    """md5 of a file, or of a directory's manifest.json / config.json (shards and checkpoints are directories)."""
    path = Path(path)
    if path.is_dir():
        for name in ("manifest.json", "config.json"):
            if (path / name).exists():
                path = path / name
                break
        else:
            return "directory"
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
