"""Checks every delimited table genolm reads (DepMap CSV, MAF, Virus-Host DB, ...) makes where it enters.

A download cut short or a file copied while it was being written ends in the middle of a row. When the cut falls
inside the last field, the row still has every field, only a shorter value ("Lung" becomes "Lu", position 12345
becomes 12): no field count can see it. Every line of these tables ends with a line end, so a last line without
one is how the cut shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

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


def require_field_counts(path: str | os.PathLike, separator: str, n_fields: int, skip_rows: int = 0,
                         label: object | None = None) -> None:
    """Refuse a delimited table with a row of more or fewer fields than its header (`n_fields`), naming the first
    such line. A CSV reader pads a short row with empty values, so a row cut or shifted by one field would pass
    as a row with an empty last column (a DepMap row one field short read as "not the default entry").

    Fields are counted outside double quotes ("a,b" is one field, "" an escaped quote). Blank lines are skipped,
    like the table readers do; a quoted field spanning lines is not supported (no table genolm reads has one).
    Streams the file (plain or gzip) through polars, so it is cheap next to parsing the table.
    """
    path = Path(path)
    counts = (
        pl.scan_lines(path, row_index_name="index")
        .slice(skip_rows + 1)
        .with_columns(pl.col("line").str.strip_chars_end("\r"))
        .filter(pl.col("line") != "")
        .with_columns(
            (pl.col("line").str.replace_all(r'"[^"]*"', "").str.count_matches(separator, literal=True) + 1)
            .alias("fields"))
        .filter(pl.col("fields") != n_fields)
        .head(1)
        .collect(engine="streaming")
    )
    if counts.height:
        line, fields = counts["index"][0] + 1, counts["fields"][0]
        cause = "a row cut short or a lost separator" if fields < n_fields else "an unquoted separator or extra fields"
        raise GenolmInputError(label or path, f"malformed table: {fields} fields where the header has {n_fields} "
                                              f"({cause})", record=f"line {line}")


def category_key(value: str) -> str:
    """How a category value named in the config (a lineage, ...) is matched against a table's values: case and
    surrounding or repeated inner whitespace do not count ("lung", " Lung", "Lung  " are Lung). `category_key_expr`
    is the same for a polars column."""
    return " ".join(value.split()).lower()


def category_key_expr(column: str) -> pl.Expr:
    """`category_key` of every value of a string column (null stays null)."""
    return pl.col(column).str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()
