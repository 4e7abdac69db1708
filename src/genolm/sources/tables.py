"""Checks every delimited table genolm reads (DepMap CSV, MAF, Virus-Host DB, ...) makes where it enters.

A download cut short or a file copied while it was being written ends in the middle of a row. When the cut falls
inside the last field, the row still has every field, only a shorter value ("Lung" becomes "Lu", position 12345
becomes 12): no field count can see it. Every line of these tables ends with a line end, so a last line without
one is how the cut shows.
"""

from __future__ import annotations

import os
from pathlib import Path

from genolm.errors import GenolmInputError

_CHUNK = 1 << 22


def require_complete_last_line(path: str | os.PathLike, label: object | None = None) -> None:
    """Refuse a plain-text table whose last line has no line end (gzip files carry their own length and CRC,
    which their reader checks)."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(2)
        if head == b"\x1f\x8b":
            return
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        lines = 1
        while chunk := handle.read(_CHUNK):
            lines += chunk.count(b"\n")
    raise GenolmInputError(label or path, "the last line has no line end, so the file was probably cut short: "
                                          "download it again (if you edited it by hand, end it with a newline)",
                           record=f"line {lines}")
