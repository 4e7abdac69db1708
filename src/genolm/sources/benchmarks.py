"""The input formats of the benchmark suites the studies evaluate on, read into one table.

* Genomic Benchmarks: a dataset directory with `train/` and `test/`, each holding one directory per class
  with one sequence per `*.txt` file, or, before sequences are fetched, one interval table per class
  (`<class>.csv` or `.csv.gz`, columns `id, region, start, end, strand`; 0-based half-open on the reference,
  `-` strand reverse-complemented).
* Nucleotide Transformer downstream tasks: `<task>/train.fna` and `<task>/test.fna`, headers `name|label`.

Both come out as BENCHMARK_SCHEMA rows; labels are integers (Genomic Benchmarks classes numbered in sorted
name order, `class_name` keeps the name).
"""

from __future__ import annotations

import gzip
import io
import csv
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError
from genolm.sources.fasta import fasta_records
from genolm.qc import QCCounts

BENCHMARK_SCHEMA = {"benchmark": pl.Utf8, "task": pl.Utf8, "split": pl.Utf8, "id": pl.Utf8, "label": pl.Int64,
                    "class_name": pl.Utf8, "sequence": pl.Utf8}
SPLITS = ("train", "test")
_COMPLEMENT = str.maketrans("ACGTNRYKMSWBDHV", "TGCANYRMKSWVHDB")
_ALLOWED = set("ACGTNRYKMSWBDHV")


def _check(sequence: str, path: Path, record: str) -> str:
    sequence = sequence.upper()
    if not sequence:
        raise GenolmInputError(path, "empty sequence", record=record)
    bad = set(sequence) - _ALLOWED
    if bad:
        raise GenolmInputError(path, f"invalid character(s) {''.join(sorted(bad))!r}", record=record)
    return sequence


def read_genomic_benchmark(root: Path, reference=None) -> tuple[pl.DataFrame, QCCounts]:
    """A Genomic Benchmarks dataset directory; `reference` (a ReferenceGenome) is needed for interval tables."""
    root = Path(root)
    qc = QCCounts("prepare_benchmark")
    rows = []
    for split in SPLITS:
        directory = root / split
        if not directory.is_dir():
            raise GenolmInputError(root, f"no {split}/ directory: not a Genomic Benchmarks dataset")
        class_dirs = sorted(p for p in directory.iterdir() if p.is_dir())
        tables = sorted(p for p in directory.iterdir() if p.name.endswith((".csv", ".csv.gz")))
        if class_dirs and tables:
            raise GenolmInputError(directory, "holds both class directories and interval tables")
        if not class_dirs and not tables:
            raise GenolmInputError(directory, "no class directories and no interval tables")
        for path in class_dirs:
            for file in sorted(path.glob("*.txt")):
                sequence = "".join(file.read_text(encoding="ascii", errors="replace").split())
                rows.append((split, file.stem, path.name, _check(sequence, file, file.name)))
        for path in tables:
            if reference is None:
                raise GenolmInputError(path, "interval tables need the reference genome (--reference)")
            class_name = path.name.removesuffix(".gz").removesuffix(".csv")
            for record, name, sequence in _intervals(path, reference, qc):
                rows.append((split, name, class_name, _check(sequence, path, record)))
    classes = sorted({r[2] for r in rows})
    table = pl.DataFrame(
        [{"benchmark": "genomic_benchmarks", "task": root.name, "split": s, "id": i, "label": classes.index(c),
          "class_name": c, "sequence": q} for s, i, c, q in rows], schema=BENCHMARK_SCHEMA)
    for split, class_name, count in table.group_by("split", "class_name").len().sort("split", "class_name").iter_rows():
        qc.add("sequences", count, detail=f"{split}/{class_name}")
    return table, qc


def _intervals(path: Path, reference, qc: QCCounts):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        missing = {"id", "region", "start", "end", "strand"} - set(reader.fieldnames or [])
        if missing:
            raise GenolmInputError(path, f"interval table lacks column(s) {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, start=2):
            record = f"line {number}"
            try:
                start, end = int(row["start"]), int(row["end"])
            except ValueError as error:
                raise GenolmInputError(path, f"start/end not integers: {error}", record=record) from error
            if reference.canonical(row["region"]) is None:
                qc.add("region_not_in_reference", detail=row["region"])
                continue
            chrom = reference.canonical(row["region"])
            if not 0 <= start < end <= reference.lengths[chrom]:
                raise GenolmInputError(path, f"{row['region']}:{start}-{end} is outside the reference "
                                             f"(0-{reference.lengths[chrom]})", record=record)
            sequence = reference.fetch(chrom, start, end)
            if row["strand"] == "-":
                sequence = sequence.translate(_COMPLEMENT)[::-1]
            elif row["strand"] != "+":
                raise GenolmInputError(path, f"strand {row['strand']!r} is neither + nor -", record=record)
            yield record, row["id"], sequence


def read_nt_task(task_dir: Path) -> tuple[pl.DataFrame, QCCounts]:
    """A Nucleotide Transformer downstream task directory (`train.fna`, `test.fna`, headers `name|label`)."""
    task_dir = Path(task_dir)
    qc = QCCounts("prepare_benchmark")
    rows = []
    for split in SPLITS:
        path = task_dir / f"{split}.fna"
        if not path.is_file():
            raise GenolmInputError(task_dir, f"no {split}.fna: not a Nucleotide Transformer task directory")
        for header, sequence, number in fasta_records(path):
            name, sep, label = header.rpartition("|")
            if not sep or not label.strip().lstrip("-").isdigit():
                raise GenolmInputError(path, f"header {header!r} does not end in '|<integer label>'",
                                       record=f"line {number}")
            rows.append({"benchmark": "nucleotide_transformer", "task": task_dir.name, "split": split, "id": name,
                         "label": int(label), "class_name": label.strip(),
                         "sequence": _check(sequence, path, f"line {number}")})
        qc.add("sequences", sum(r["split"] == split for r in rows), detail=split)
    return pl.DataFrame(rows, schema=BENCHMARK_SCHEMA), qc
