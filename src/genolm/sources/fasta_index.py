"""A FASTA's indexes (`.fai`, and `.gzi` for BGZF) checked against the file's content before a reader trusts them.

An index is judged by what it says about the file, never by modification times: `cp` and `rsync` leave a stale
index newer than a rewritten FASTA, and a good index copied before its FASTA is older than it. The checks read a
few bytes at each record's boundaries, not the sequence (a 3 GB genome costs one pass over its block headers):

- `.gzi`: its (compressed, uncompressed) offsets are the file's own BGZF blocks, walked through each block's
  header and footer;
- `.fai`, per record: the line just before the sequence offset is the record's `>name` header; lines end where
  `line bases` and `line bytes` say at the first, a middle and the last full line; the last line ends where the
  length says, followed by the next header (or, for the last record, only the end of the file).

An index that is missing or does not describe its file is rebuilt from the file (a full read) and written
atomically beside it when that directory is writable, and refused otherwise with a GenolmInputError naming it.
`ensure_fasta_indexes` is the one entry point: every reader of an indexed FASTA calls it before opening one.
"""

from __future__ import annotations

import bisect
import gzip
import logging
import os
import zlib
from pathlib import Path

from genolm.atomic import atomic_file, verified_pieces
from genolm.errors import GenolmInputError
from genolm.sources.bgzf import (
    gzi_bytes,
    gzi_entries,
    gzi_path,
    is_bgzf_header,
    read_gzi,
    walk_blocks,
)

log = logging.getLogger(__name__)

_LINE_ENDS = {1: b"\n", 2: b"\r\n"}
_NOT_A_BASE = (b"\n", b"\r", b">", b" ", b"\t")


class _Content:
    """Random access to the bytes a `.fai` counts: the file itself, or a BGZF file's uncompressed stream (read
    through the walked blocks, each inflated once; the checks read two or three places per block at most)."""

    def __init__(self, path: Path, blocks: list[tuple[int, int]] | None, size: int):
        self.path, self.blocks, self.size = path, blocks, size
        self._starts = [u for _, u in blocks] if blocks is not None else []
        self._inflated: dict[int, bytes] = {}

    def _block(self, index: int) -> bytes:
        if index not in self._inflated:
            start = self.blocks[index][0]
            end = self.blocks[index + 1][0] if index + 1 < len(self.blocks) else self.path.stat().st_size
            with open(self.path, "rb") as handle:
                handle.seek(start)
                data = zlib.decompress(handle.read(end - start), 31)
            if len(self._inflated) >= 8:  # the checks move forward through the file: a few blocks suffice
                self._inflated.clear()
            self._inflated[index] = data
        return self._inflated[index]

    def read(self, start: int, length: int) -> bytes:
        """Up to `length` bytes from `start` (fewer where the content ends)."""
        if start < 0 or start >= self.size or length <= 0:
            return b""
        end = min(start + length, self.size)
        if self.blocks is None:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                return handle.read(end - start)
        out = bytearray()
        index = bisect.bisect_right(self._starts, start) - 1
        position = start
        while position < end and index < len(self.blocks):
            block_start = self._starts[index]
            block = self._block(index)
            out += block[position - block_start:end - block_start]
            position = max(position, block_start + len(block))
            index += 1
        return bytes(out)


def _header_line_before(content: _Content, offset: int) -> bytes | None:
    """The line that ends just before `offset` (without its line end), None where no line ends there."""
    look = 256
    while True:
        start = max(0, offset - look)
        data = content.read(start, offset - start)
        if len(data) != offset - start or not data.endswith(b"\n"):
            return None
        cut = data.rfind(b"\n", 0, len(data) - 1)
        if cut >= 0:
            return data[cut + 1:-1].rstrip(b"\r")
        if start == 0:
            return data[:-1].rstrip(b"\r")
        if look >= 1 << 22:  # a header of 4 MB is no header
            return None
        look *= 8


def _line_ends_at(content: _Content, position: int, line_end: bytes, *, last: bool = False) -> bool:
    """Whether a base is at `position - 1` and a line end at `position` (the last line may end the file)."""
    data = content.read(position - 1, 1 + len(line_end))
    if len(data) < 1 or data[:1] in _NOT_A_BASE:
        return False
    return data[1:] == line_end or (last and data[1:] in (b"", b"\n"))


def _fai_problem(content: _Content, fai: Path) -> str | None:
    """What in `fai` does not describe the file, or None when every record's geometry matches."""
    try:
        text = fai.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("\t")
        try:
            name, length, offset, line_bases, line_bytes = fields[0], *map(int, fields[1:5])
        except (ValueError, TypeError):
            return f"line {number} is not a .fai row (name, length, offset, line bases, line bytes)"
        rows.append((name, length, offset, line_bases, line_bytes))
    if not rows:
        return "it lists no sequence"
    rows.sort(key=lambda row: row[2])
    for position, (name, length, offset, line_bases, line_bytes) in enumerate(rows):
        where = f"record {name!r}"
        header = _header_line_before(content, offset)
        words = header[1:].split() if header is not None and header.startswith(b">") else []
        if not words or words[0].decode("utf-8", "replace") != name:
            return f"{where}: no '>{name}' header line ends at byte {offset}"
        if length == 0:
            continue
        line_end = _LINE_ENDS.get(line_bytes - line_bases)
        if line_bases <= 0 or line_end is None:
            return f"{where}: {line_bases} bases in {line_bytes} bytes per line is no FASTA line layout"
        full_lines, last_bases = divmod(length, line_bases)
        if last_bases == 0:
            full_lines, last_bases = full_lines - 1, line_bases
        for line in sorted({0, full_lines // 2, full_lines - 1} if full_lines else set()):
            if not _line_ends_at(content, offset + line * line_bytes + line_bases, line_end):
                return f"{where}: line {line + 1} of the sequence does not hold {line_bases} bases"
        end = offset + full_lines * line_bytes + last_bases
        if not _line_ends_at(content, end, line_end, last=True):
            return f"{where}: the sequence does not end after {length} bases"
        if position + 1 < len(rows):
            following = content.read(end, 256).lstrip()
            if following and not following.startswith(b">"):
                return f"{where}: the sequence goes on after {length} bases"
        else:
            rest = content.size - end
            if rest > 1 << 16 or content.read(end, rest).strip():
                return f"{where}: the file goes on after the last indexed sequence ends"
    return None


def build_fai(path: Path, bgzf: bool) -> str:
    """The `.fai` of `path` as `samtools faidx` writes it, from a full read (plain text or BGZF)."""
    rows = []
    current: dict | None = None
    offset = 0

    def refuse(what: str, record: str) -> GenolmInputError:
        return GenolmInputError(path, f"{what}: it cannot be indexed (samtools faidx refuses it too); rewrite it "
                                      "with `genolm prepare-reference`", record=record)

    def finish() -> None:
        if current is not None:
            rows.append(f"{current['name']}\t{current['length']}\t{current['offset']}\t{current['bases']}\t"
                        f"{current['bytes']}\n")

    with (gzip.open(path, "rb") if bgzf else open(path, "rb")) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith(b">"):
                finish()
                words = line[1:].split()
                if not words:
                    raise GenolmInputError(path, "FASTA header without a sequence name", record=f"line {number}")
                current = {"name": words[0].decode("utf-8", "replace"), "length": 0, "offset": offset + len(line),
                           "bases": 0, "bytes": 0, "ended": False}
            else:
                bases = line.rstrip(b"\r\n")
                if current is None:
                    if bases.strip():
                        raise GenolmInputError(path, "not a FASTA file: text before the first '>' header",
                                               record=f"line {number}")
                elif bases:
                    record = f"record '{current['name']}', line {number}"
                    if current["ended"]:
                        raise refuse("a sequence line after a shorter one or a blank line", record)
                    if not current["bases"]:
                        current["bases"], current["bytes"] = len(bases), len(line)
                    elif len(bases) > current["bases"]:
                        raise refuse(f"a line of {len(bases)} bases after lines of {current['bases']}", record)
                    elif len(bases) < current["bases"] or len(line) != current["bytes"]:
                        current["ended"] = True  # the record's last line
                    current["length"] += len(bases)
                else:
                    current["ended"] = True
            offset += len(line)
    finish()
    if not rows:
        raise GenolmInputError(path, "empty file: no FASTA records")
    return "".join(rows)


def _directory_writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK)


def ensure_fasta_indexes(fasta: str | os.PathLike) -> None:
    """Check `fasta`'s `.fai` (and `.gzi` when it is BGZF) against its content; rebuild one that is missing or
    describes another file, atomically, when the directory is writable; otherwise raise GenolmInputError naming it.
    """
    fasta = Path(fasta)
    with open(fasta, "rb") as handle:
        bgzf = is_bgzf_header(handle.read(18))
    fai = Path(f"{fasta}.fai")
    problems: dict[Path, str] = {}
    rebuilt: dict[Path, bytes] = {}
    if bgzf:
        try:
            blocks, size = walk_blocks(fasta)
        except ValueError as error:
            raise GenolmInputError(fasta, f"not a well-formed BGZF file ({error}): prepare or download it "
                                          "again") from None
        gzi, expected = gzi_path(fasta), gzi_entries(blocks, size)
        try:
            listed = read_gzi(gzi)[1:] if gzi.is_file() else None
        except (OSError, ValueError):
            listed = []
        if listed is None:
            problems[gzi] = "missing"
        elif listed != expected:
            problems[gzi] = (f"its block offsets are not those of {fasta.name} "
                             f"({len(listed)} listed, {len(expected)} in the file)")
        if gzi in problems:
            rebuilt[gzi] = gzi_bytes(expected)
        content = _Content(fasta, blocks, size)  # the walked blocks, right whatever the .gzi says
    else:
        content = _Content(fasta, None, fasta.stat().st_size)
    problem = "missing" if not fai.is_file() else _fai_problem(content, fai)
    if problem is not None:
        problems[fai] = problem
    if not problems:
        return
    if not _directory_writable(fasta.parent):
        index, reason = next(iter(problems.items()))
        what = "missing" if reason == "missing" else f"does not describe {fasta.name} ({reason})"
        raise GenolmInputError(index, f"{what}, and {fasta.parent} is not writable to rebuild it: run "
                                      f"`samtools faidx {fasta.name}` where it can be written, or copy the FASTA "
                                      f"with its indexes again")
    if fai in problems:
        rebuilt[fai] = build_fai(fasta, bgzf).encode()
    for index, reason in problems.items():
        log.warning("%s %s: rebuilding it", index, "is missing" if reason == "missing"
                    else f"does not describe {fasta.name} ({reason})")
    # Written at once, outside the command's stage: the reader opens them next, and they are right whatever
    # the command's outcome. The .fai last, so that its presence implies the .gzi's.
    with verified_pieces():
        for index in sorted(rebuilt, key=lambda path: path == fai):
            with atomic_file(index) as tmp:
                tmp.write_bytes(rebuilt[index])
