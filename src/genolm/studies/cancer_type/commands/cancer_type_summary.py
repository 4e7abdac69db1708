from __future__ import annotations

from pathlib import Path

HELP = "The cancer-type results pivoted per experiment (mean ± sd over seeds, bootstrap intervals) beside the thesis."


def add_arguments(parser) -> None:
    parser.add_argument("--metrics", type=Path, required=True, help="results table (metrics.parquet)")
    parser.add_argument("--out-tsv", type=Path, required=True)
    parser.add_argument("--out-md", type=Path, required=True)


def run(args) -> int:
    from genolm.atomic import atomic_file
    from genolm.results import read_metrics
    from genolm.studies.cancer_type.summary import directions_markdown, directions_table, summary_table, to_markdown

    metrics = read_metrics(args.metrics)
    table = summary_table(metrics)
    text = to_markdown(table) + "\n## The thesis' directions\n\n" + directions_markdown(directions_table(metrics))
    with atomic_file(args.out_tsv) as tmp:
        table.write_csv(tmp, separator="\t")
    with atomic_file(args.out_md) as tmp:
        tmp.write_text(text)
    print(text)
    return 0
