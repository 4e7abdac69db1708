"""`genolm comparisons-status`: check (or regenerate) the README's status column and the study pages' comparisons
tables against results/tables/<study>/comparisons.tsv (genolm.comparisons_status)."""

from __future__ import annotations

import sys
from pathlib import Path

HELP = ("Check that README.md and the study pages quote the generated comparisons tables (exit 1 naming each "
        "disagreement), or regenerate their marked blocks with --write.")


def add_arguments(parser) -> None:
    parser.add_argument("--documents", type=Path, nargs="+",
                        help="Markdown files with marked blocks (default: README.md and docs/studies/*.md under the "
                             "current directory)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"),
                        help="where each study's tables/<study>/comparisons.tsv is read from (default: results)")
    parser.add_argument("--table", action="append", default=[], metavar="STUDY=TSV",
                        help="a study's comparisons table from elsewhere (repeatable; overrides --results-dir)")
    parser.add_argument("--write", action="store_true", help="regenerate the marked blocks instead of checking them")


def run(args) -> int:
    from genolm.atomic import atomic_file
    from genolm.comparisons_status import check_blocks, marked_studies, read_comparisons_table, write_blocks
    from genolm.errors import GenolmInputError

    documents = args.documents or [Path("README.md"), *sorted(Path("docs/studies").glob("*.md"))]
    given = {}
    for entry in args.table:
        study, sep, path = entry.partition("=")
        if not sep or not study or not path:
            raise GenolmInputError("--table", f"expected STUDY=TSV, got {entry!r}")
        given[study] = Path(path)
    problems = []
    for document in documents:
        if not document.is_file():
            raise GenolmInputError(document, "missing")
        text = document.read_text()
        studies = [s for s in marked_studies(text) if not given or s in given]
        tables = {s: read_comparisons_table(given.get(s, args.results_dir / "tables" / s / "comparisons.tsv"))
                  for s in studies}
        if args.write:
            updated = write_blocks(text, tables)
            if updated != text:
                with atomic_file(document) as tmp:
                    Path(tmp).write_text(updated)
                print(f"{document}: regenerated {', '.join(studies)}")
        else:
            problems += [f"{document}: {p}" for p in check_blocks(text, tables)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} disagreement(s): regenerate with `genolm comparisons-status --write` after the run",
              file=sys.stderr)
    return 1 if problems else 0
