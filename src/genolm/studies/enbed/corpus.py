"""ENBED's pretraining corpus: several assemblies (RefSeq GCF and GenBank GCA alike, GRCh38) concatenated with
their FASTA headers dropped and hard-masked N removed, cut into byte windows.

The paper concatenates each assembly's records and removes the 'N' bases; genolm does the same per assembly
(the records of one assembly are joined in file order, every N or n is dropped, so the bases either side of an N
run become neighbours, as in the paper's corpus) and cuts non-overlapping windows of `length` bytes from the
joined sequence. Case is kept: the byte tokenizer does not fold it, and soft-masked repeats are part of the
text. Each window's `sample` is its assembly; `--max-windows` draws that many windows per assembly at random
(seeded) when an assembly has more; a `val_fraction` of each assembly's windows forms the validation split.

QC (adds up per assembly): `bases` read = `n_removed` + `bases_in_windows` + `tail_bases` (the remainder after
the last whole window) + `bases_not_drawn` (windows beyond --max-windows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter, build_provenance
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.fasta import read_fasta

_N_RUN = re.compile(r"[Nn]+")


def assembly_name(path: Path) -> str:
    """`GCF_000005845.2` from `.../GCF_000005845.2.fa.gz` or `..._genomic.fna.gz`; else the file stem."""
    match = re.search(r"GC[AF]_\d{9}\.\d+", path.name)
    if match:
        return match.group(0)
    name = path.name
    for suffix in (".gz", ".fa", ".fna", ".fasta"):
        name = name.removesuffix(suffix)
    # A prepared reference (resources/reference/<source>/genome.fa.gz) is named by its source.
    return path.parent.name if name == "genome" else name


def joined_without_n(path: Path, qc: QCCounts, name: str) -> str:
    """The assembly's records joined in file order, headers dropped, every N removed."""
    parts, total, removed = [], 0, 0
    for _title, sequence in read_fasta(path):
        total += len(sequence)
        cleaned = _N_RUN.sub("", sequence)
        removed += len(sequence) - len(cleaned)
        parts.append(cleaned)
    if total == 0:
        raise GenolmInputError(path, "no sequence: an empty assembly")
    qc.add("bases", total, name)
    qc.add("n_removed", removed, name)
    return "".join(parts)


def corpus_windows(genomes: Iterable[Path], *, length: int, max_windows: int | None, val_fraction: float,
                   seed: int, qc: QCCounts) -> pa.Table:
    """SEQUENCE_SCHEMA rows: every assembly's windows, split train/val."""
    if length < 1:
        raise ValueError(f"window length must be positive, got {length}")
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("sequence", "label", "sample", "split", "window_id")}
    seen: set[str] = set()
    for path in genomes:
        path = Path(path)
        name = assembly_name(path)
        if name in seen:
            raise GenolmInputError(path, f"assembly {name} is given twice")
        seen.add(name)
        text = joined_without_n(path, qc, name)
        count = len(text) // length
        qc.add("tail_bases", len(text) - count * length, name)
        chosen = np.arange(count)
        if max_windows is not None and count > max_windows:
            chosen = np.sort(rng.choice(count, size=max_windows, replace=False))
        qc.add("bases_not_drawn", (count - len(chosen)) * length, name)
        qc.add("bases_in_windows", len(chosen) * length, name)
        qc.add("windows", len(chosen), name)
        n_val = int(round(val_fraction * len(chosen)))
        val = set(rng.choice(len(chosen), size=n_val, replace=False).tolist()) if n_val else set()
        for i, start in enumerate(chosen.tolist()):
            rows["sequence"].append(text[start * length : (start + 1) * length])
            rows["label"].append(None)
            rows["sample"].append(name)
            rows["split"].append("val" if i in val else "train")
            rows["window_id"].append(len(rows["window_id"]))
    if not rows["sequence"]:
        raise GenolmInputError(", ".join(map(str, genomes)) or "genomes", f"no assembly is {length} bases long after N removal")
    return pa.Table.from_pydict(rows, schema=SEQUENCE_SCHEMA)


def write_corpus(genomes: list[Path], out: Path, qc_path: Path, *, length: int, max_windows: int | None,
                 val_fraction: float, seed: int) -> None:
    qc = QCCounts("enbed_corpus")
    table = corpus_windows(genomes, length=length, max_windows=max_windows, val_fraction=val_fraction, seed=seed, qc=qc)
    provenance = build_provenance(inputs={assembly_name(Path(g)): g for g in genomes},
                                  fields={"length": length, "max_windows": max_windows, "val_fraction": val_fraction, "seed": seed})
    with ShardWriter(out, dataset="enbed_corpus", provenance=provenance, length=length, seed=seed,
                     schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(qc_path)
