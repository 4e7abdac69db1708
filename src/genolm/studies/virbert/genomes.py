"""The study's genomes: labelled phage / other virus, grouped into units, and split by unit.

Inputs (any mix):
  * the viral dataset of the workflow (`resources/viral/genomes.parquet` + `labels.parquet`, genolm.sources.viral):
    one row per sequence record (segment), `genome_id` shared by the segments of one virus, `is_phage` per record;
  * extra genome sets: a FASTA plus a TSV with columns `accession` (the FASTA record name), `genome_id`,
    `is_phage` (true/false) and optionally `origin` (real / synthetic) - e.g. the demo's genome families.
A families TSV (`genome_id`, `family`) may group genomes into families; a genome it does not list is its own family.

The split is drawn per unit (`family`, or `genome`), stratified by class: every record of a unit - the segments of
a virus, the relatives of a family - lands in one split, so no genome contributes to two splits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.fasta import fasta_records

LABEL_NAMES = ("other", "phage")  # label 1 = phage, the positive class of the binary F1
GENOME_TABLE_SCHEMA = {"genome_id": pl.Utf8, "family": pl.Utf8, "accession": pl.Utf8, "label": pl.Int64,
                       "origin": pl.Utf8, "length": pl.Int64, "split": pl.Utf8, "sequence": pl.Utf8}
_TRUE, _FALSE = {"true", "1", "yes", "phage"}, {"false", "0", "no", "other"}


def _read_table(path: Path, columns: Sequence[str], kind: str = "parquet") -> pl.DataFrame:
    """A parquet or TSV table that must have `columns`; one input error naming the file otherwise."""
    try:
        frame = pl.read_parquet(path) if kind == "parquet" else pl.read_csv(path, separator="\t", infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise GenolmInputError(path, f"cannot read as {'parquet' if kind == 'parquet' else 'TSV'} ({error})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GenolmInputError(path, f"missing column(s) {', '.join(missing)}")
    return frame


def viral_dataset(genomes: Path, labels: Path, qc: QCCounts) -> pl.DataFrame:
    """Records of the workflow's viral dataset with a phage / other label; unlabelled records are counted and dropped."""
    records = _read_table(genomes, ("genome_id", "accession", "sequence"))
    calls = _read_table(labels, ("accession", "is_phage"))
    table = records.join(calls.select("accession", "is_phage"), on="accession", how="left")
    unlabelled = table.filter(pl.col("is_phage").is_null())
    qc.add("records_in", len(table), "viral_dataset")
    qc.add("dropped_unlabelled", len(unlabelled), "viral_dataset")
    table = table.filter(pl.col("is_phage").is_not_null())
    return table.select("genome_id", "accession", pl.col("is_phage").cast(pl.Int64).alias("label"),
                        pl.lit("real").alias("origin"), "sequence")


def _flag(value: str, path: Path, line: int) -> int:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    raise GenolmInputError(path, f"is_phage {value!r} is not true/false", record=f"line {line}")


def extra_genomes(fasta: Path, table: Path, qc: QCCounts) -> pl.DataFrame:
    """Records of a FASTA whose TSV names each record's genome and label."""
    rows = _read_table(table, ("accession", "genome_id", "is_phage"), "tsv")
    info = {}
    for line, row in enumerate(rows.iter_rows(named=True), start=2):
        if row["accession"] in info:
            raise GenolmInputError(table, f"accession {row['accession']!r} listed twice", record=f"line {line}")
        info[row["accession"]] = (row["genome_id"], _flag(row["is_phage"], table, line), row.get("origin") or "real")
    out = []
    for record in fasta_records(fasta):
        if record.name not in info:
            raise GenolmInputError(fasta, f"record {record.name!r} is not listed in {table}", record=f"line {record.line}")
        genome_id, label, origin = info.pop(record.name)
        if not record.sequence:
            raise GenolmInputError(fasta, f"record {record.name!r} has no sequence", record=f"line {record.line}")
        out.append({"genome_id": genome_id, "accession": record.name, "label": label, "origin": origin,
                    "sequence": record.sequence.upper()})
    if info:
        raise GenolmInputError(table, f"accession(s) not in {fasta}: {', '.join(sorted(info)[:5])}")
    qc.add("records_in", len(out), Path(fasta).name)
    return pl.DataFrame(out, schema={"genome_id": pl.Utf8, "accession": pl.Utf8, "label": pl.Int64,
                                     "origin": pl.Utf8, "sequence": pl.Utf8})


def assign_families(records: pl.DataFrame, families: Path | None) -> pl.DataFrame:
    """Add `family` (the families TSV's, else the genome itself); a genome or family with two labels is an error."""
    if families is None:
        records = records.with_columns(pl.col("genome_id").alias("family"))
    else:
        mapping = _read_table(families, ("genome_id", "family"), "tsv").select("genome_id", "family")
        duplicated = mapping.filter(pl.col("genome_id").is_duplicated())
        if len(duplicated):
            raise GenolmInputError(families, f"genome {duplicated['genome_id'][0]!r} is listed twice")
        records = records.join(mapping, on="genome_id", how="left").with_columns(
            pl.coalesce("family", "genome_id").alias("family"))
    for unit in ("genome_id", "family"):
        mixed = records.group_by(unit).agg(pl.col("label").n_unique().alias("n")).filter(pl.col("n") > 1)
        if len(mixed):
            raise GenolmInputError(families or "genomes", f"{unit} {mixed[unit][0]!r} holds phages and other viruses")
    return records


def split_units(unit_labels: Mapping[str, int], fractions: Mapping[str, float], seed: int) -> dict[str, str]:
    """unit -> split, stratified by class: within each class the units are shuffled (by the seed) and cut by the
    fractions (largest remainder; every split with a positive fraction gets a unit of each class when the class
    has enough units)."""
    names = list(fractions)
    weights = np.asarray([fractions[n] for n in names], dtype=float)
    weights = weights / weights.sum()
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for label in sorted(set(unit_labels.values())):
        units = sorted(u for u, lab in unit_labels.items() if lab == label)
        units = [units[i] for i in rng.permutation(len(units))]
        counts = np.floor(weights * len(units)).astype(int)
        for i in np.argsort(-(weights * len(units) - counts), kind="stable")[: len(units) - counts.sum()]:
            counts[i] += 1
        # A split with a positive fraction but no unit of this class borrows one from the largest split.
        for i in np.flatnonzero((counts == 0) & (weights > 0)):
            donor = int(np.argmax(counts))
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[i] += 1
        start = 0
        for name, count in zip(names, counts):
            for unit in units[start : start + count]:
                out[unit] = name
            start += count
    return out


def build_genome_table(*, viral: tuple[Path, Path] | None, extra: Sequence[tuple[Path, Path]], families: Path | None,
                       split: Mapping[str, float], unit: str, seed: int, qc: QCCounts) -> pl.DataFrame:
    """All labelled records with their family and split (GENOME_TABLE_SCHEMA), sorted by split, genome, accession."""
    parts = []
    if viral is not None:
        parts.append(viral_dataset(*viral, qc))
    parts += [extra_genomes(fasta, table, qc) for fasta, table in extra]
    if not parts:
        raise GenolmInputError("config", "no genomes: enable the viral dataset or list extra genome sets")
    records = pl.concat(parts)
    duplicated = records.filter(pl.col("accession").is_duplicated())
    if len(duplicated):
        raise GenolmInputError("genomes", f"record {duplicated['accession'][0]!r} appears in two inputs")
    records = assign_families(records, families)
    key = "family" if unit == "family" else "genome_id"
    unit_labels = dict(records.select(key, "label").unique().iter_rows())
    for label, name in enumerate(LABEL_NAMES):
        n = sum(1 for v in unit_labels.values() if v == label)
        if n < len([f for f in split.values() if f > 0]):
            raise GenolmInputError("genomes", f"only {n} {unit}(s) of class {name!r}: too few to split "
                                              f"{', '.join(split)} by {unit}")
    assignment = split_units(unit_labels, split, seed)
    table = records.with_columns(
        pl.col(key).replace_strict(assignment, return_dtype=pl.Utf8).alias("split"),
        pl.col("sequence").str.len_chars().cast(pl.Int64).alias("length"),
    ).select(list(GENOME_TABLE_SCHEMA)).sort("split", "genome_id", "accession")
    for name, label, count in sorted(table.group_by("split", "label").len().iter_rows()):
        qc.add("records", count, f"{name}/{LABEL_NAMES[label]}")
    for name in split:
        part = table.filter(pl.col("split") == name)
        qc.add("genomes", part["genome_id"].n_unique(), name)
        qc.add("families", part["family"].n_unique(), name)
    return table
