"""Checks every delimited table genolm reads (DepMap CSV, MAF, Virus-Host DB, ...) makes where it enters.

A download cut short or a file copied while it was being written ends in the middle of a row. When the cut falls
inside the last field, the row still has every field, only a shorter value ("Lung" becomes "Lu", position 12345
becomes 12): no field count can see it. Every line of these tables ends with a line end, so a last line without
one is how the cut shows.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError
from genolm.sources.fasta import is_gzip

_CHUNK = 1 << 22


def read_parquet_table(path: str | os.PathLike, columns: Sequence[str] = (), hint: str = "") -> pl.DataFrame:
    """A Parquet table that must have `columns`: one input error naming the file otherwise (`hint` says which
    table was expected, e.g. "not the table `genolm prepare-mutations` writes")."""
    try:
        table = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise GenolmInputError(path, f"cannot read as parquet ({error})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise GenolmInputError(path, f"missing required column(s) {', '.join(missing)}" + (f": {hint}" if hint else ""))
    return table


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

    Fields are counted outside double quotes ("a,b" is one field, "" an escaped quote), line by line, streaming the
    file (plain or gzip) through polars, so it is cheap next to parsing the table. Blank lines are skipped, like
    the table readers do. From the first line with an odd number of quotes on (a quoted field spanning lines) the
    file is read again with Python's csv reader, which follows quotes across lines (slower; rare in these tables).
    """
    path = Path(path)
    lines = (
        pl.scan_lines(path, row_index_name="index")
        .slice(skip_rows + 1)
        .with_columns(pl.col("line").str.strip_chars_end("\r"))
        .filter(pl.col("line") != "")
        .with_columns(
            (pl.col("line").str.replace_all(r'"[^"]*"', "").str.count_matches(separator, literal=True) + 1)
            .alias("fields"),
            (pl.col("line").str.count_matches('"', literal=True) % 2 == 1).alias("open_quote"))
    )
    found = lines.select(
        pl.col("index").filter(pl.col("fields") != n_fields).first().alias("bad"),
        pl.col("fields").filter(pl.col("fields") != n_fields).first().alias("fields"),
        pl.col("index").filter(pl.col("open_quote")).first().alias("open_quote"),
    ).collect(engine="streaming").row(0, named=True)
    if found["bad"] is not None and (found["open_quote"] is None or found["bad"] < found["open_quote"]):
        _refuse(label or path, found["bad"] + 1, found["fields"], n_fields)
    if found["open_quote"] is not None:
        opener = gzip.open if is_gzip(path) else open
        with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as handle:
            for _ in range(skip_rows + 1):
                handle.readline()
            reader = csv.reader(handle, delimiter=separator)
            line = skip_rows + 2  # the line the next record starts on
            for fields in reader:
                if fields and len(fields) != n_fields:
                    _refuse(label or path, line, len(fields), n_fields)
                line = skip_rows + 2 + reader.line_num


def _refuse(label: object, line: int, fields: int, n_fields: int) -> None:
    cause = "a row cut short or a lost separator" if fields < n_fields else "an unquoted separator or extra fields"
    raise GenolmInputError(label, f"malformed table: {fields} fields where the header has {n_fields} ({cause})",
                           record=f"line {line}")


def category_key(value: str) -> str:
    """How a category value named in the config (a lineage, ...) is matched against a table's values: case and
    surrounding or repeated inner whitespace do not count ("lung", " Lung", "Lung  " are Lung). `category_key_expr`
    is the same for a polars column."""
    return " ".join(value.split()).lower()


def category_key_expr(column: str) -> pl.Expr:
    """`category_key` of every value of a string column (null stays null)."""
    return pl.col(column).str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()
