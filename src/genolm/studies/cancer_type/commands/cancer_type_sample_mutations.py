"""`genolm cancer-type-sample-mutations`: the selected cell lines' mutations the zero-shot arm scores, at most a
configured number per cell line (genolm.studies.cancer_type.zero_shot.sample_mutations)."""

from __future__ import annotations

from pathlib import Path

HELP = ("The selected cell lines' mutations for the zero-shot arm, at most --max-per-cell-line of each (drawn with "
        "--seed); QC counts the mutations left out.")


def add_arguments(parser) -> None:
    parser.add_argument("--cell-lines", type=Path, required=True, help="select-cell-lines' cell_lines.parquet")
    parser.add_argument("--mutations", type=Path, required=True, help="prepare-mutations' mutations.parquet")
    parser.add_argument("--max-per-cell-line", type=int, default=None,
                        help="keep at most this many mutations of each cell line (default: all)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the draw")
    parser.add_argument("--out", type=Path, required=True, help="mutations parquet (the input's columns)")
    parser.add_argument("--qc", type=Path, required=True, help="QC table (TSV)")


def run(args) -> int:
    import polars as pl

    from genolm.qc import QCCounts
    from genolm.sources.mutations import write_parquet
    from genolm.studies.cancer_type.zero_shot import sample_mutations

    qc = QCCounts("cancer_type_sample_mutations")
    kept = sample_mutations(pl.read_parquet(args.mutations), pl.read_parquet(args.cell_lines),
                            max_per_cell_line=args.max_per_cell_line, seed=args.seed, qc=qc)
    write_parquet(kept, args.out)
    qc.write(args.qc)
    return 0
