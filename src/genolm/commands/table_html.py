"""`genolm table-html`: a study's Markdown or TSV table as an HTML page the Snakemake report shows inline."""

from __future__ import annotations

from pathlib import Path

HELP = "render a Markdown (.md) or TSV (.tsv) table as a standalone HTML page for the Snakemake report"


def add_arguments(parser) -> None:
    parser.add_argument("table", type=Path, help="the table: .md (CommonMark with pipe tables) or .tsv")
    parser.add_argument("--out", type=Path, required=True, help="the HTML page")


def run(args) -> int:
    from genolm.analysis.html_tables import html_page
    from genolm.atomic import atomic_file

    page = html_page(args.table)
    with atomic_file(args.out) as tmp:
        Path(tmp).write_text(page)
    return 0
