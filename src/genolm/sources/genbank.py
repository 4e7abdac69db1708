"""Reading GenBank flat files (plain, gzip, or inside a zip) with Biopython, errors naming the file and record."""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

from genolm.errors import GenolmInputError


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as handle:
        gzipped = handle.read(2) in (b"\x1f\x8b", b"\x1f")  # a lone 0x1f: gzip cut after one byte
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def is_genbank(path: Path) -> bool:
    """Whether the first non-empty line is a LOCUS line (how every GenBank flat file starts)."""
    try:
        with _open_text(path) as handle:
            for line in handle:
                if line.strip():
                    return line.startswith("LOCUS")
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile):
        return False
    return False


def genbank_records(path: Path) -> Iterator:
    """`Bio.SeqRecord.SeqRecord`s of a GenBank file; a malformed or truncated record is a GenolmInputError."""
    from Bio import BiopythonParserWarning, SeqIO

    path = Path(path)
    number = 0
    _require_final_terminator(path)
    try:
        with _open_text(path) as handle, warnings.catch_warnings():
            # Biopython only warns when a record's sequence is cut short: for a download that means truncation.
            warnings.filterwarnings("error", message="(Premature end|Expected sequence length)",
                                    category=BiopythonParserWarning)
            for number, record in enumerate(SeqIO.parse(handle, "genbank"), start=1):
                yield record
    except (ValueError, EOFError, zlib.error, gzip.BadGzipFile, BiopythonParserWarning) as error:
        raise GenolmInputError(path, f"malformed GenBank data: {error}", record=f"record {number + 1}") from error


def _require_final_terminator(path: Path) -> None:
    """Every GenBank record ends with a `//` line; a plain file whose last line is another one was cut short
    (Biopython returns the cut record, shorter, without a word). Gzip files carry their own length check."""
    with open(path, "rb") as handle:
        if handle.read(1) in (b"\x1f", b""):
            return
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 64))
        tail = handle.read().rstrip()
    if tail and not tail.endswith(b"\n//") and tail != b"//":
        with open(path, "rb") as handle:  # only on this error path: name the cut record by its number
            complete = sum(1 for line in handle if line.rstrip() == b"//")
        raise GenolmInputError(path, "malformed GenBank data: the record does not end with its '//' line, so the "
                                     "file was cut short; download it again", record=f"record {complete + 1}")


def taxon_id(record) -> int | None:
    """The NCBI taxon of a record, from its source feature's `/db_xref="taxon:N"`."""
    for feature in record.features:
        if feature.type != "source":
            continue
        for xref in feature.qualifiers.get("db_xref", []):
            if xref.startswith("taxon:") and xref[6:].isdigit():
                return int(xref[6:])
    return None
