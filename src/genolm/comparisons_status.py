"""The README's status column and each study page quote the generated comparisons tables, never a hand-written
direction (issue #22).

A document marks what is generated with a pair of HTML comments (invisible in rendered Markdown):

    <!-- comparisons:<study> -->...<!-- /comparisons:<study> -->             one line: a README table cell
    <!-- comparisons-table:<study> -->
    ...                                                                      the study page's table
    <!-- /comparisons-table:<study> -->

`write_blocks` fills every marked block of a document from `results/tables/<study>/comparisons.tsv`
(`genolm comparisons-status --write`); `check_blocks` lists where a document and the tables disagree
(`genolm comparisons-status`, which `make demo` users run after a run, and the test that keeps this honest).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from genolm.comparisons import COMPARISONS_SCHEMA, markdown_table
from genolm.errors import GenolmInputError

CELL = re.compile(r"<!-- comparisons:(?P<study>[A-Za-z0-9_]+) -->(?P<body>.*?)<!-- /comparisons:(?P=study) -->")
TABLE = re.compile(r"<!-- comparisons-table:(?P<study>[A-Za-z0-9_]+) -->\n(?P<body>.*?)<!-- /comparisons-table:(?P=study) -->",
                   re.DOTALL)
NOT_RUN = "no comparisons table yet: run `make demo`, then `genolm comparisons-status --write`"
# What a block holds before its first run (the check reports each of the table's comparisons as not quoted).
NOT_GENERATED = "not generated yet: `make demo`, then `genolm comparisons-status --write`"


def read_comparisons_table(path: str | Path) -> pl.DataFrame:
    """A comparisons.tsv as `genolm compare` writes it (its columns checked, so a stale or foreign table is
    refused by name)."""
    path = Path(path)
    if not path.is_file():
        raise GenolmInputError(path, f"missing: {NOT_RUN}")
    table = pl.read_csv(path, separator="\t", schema_overrides={c: t for c, t in COMPARISONS_SCHEMA.items()})
    missing = [c for c in COMPARISONS_SCHEMA if c not in table.columns]
    if missing:
        raise GenolmInputError(path, f"not a comparisons table: no column(s) {', '.join(missing)}")
    return table.select(list(COMPARISONS_SCHEMA))


def status_entries(table: pl.DataFrame) -> list[str]:
    """One README fragment per comparison: its name, verdict, A − B and interval, and its replicates."""
    return [f"{r['comparison']} **{r['verdict']}** ({r['difference']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}], "
            f"{r['replicates']} replicates)" for r in table.iter_rows(named=True)]


def status_cell(table: pl.DataFrame) -> str:
    return "; ".join(status_entries(table)) or "no comparisons declared"


def write_blocks(text: str, tables: Mapping[str, pl.DataFrame]) -> str:
    """`text` with every marked block of a study in `tables` regenerated (other studies' blocks untouched)."""
    def cell(match: re.Match) -> str:
        study = match["study"]
        if study not in tables:
            return match[0]
        return f"<!-- comparisons:{study} -->{status_cell(tables[study])}<!-- /comparisons:{study} -->"

    def block(match: re.Match) -> str:
        study = match["study"]
        if study not in tables:
            return match[0]
        return f"<!-- comparisons-table:{study} -->\n{markdown_table(tables[study])}<!-- /comparisons-table:{study} -->"

    return TABLE.sub(block, CELL.sub(cell, text))


def marked_studies(text: str) -> list[str]:
    """The studies a document has generated blocks of, in order of appearance."""
    found = [m["study"] for m in CELL.finditer(text)] + [m["study"] for m in TABLE.finditer(text)]
    return list(dict.fromkeys(found))


def check_blocks(text: str, tables: Mapping[str, pl.DataFrame]) -> list[str]:
    """Where the document disagrees with the tables, one line each (empty: they agree): a comparison whose quoted
    verdict or numbers differ, one missing from the document, one the document quotes that the table lacks."""
    problems = []
    for match in CELL.finditer(text):
        study = match["study"]
        if study not in tables:
            continue
        quoted = {e.split(" ", 1)[0]: e for e in match["body"].split("; ") if e and e not in ("no comparisons declared", NOT_GENERATED)}
        expected = {e.split(" ", 1)[0]: e for e in status_entries(tables[study])}
        problems += _differences(study, "status", quoted, expected)
    for match in TABLE.finditer(text):
        study = match["study"]
        if study not in tables:
            continue
        quoted, expected = _table_rows(match["body"]), _table_rows(markdown_table(tables[study]))
        rows = _differences(study, "table", quoted, expected)
        if not rows and match["body"] != markdown_table(tables[study]):
            rows = [f"{study} table: the notes under the table differ from the generated ones"]
        problems += rows
    return problems


def _table_rows(markdown: str) -> dict[str, str]:
    """comparison -> its row, of a Markdown table's body rows (not the header or the rule under it)."""
    rows = [row for row in markdown.splitlines() if row.startswith("| ") and not row.startswith("| comparison |")
            and not set(row) <= set("|- ")]
    return {row.split("|")[1].strip(): row for row in rows}


def _differences(study: str, where: str, quoted: dict[str, str], expected: dict[str, str]) -> list[str]:
    out = []
    for name, entry in expected.items():
        if name not in quoted:
            out.append(f"{study} {where}: comparison {name} is not quoted (the table has: {entry})")
        elif quoted[name] != entry:
            out.append(f"{study} {where}: comparison {name} quotes {quoted[name]!r}, the table gives {entry!r}")
    out += [f"{study} {where}: comparison {name} is quoted but not in the table" for name in quoted if name not in expected]
    return out


__all__ = ["check_blocks", "marked_studies", "read_comparisons_table", "status_cell", "status_entries", "write_blocks"]
