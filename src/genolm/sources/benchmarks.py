"""The input formats of the benchmark suites the studies evaluate on, read into one table.

* Genomic Benchmarks: a dataset directory with `train/` and `test/`, each holding one directory per class
  with one sequence per `*.txt` file, or, as the suite publishes them, one interval table per class
  (`<class>.csv.gz` or `.csv`, columns `id, region, start, end, strand`; 0-based, end exclusive; `-` is
  reverse-complemented, `+` and the empty strand, which whole datasets have, are read forward as the suite's
  own library reads them). `metadata.yaml` names the reference of each class by URL (`demo_human_or_worm`:
  human GRCh38 and C. elegans; `demo_coding_vs_intergenomic_seqs`: transcript ids against the Ensembl cDNA).
  Each class is cut from the reference configured for that file name (`references`, keyed by the URL's last
  part): a prepared genome read by region, or a transcript FASTA read by record id (versions ignored, as the
  suite strips them). A class whose reference is not configured is an error naming both; a single
  `reference` serves only datasets whose classes all name one reference (or have no metadata.yaml).
* Nucleotide Transformer downstream tasks: `<task>/train.fna` and `<task>/test.fna`, headers `name|label`.

Both come out as BENCHMARK_SCHEMA rows; labels are integers. Genomic Benchmarks classes are numbered in sorted
name order (the suite's own loader numbers them in directory-listing order, which the file system decides);
`class_name` keeps the name and the QC table records the mapping (`class_label`, detail `<label>=<class>`).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError
from genolm.sources.fasta import fasta_records, reverse_complement
from genolm.sources.tables import require_complete_last_line
from genolm.qc import QCCounts
from genolm.yaml_files import read_yaml

BENCHMARK_SCHEMA = {"benchmark": pl.Utf8, "task": pl.Utf8, "split": pl.Utf8, "id": pl.Utf8, "label": pl.Int64,
                    "class_name": pl.Utf8, "sequence": pl.Utf8}
SPLITS = ("train", "test")
_ALLOWED = set("ACGTNRYKMSWBDHV")
_FORWARD = ("+", "")  # the suite's library reverse-complements "-" only; whole datasets leave the strand empty


def _check(sequence: str, path: Path, record: str) -> str:
    sequence = sequence.upper()
    if not sequence:
        raise GenolmInputError(path, "empty sequence", record=record)
    bad = set(sequence) - _ALLOWED
    if bad:
        raise GenolmInputError(path, f"invalid character(s) {''.join(sorted(bad))!r}", record=record)
    return sequence


@dataclass(frozen=True)
class ClassReference:
    """What a dataset's metadata.yaml says a class is cut from."""

    name: str  # the reference's file name: the last part of its URL
    url: str
    transcripts: bool  # regions are transcript ids (the suite's ENSEMBL_HUMAN_TRANSCRIPTOME processing)


def read_benchmark_metadata(root: Path) -> dict[str, ClassReference] | None:
    """Class -> its reference, from `<dataset>/metadata.yaml`; None when the dataset has no metadata.yaml."""
    path = Path(root) / "metadata.yaml"
    if not path.is_file():
        return None
    metadata = read_yaml(path)
    classes = metadata.get("classes") if isinstance(metadata, dict) else None
    if not isinstance(classes, dict) or not classes:
        raise GenolmInputError(path, "no `classes:` mapping (class name -> url, type)")
    out = {}
    for name, spec in classes.items():
        url = spec.get("url") if isinstance(spec, dict) else None
        if not isinstance(url, str) or not url.strip():
            raise GenolmInputError(path, f"class {name!r} has no reference url")
        processing = str(spec.get("extra_processing") or "")
        out[str(name)] = ClassReference(url.rstrip("/").rsplit("/", 1)[-1], url, "TRANSCRIPTOME" in processing)
    return out


def read_genomic_benchmark(root: Path, reference: Path | None = None, *,
                           references: Mapping[str, Path] | None = None,
                           transcripts: Mapping[str, Path] | None = None) -> tuple[pl.DataFrame, QCCounts]:
    """A Genomic Benchmarks dataset directory.

    Interval tables are cut from `references` (reference file name as metadata.yaml gives it -> a prepared,
    indexed genome) or `transcripts` (file name -> a FASTA read by record id); `reference` alone serves a
    dataset without metadata.yaml or whose classes all name the same reference.
    """
    root = Path(root)
    references, transcripts = dict(references or {}), dict(transcripts or {})
    qc = QCCounts("prepare_benchmark")
    metadata = read_benchmark_metadata(root)
    rows = []
    intervals: dict[str, list[tuple[str, Path, list[dict]]]] = {}  # class -> (split, table, rows)
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
            class_name = path.name.removesuffix(".gz").removesuffix(".csv")
            intervals.setdefault(class_name, []).append((split, path, _interval_rows(path)))
    if intervals:
        _check_metadata_classes(root, metadata, intervals)
        for class_name, tables in sorted(intervals.items()):
            sequences = _class_sequences(root, class_name, metadata, reference, references, transcripts)
            for split, path, table in tables:
                kept = 0
                for row in table:
                    sequence = sequences.fetch(row, path, qc)
                    if sequence is not None:
                        rows.append((split, row["id"], class_name, _check(sequence, path, row["record"])))
                        kept += 1
                if table and not kept:
                    raise GenolmInputError(path, f"none of its {len(table)} regions is in {sequences.describe()}: "
                                                 f"class {class_name!r} is configured with the wrong reference")
    classes = sorted({r[2] for r in rows})
    table = pl.DataFrame(
        [{"benchmark": "genomic_benchmarks", "task": root.name, "split": s, "id": i, "label": classes.index(c),
          "class_name": c, "sequence": q} for s, i, c, q in rows], schema=BENCHMARK_SCHEMA)
    for split, class_name, count in table.group_by("split", "class_name").len().sort("split", "class_name").iter_rows():
        qc.add("sequences", count, detail=f"{split}/{class_name}")
    for label, class_name in enumerate(classes):
        qc.add("class_label", int((table["class_name"] == class_name).sum()), detail=f"{label}={class_name}")
    return table, qc


def _check_metadata_classes(root: Path, metadata: dict[str, ClassReference] | None,
                            intervals: Mapping[str, list]) -> None:
    if metadata is None:
        return
    for class_name in intervals:
        if class_name not in metadata:
            raise GenolmInputError(root / "metadata.yaml", f"class {class_name!r} has interval tables but no entry "
                                                           f"(classes listed: {', '.join(sorted(metadata))})")
    for class_name in metadata:
        splits = {split for split, _, _ in intervals.get(class_name, [])}
        for split in SPLITS:
            if split not in splits:
                raise GenolmInputError(root / split, f"no interval table for class {class_name!r}, which "
                                                     "metadata.yaml lists")


def _interval_rows(path: Path) -> list[dict]:
    require_complete_last_line(path)  # a plain .csv cut short; gzip checks its own length
    try:
        return _read_interval_rows(path)
    except (EOFError, OSError, UnicodeDecodeError) as error:  # a .csv.gz cut short or damaged
        raise GenolmInputError(path, f"cannot be read to its end ({error}): download the dataset again") from error


def _read_interval_rows(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    rows = []
    with opener(path, "rb") as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        missing = {"id", "region", "start", "end", "strand"} - set(reader.fieldnames or [])
        if missing:
            raise GenolmInputError(path, f"interval table lacks column(s) {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, start=2):
            record = f"line {number}"
            if None in row.values():
                # Fewer fields than the header: a cut or damaged row. An empty strand is a field ("...,120,"),
                # a missing one is not, and must not be read forward.
                raise GenolmInputError(path, f"{sum(v is not None for v in row.values())} fields where the header "
                                             f"has {len(reader.fieldnames)}: a truncated or damaged row",
                                       record=record)
            try:
                start, end = int(row["start"]), int(row["end"])
            except (TypeError, ValueError) as error:
                raise GenolmInputError(path, f"start/end not integers: {error}", record=record) from error
            strand = (row["strand"] or "").strip()
            if strand not in _FORWARD and strand != "-":
                raise GenolmInputError(path, f"strand {strand!r} is neither +, - nor empty", record=record)
            rows.append({"id": row["id"], "region": row["region"], "start": start, "end": end, "strand": strand,
                         "record": record})
    return rows


class _GenomeSequences:
    def __init__(self, path: Path, name: str):
        from genolm.sources.reference import ReferenceGenome

        self.genome, self.name = ReferenceGenome(path), name

    def describe(self) -> str:
        return f"the reference {self.name} ({self.genome.path})"

    def fetch(self, row: dict, path: Path, qc: QCCounts) -> str | None:
        chrom = self.genome.canonical(row["region"])
        if chrom is None:
            qc.add("region_not_in_reference", detail=row["region"])
            return None
        start, end = row["start"], row["end"]
        if not 0 <= start < end <= self.genome.lengths[chrom]:
            raise GenolmInputError(path, f"{row['region']}:{start}-{end} is outside the reference "
                                         f"(0-{self.genome.lengths[chrom]})", record=row["record"])
        return _oriented(self.genome.fetch(chrom, start, end), row, qc)


class _TranscriptSequences:
    """Records of a transcript FASTA (Ensembl cDNA) by id without version: only the ids the tables name."""

    def __init__(self, path: Path, name: str, wanted: set[str]):
        self.path, self.name = Path(path), name
        self.records: dict[str, str] = {}
        for record in fasta_records(self.path):
            key = record.name.split(".")[0]
            if key in wanted:
                self.records.setdefault(key, record.sequence.upper())

    def describe(self) -> str:
        return f"the transcripts {self.name} ({self.path})"

    def fetch(self, row: dict, path: Path, qc: QCCounts) -> str | None:
        sequence = self.records.get(row["region"].split(".")[0])
        if sequence is None:
            qc.add("transcript_not_in_reference", detail=row["region"])
            return None
        if not 0 <= row["start"] < row["end"] <= len(sequence):
            raise GenolmInputError(path, f"{row['region']}:{row['start']}-{row['end']} is outside the transcript "
                                         f"(0-{len(sequence)})", record=row["record"])
        return _oriented(sequence[row["start"]:row["end"]], row, qc)


def _oriented(sequence: str, row: dict, qc: QCCounts) -> str:
    if row["strand"] == "-":
        return reverse_complement(sequence.upper())
    if row["strand"] == "":
        qc.add("strand_empty_read_forward")
    return sequence


def _class_sequences(root: Path, class_name: str, metadata: dict[str, ClassReference] | None,
                     reference: Path | None, references: dict[str, Path], transcripts: dict[str, Path]):
    """Where a class's intervals are cut from; an error naming the class when that is not configured."""
    if metadata is None:
        if reference is None:
            raise GenolmInputError(root, "interval tables need the reference genome (--reference)")
        return _GenomeSequences(reference, Path(reference).name)
    wanted = metadata[class_name]
    if wanted.name in transcripts:
        ids = set()
        for split in SPLITS:
            for path in (root / split).glob(f"{class_name}.csv*"):
                ids.update(row["region"].split(".")[0] for row in _interval_rows(path))
        return _TranscriptSequences(transcripts[wanted.name], wanted.name, ids)
    if wanted.name in references:
        return _GenomeSequences(references[wanted.name], wanted.name)
    distinct = {c.name for c in metadata.values()}
    if reference is not None and not references and not transcripts and len(distinct) == 1 and not wanted.transcripts:
        return _GenomeSequences(reference, wanted.name)
    kind = "transcripts" if wanted.transcripts else "genome"
    if reference is not None and len(distinct) > 1:
        how = (f"the dataset names {len(distinct)} references, so one reference cannot serve every class: map each "
               "file name in the task's `references` (--reference-for, --transcripts-for)")
    elif wanted.transcripts:
        how = "map that file name to a transcript FASTA in the task's `references` (--transcripts-for)"
    else:
        how = ("give it as the task's reference (--reference) or map that file name in the task's `references` "
               "(--reference-for)")
    raise GenolmInputError(root / "metadata.yaml", f"class {class_name!r} is cut from {wanted.name} ({kind}, "
                                                   f"{wanted.url}), which is not configured: {how}")


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
