"""A study's table as a standalone HTML page for the Snakemake report, which shows HTML inline but offers Markdown
and TSV files only as downloads (snakemake 9's report: images, HTML and PDF are viewed, any other type is a link)."""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError

STYLE = ("body{font-family:sans-serif;font-size:13px;margin:1em}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
         "th,td{border:1px solid #bbb;padding:2px 6px;text-align:left}th{background:#eee}")


def markdown_body(text: str) -> str:
    """CommonMark with pipe tables (the study writers' Markdown), raw HTML in the source escaped, not passed on."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def tsv_body(path: Path) -> str:
    """Every row and column of a TSV as an HTML table, cells as written (no type inference, no rounding)."""
    try:
        table = pl.read_csv(path, separator="\t", infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise GenolmInputError(path, f"cannot be read as a TSV table ({error})") from None
    header = "".join(f"<th>{html.escape(name)}</th>" for name in table.columns)
    rows = "\n".join("<tr>" + "".join(f"<td>{html.escape(cell or '')}</td>" for cell in row) + "</tr>"
                     for row in table.iter_rows())
    return f"<p>{len(table)} rows</p>\n<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"


def html_page(source: Path) -> str:
    """The page for one table file: `.md` rendered as Markdown, `.tsv` as one table."""
    if not source.is_file():
        raise GenolmInputError(source, "does not exist: run the rule that writes this table first")
    if source.suffix == ".md":
        body = markdown_body(source.read_text())
    elif source.suffix == ".tsv":
        body = tsv_body(source)
    else:
        raise GenolmInputError(source, "is neither a Markdown (.md) nor a TSV (.tsv) table")
    title = html.escape(source.name)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style>'
            f"</head>\n<body>\n{body}</body></html>\n")
