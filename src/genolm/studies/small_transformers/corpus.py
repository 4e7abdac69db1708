"""The small-transformer study's datasets: the mitochondrial pretraining corpus and the 12S species task.

Mitochondrial corpus (thesis 4.2.1). A random subset of genomes (`max_genomes`; the thesis used 2,000 for 6-mers,
3,000 for 9-mers, 4,000 for 12-mers) is split by genome: a random `test_fraction` of the genomes is the test set,
then `val_fraction` of the rest the validation set (2,000 genomes -> 1,620 / 180 / 200). Every genome is then
cut into windows of `window` bases every `stride` bases (the last window ends at the genome's end), so no window
of a test genome is ever seen in training. Rows: `sequence`, `sample` = the genome's FASTA id, `split`.

12S species classification (thesis 4.2.3). One 12S gene per species (the first record by accession, complete
genes before partial ones), 31 corrupted copies of each (`corrupt`: a substitution rate drawn from U(0.5 %, 5 %),
that many distinct A/C/G/T positions each changed to one of the three other bases, every base equally likely,
as sequencing errors), then the 32 x species examples shuffled and split 81/9/10. The label is the species'
index in sorted species order (every species has an output neuron, whichever splits its copies land in); the
unit of the split is the copy, as in the thesis: species classification needs every species in training, and
the copies of one record are what the task asks the model to recognise despite the errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.fasta import fasta_records

BASES = "ACGT"
_CODES = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    _CODES[ord(_b)] = _i
_LETTERS = np.frombuffer(BASES.encode(), dtype=np.uint8)


# ---- splits ---------------------------------------------------------------------------------------------------
def genome_split(ids: list[str], *, test_fraction: float, val_fraction: float, seed: int) -> dict[str, str]:
    """Genome id -> split: round(test_fraction * n) genomes to test, then round(val_fraction * rest) to val."""
    if len(set(ids)) != len(ids):
        raise ValueError("genome ids must be unique")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    n_test = round(test_fraction * len(ids))
    n_val = round(val_fraction * (len(ids) - n_test))
    splits = {}
    for rank, index in enumerate(order):
        splits[ids[index]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def fraction_split(n: int, fractions: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Split names for n shuffled examples, sizes by largest remainder (81/9/10 of 32 x species)."""
    names = list(fractions)
    total = sum(fractions.values())
    exact = [fractions[s] / total * n for s in names]
    sizes = [math.floor(x) for x in exact]
    for i in sorted(range(len(names)), key=lambda i: -(exact[i] - sizes[i]))[: n - sum(sizes)]:
        sizes[i] += 1
    labels = np.repeat(np.array(names, dtype=object), sizes)
    return labels[rng.permutation(n)]


# ---- windows --------------------------------------------------------------------------------------------------
def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Starts of windows of `window` bases every `stride` bases; the last one ends at the sequence's end."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


def read_genomes(paths: Iterable[Path], qc: QCCounts, *, min_length: int) -> list[tuple[str, str]]:
    """(id, uppercase sequence) of every FASTA record; ids must be unique across files."""
    genomes: dict[str, str] = {}
    for path in paths:
        for record in fasta_records(path):
            ident = record.name
            if not ident:
                raise GenolmInputError(path, "FASTA record without an id", record=f"line {record.line}")
            if ident in genomes:
                raise GenolmInputError(path, f"genome id {ident!r} occurs twice", record=f"line {record.line}")
            sequence = record.sequence.upper()
            if len(sequence) < min_length:
                qc.add("genome_shorter_than_min_length", 1)
                continue
            genomes[ident] = sequence
            qc.add("genomes_read", 1)
    if not genomes:
        raise GenolmInputError(", ".join(map(str, paths)), f"no genome of at least {min_length} bases")
    return list(genomes.items())


def mito_corpus(genomes: list[tuple[str, str]], *, window: int, stride: int, max_genomes: int | None,
                test_fraction: float, val_fraction: float, seed: int, qc: QCCounts) -> pa.Table:
    """The windows of a random genome subset, split by genome (SEQUENCE_SCHEMA rows: sequence, label null,
    sample = genome id, split, window_id)."""
    rng = np.random.default_rng(seed)
    if max_genomes is not None and max_genomes < len(genomes):
        keep = np.sort(rng.choice(len(genomes), size=max_genomes, replace=False))
        qc.add("genomes_not_in_subset", len(genomes) - max_genomes)
        genomes = [genomes[i] for i in keep]
    else:
        qc.add("genomes_not_in_subset", 0)
    splits = genome_split([g for g, _ in genomes], test_fraction=test_fraction, val_fraction=val_fraction, seed=seed)
    rows: dict[str, list] = {"sequence": [], "sample": [], "split": []}
    for ident, sequence in genomes:
        split = splits[ident]
        qc.add("genomes_in_split", 1, detail=split)
        for start in window_starts(len(sequence), window, stride):
            rows["sequence"].append(sequence[start : start + window])
            rows["sample"].append(ident)
            rows["split"].append(split)
            qc.add("windows_in_split", 1, detail=split)
    n = len(rows["sequence"])
    return pa.table({
        "sequence": pa.array(rows["sequence"], pa.large_string()),
        "label": pa.nulls(n, pa.int64()),
        "sample": pa.array(rows["sample"], pa.string()),
        "split": pa.array(rows["split"], pa.string()),
        "window_id": pa.array(np.arange(n, dtype=np.int64)),
    })


# ---- corrupted copies -----------------------------------------------------------------------------------------
def corrupt(sequence: str, rate: float, rng: np.random.Generator) -> tuple[str, int]:
    """`sequence` with round(rate x its A/C/G/T count) distinct A/C/G/T positions each changed to one of the three
    other bases (uniformly); other characters (N, IUPAC codes) are kept. Returns (copy, substitutions)."""
    codes = _CODES[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
    valid = np.flatnonzero(codes < 4)
    n = int(round(rate * len(valid)))
    if n == 0:
        return sequence, 0
    positions = rng.choice(valid, size=n, replace=False)
    new = (codes[positions] + rng.integers(1, 4, size=n)) % 4  # never the same base
    out = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8).copy()
    out[positions] = _LETTERS[new]
    return out.tobytes().decode("ascii"), n


def corrupted_copies(sequence: str, n_copies: int, rate_range: tuple[float, float],
                     rng: np.random.Generator) -> list[tuple[str, float, int]]:
    """`n_copies` corrupted copies, each at a rate drawn from U(rate_range): (copy, rate, substitutions)."""
    low, high = rate_range
    if not 0 <= low <= high <= 1:
        raise ValueError(f"need 0 <= low <= high <= 1 for the substitution rate, got {rate_range}")
    out = []
    for rate in rng.uniform(low, high, size=n_copies):
        copy, n = corrupt(sequence, float(rate), rng)
        out.append((copy, float(rate), n))
    return out


# ---- the species task -----------------------------------------------------------------------------------------
def read_marker_fasta(path: Path) -> pl.DataFrame:
    """A marker FASTA whose headers are `<species>|<record id>` (the demo's stand-in for the 12S table)."""
    rows = []
    for record in fasta_records(path):
        species, sep, ident = record.title.partition("|")
        if not sep or not species.strip() or not ident.strip():
            raise GenolmInputError(path, f"header {record.title!r} is not '<species>|<record id>'",
                                   record=f"line {record.line}")
        rows.append({"species": species.strip(), "accession": record.title.split()[0],
                     "sequence": record.sequence.upper(), "partial": False})
    if not rows:
        raise GenolmInputError(path, "no FASTA records")
    return pl.DataFrame(rows)


def read_twelve_s(path: Path) -> pl.DataFrame:
    """resources/mito/12s.parquet (genolm prepare-mito): species, accession, sequence, partial."""
    try:
        table = pl.read_parquet(path)
    except Exception as error:  # polars raises several types for a file that is not Parquet
        raise GenolmInputError(path, f"cannot read the 12S table: {error}") from None
    missing = [c for c in ("species", "accession", "sequence", "partial") if c not in table.columns]
    if missing:
        raise GenolmInputError(path, f"not a 12S table (genolm prepare-mito): missing column(s) {', '.join(missing)}")
    nulls = table.filter(pl.col("species").is_null() | pl.col("sequence").is_null())
    if len(nulls):
        raise GenolmInputError(path, "a record has no species or sequence", record=f"accession {nulls['accession'][0]}")
    return table.select("species", "accession", "sequence", "partial")


def one_record_per_species(markers: pl.DataFrame, qc: QCCounts, *, min_length: int) -> pl.DataFrame:
    """The record each species keeps: complete before partial, then by accession; shorter ones are dropped."""
    short = markers.filter(pl.col("sequence").str.len_chars() < min_length)
    qc.add("record_shorter_than_min_length", len(short))
    markers = markers.filter(pl.col("sequence").str.len_chars() >= min_length)
    chosen = markers.sort("species", "partial", "accession").unique("species", keep="first", maintain_order=True)
    qc.add("other_record_of_species_dropped", len(markers) - len(chosen))
    qc.add("species", len(chosen))
    return chosen.sort("species")


def species_dataset(markers: pl.DataFrame, *, copies: int, rate_range: tuple[float, float],
                    split: dict[str, float], marker_bases: int | None, seed: int,
                    qc: QCCounts) -> tuple[pa.Table, list[str], pl.DataFrame]:
    """(shard table, species names in label order, per-example table of rates) of the species task.

    `markers` has one row per species (one_record_per_species). Each species gives the record itself plus
    `copies` corrupted copies; `marker_bases` keeps only the first bases of each record (the part a model's
    context holds)."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    rng = np.random.default_rng(seed)
    species = markers["species"].to_list()
    sequences, labels, samples, rates, subs = [], [], [], [], []
    for label, (name, accession, sequence) in enumerate(markers.select("species", "accession", "sequence").iter_rows()):
        if marker_bases is not None:
            sequence = sequence[:marker_bases]
        sequences.append(sequence)
        labels.append(label)
        samples.append(accession)
        rates.append(0.0)
        subs.append(0)
        for copy, rate, n in corrupted_copies(sequence, copies, rate_range, rng):
            sequences.append(copy)
            labels.append(label)
            samples.append(accession)
            rates.append(rate)
            subs.append(n)
    n = len(sequences)
    splits = fraction_split(n, split, rng)
    for name in split:
        qc.add("examples_in_split", int((splits == name).sum()), detail=name)
    missing = sorted(set(range(len(species))) - set(np.asarray(labels)[splits == "train"].tolist()))
    qc.add("species_without_train_example", len(missing))
    table = pa.table({
        "sequence": pa.array(sequences, pa.large_string()),
        "label": pa.array(labels, pa.int64()),
        "sample": pa.array(samples, pa.string()),
        "split": pa.array(splits.tolist(), pa.string()),
        "window_id": pa.array(np.arange(n, dtype=np.int64)),
    })
    details = pl.DataFrame({"window_id": np.arange(n), "label": labels, "sample": samples, "split": splits.tolist(),
                            "rate": rates, "substitutions": subs})
    return table, species, details
