"""The one FASTA reader: Biopython's SimpleFastaParser, with gzip sniffing, line numbers and clear errors.

Every stage that reads FASTA (the reference, viral genomes, MitoFish headers, benchmark tasks) goes through
`fasta_records` (or `read_fasta`), so they agree on what a FASTA file is:

- plain text or gzip (bgzip included), recognised by its magic bytes rather than its name; a BGZF file must
  end with its end-of-file block (one cut at a block boundary decompresses cleanly, but is truncated);
- blank lines are ignored anywhere, and leading and trailing whitespace of every line;
- a non-blank line before the first `>` header means the file is not FASTA;
- whitespace inside a sequence line is an error (Biopython would drop it silently);
- a record's sequence may be empty: whether that is acceptable is the caller's decision.

Malformed input raises GenolmInputError naming the file and the line (and the record, where there is one).
Random access to an indexed reference stays with pyfaidx (`genolm.sources.reference.ReferenceGenome`), after
`genolm.sources.fasta_index.ensure_fasta_indexes` has checked the indexes against the file.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, NamedTuple

from Bio.SeqIO.FastaIO import SimpleFastaParser

# IUPAC complements (both cases), so a reverse complement keeps every code a FASTA may hold.
_COMPLEMENT = str.maketrans("ACGTNacgtnRYKMSWBDHVrykmswbdhv", "TGCANtgcanYRMKSWVHDByrmkswvhdb")


def reverse_complement(sequence: str) -> str:
    """The reverse complement of a nucleotide sequence (IUPAC codes and case kept)."""
    return sequence.translate(_COMPLEMENT)[::-1]

from genolm.errors import GenolmInputError
from genolm.sources.bgzf import missing_eof_block

GZIP_MAGIC = b"\x1f\x8b"


class FastaRecord(NamedTuple):
    title: str  # the header line without '>' and surrounding whitespace (name, then any description)
    sequence: str  # as written (case kept), line breaks and surrounding whitespace removed
    line: int  # the header's line number, 1-based

    @property
    def name(self) -> str:
        """The sequence name: the title's first whitespace-separated token ('' for a bare '>')."""
        return self.title.split(maxsplit=1)[0] if self.title.split() else ""


def is_gzip(path: str | os.PathLike) -> bool:
    """Whether the file starts with the gzip magic bytes (reads only those two bytes)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def fasta_records(source: str | os.PathLike | IO, *, name: str | None = None) -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file or open handle (text or binary, plain or gzip), streaming.

    `name` is how errors refer to the input; by default the path, or the handle's `name` attribute.
    """
    with ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            label = name or os.fspath(source)
            try:
                raw = stack.enter_context(open(source, "rb"))
                truncated = missing_eof_block(source)
            except OSError as error:
                raise GenolmInputError(label, f"cannot read: {error.strerror or error}") from None
            if truncated:
                raise GenolmInputError(label, "BGZF file without its end-of-file block: it was cut short at a block "
                                              "boundary; download it again")
        else:
            label = name or str(getattr(source, "name", "<FASTA stream>"))
            raw = source
        handle = _text(raw, stack)
        yield from _records(handle, label)


def read_fasta(source: str | os.PathLike | IO, *, name: str | None = None) -> Iterator[tuple[str, str]]:
    """(title, sequence) of each record; see `fasta_records`."""
    for record in fasta_records(source, name=name):
        yield record.title, record.sequence


def _text(raw: IO, stack: ExitStack) -> IO[str]:
    """A text handle over `raw`, decompressing it when it starts with the gzip magic bytes.

    Handles the caller passed in are left open: the wrappers put around them are detached, not closed."""
    if isinstance(raw, io.TextIOBase):
        return raw
    if hasattr(raw, "peek"):
        head = raw.peek(2)[:2]
    elif raw.seekable():
        start = raw.tell()
        head = raw.read(2)
        raw.seek(start)
    else:
        raw = io.BufferedReader(raw)
        stack.callback(raw.detach)
        head = raw.peek(2)[:2]
    # A lone first magic byte is a gzip file cut after one byte (0x1f never starts a text FASTA); gzip refuses it.
    if head in (GZIP_MAGIC, GZIP_MAGIC[:1]):
        raw = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))  # closing it leaves `raw` open
    # Bad bytes become U+FFFD, which every caller's alphabet check then reports as an invalid character.
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
    stack.callback(text.detach)
    return text


def _records(handle: IO[str], label: str) -> Iterator[FastaRecord]:
    headers: deque[int] = deque()  # header line numbers read but not yet yielded (at most two)
    position = {"line": 0}

    def lines() -> Iterator[str]:
        title = None
        for number, line in enumerate(handle, start=1):
            position["line"] = number
            text = line.strip()
            if not text:
                continue  # SimpleFastaParser reads line[0]: blank lines must not reach it
            if text[0] == ">":
                headers.append(number)
                title = text
            elif title is None:
                raise GenolmInputError(label, "not a FASTA file: text before the first '>' header",
                                       record=f"line {number}")
            elif " " in text or "\t" in text:
                raise GenolmInputError(label, f"invalid character {' ' if ' ' in text else chr(9)!r} in a "
                                              f"sequence line", record=f"record '{title[1:].strip()}', line {number}")
            yield text

    try:
        for title, sequence in SimpleFastaParser(lines()):
            yield FastaRecord(title.strip(), sequence, headers.popleft())
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise GenolmInputError(label, f"corrupt or truncated gzip stream ({error})",
                               record=f"after line {position['line']}") from None
