"""Compare the results of two workflow runs, file by file: is a change (a refactor, a dependency upgrade) free of
any effect on the numbers?

    python scripts/compare_result_tables.py RUN_A RUN_B     # two work directories, each with a results/ tree

Compared: every table under results/tables/ (.tsv, .md) and every job's metrics.parquet and predictions.parquet,
as tables (Parquet and TSV cells equal, column order and row order included), ignoring the columns that name a
run rather than describe a result (mlflow_run_id) and the MLflow store. Prints each file that differs or exists
in one run only, a count per kind, and exits 1 if anything differs.

Both runs must use the same configuration and start from nothing (their own work directories): the workflow is
deterministic on a CPU, so equal code gives equal files and any difference is the change's.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import polars as pl

IGNORED_COLUMNS = {"mlflow_run_id"}
KINDS = (".tsv", ".md", ".parquet")


def result_files(run: Path) -> set[Path]:
    results = run / "results"
    return {p.relative_to(results) for p in results.rglob("*") if p.is_file() and "mlflow" not in p.parts
            and p.suffix in KINDS and ("tables" in p.parts or p.name in ("metrics.parquet", "predictions.parquet"))}


def load(path: Path) -> pl.DataFrame | str:
    if path.suffix == ".md":
        return path.read_text()
    table = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, separator="\t", infer_schema_length=0)
    return table.drop([c for c in table.columns if c in IGNORED_COLUMNS])


def equal(a: pl.DataFrame | str, b: pl.DataFrame | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a.columns == b.columns and a.shape == b.shape and a.equals(b)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    first, second = (Path(a) for a in argv)
    a, b = result_files(first), result_files(second)
    counts, differing = Counter(), []
    for rel in sorted(a & b):
        kind = rel.name if rel.name in ("metrics.parquet", "predictions.parquet") else f"tables *{rel.suffix}"
        if equal(load(first / "results" / rel), load(second / "results" / rel)):
            counts[kind] += 1
        else:
            differing.append(rel)
    for rel in differing:
        print(f"differs: results/{rel}")
    for rel in sorted(a - b):
        print(f"only in {first}: results/{rel}")
    for rel in sorted(b - a):
        print(f"only in {second}: results/{rel}")
    print(f"equal: {sum(counts.values())} files ({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}); "
          f"differ: {len(differing)}; in one run only: {len(a ^ b)}")
    return 1 if differing or a ^ b else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
