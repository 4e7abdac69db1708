"""`genolm small-transformers-tables`: the thesis' Tables 5.1-5.4 from the study's result rows, beside the
thesis' numbers, and a figure per task (bars with the seed spread)."""

from __future__ import annotations

import json
from pathlib import Path

HELP = ("pivot the small-transformer study's metrics into the thesis' table layouts (markdown + TSV, beside the "
        "thesis' numbers) and draw a figure per task")


def add_arguments(parser) -> None:
    parser.add_argument("--metrics", type=Path, nargs="+", required=True, help="per-job metrics.parquet files")
    parser.add_argument("--languages", default="{}", help="JSON: species experiment -> its init's name in Table 5.3")
    parser.add_argument("--tss-languages", default="{}", help="JSON: TSS experiment -> its init's name")
    parser.add_argument("--chromatin-languages", default="{}", help="JSON: chromatin experiment -> its init's name (Table 5.4)")
    parser.add_argument("--examples", type=Path, help="examples.parquet of species-dataset (majority baseline)")
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--tsv", type=Path, required=True)
    parser.add_argument("--figure-dir", type=Path, required=True,
                        help="species_12s.png, pretraining.png, tss_localization.png, chromatin_profiles.png are written here")


def run(args) -> int:
    from genolm.atomic import atomic_file, written_path
    from genolm.results import collect_metrics
    from genolm.studies.small_transformers import tables

    metrics = collect_metrics(args.metrics)
    languages = json.loads(args.languages)
    majority = tables.majority_share(args.examples) if args.examples else None
    pretraining = tables.pretraining_table(metrics)
    species = tables.species_table(metrics, languages, majority)
    tss = tables.tss_table(metrics, json.loads(args.tss_languages))
    chromatin = tables.chromatin_table(metrics, json.loads(args.chromatin_languages))
    with atomic_file(args.markdown) as tmp:
        Path(tmp).write_text(tables.markdown(pretraining, species, tss, chromatin))
    with atomic_file(args.tsv) as tmp:
        tables.long_table(pretraining, species, tss, chromatin).write_csv(tmp, separator="\t")
    if len(tss):
        tables.plot_tss(tss, metrics, args.figure_dir / "tss_localization.png")
    if len(chromatin):
        tables.plot_chromatin(chromatin, metrics, args.figure_dir / "chromatin_profiles.png")
    if len(species):
        tables.plot_species(metrics, languages, majority, args.figure_dir / "species_12s.png")
    if len(pretraining):
        tables.plot_pretraining(pretraining, args.figure_dir / "pretraining.png")
    print(written_path(args.markdown).read_text())
    return 0
