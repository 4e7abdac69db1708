"""Mutation generation pairs (the paper's Table 5): parent -> child sequences from a phylogeny, split so that a
model is never tested on a lineage it trained on.

Input, in the layout of the Influenza Virus Resource exports the paper used: a FASTA of the sequences (aligned
or not) and a pairs table (TSV, header `parent child clade`) naming, by FASTA id, each parent -> child edge of
the tree and the clade the edge lies in. The study's region (HA1 nucleotides 300-799 in the paper: `region`
[300, 800), 0-based half-open, alignment gaps removed after cutting) is cut from both.

The split follows the paper's two rules. Clades are kept together; and sequences more than `similarity` (95 %)
similar are kept on one side: clades whose representative parents (each clade's first parent) are more than
95 % similar (1 - Levenshtein distance / longer length) are merged into one unit. Units are then shuffled (seeded)
and filled into test, then val, up to their fractions of the pairs; the rest train. QC counts pairs dropped
(an id missing from the FASTA, a region shorter than asked) and pairs per split; they add up to the table's rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa

from genolm.datasets.shards import ShardWriter, build_provenance, shard_schema
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.fasta import read_fasta

PAIR_SCHEMA = shard_schema(target_sequence=True)


def read_pairs_table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"parent", "child", "clade"} - set(reader.fieldnames or [])
        if missing:
            raise GenolmInputError(path, f"pairs table lacks column(s) {', '.join(sorted(missing))} (header: parent child clade)")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not row["parent"] or not row["child"] or not row["clade"]:
                raise GenolmInputError(path, "empty parent, child or clade", record=f"line {number}")
            rows.append(row)
    if not rows:
        raise GenolmInputError(path, "no pairs")
    return rows


def similarity(a: str, b: str) -> float:
    """1 - edit distance / the longer length (genolm.metrics.edit_distances)."""
    from genolm.metrics import edit_distances

    return 1.0 - float(edit_distances([a], [b])[0]) / max(len(a), len(b), 1)


def units(clade_representatives: dict[str, str], threshold: float) -> dict[str, str]:
    """clade -> unit name: clades whose representatives are more than `threshold` similar share a unit
    (union-find; a chain of similar clades becomes one unit)."""
    parent = {c: c for c in clade_representatives}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    names = sorted(clade_representatives)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if find(a) != find(b) and similarity(clade_representatives[a], clade_representatives[b]) > threshold:
                parent[find(b)] = find(a)
    return {c: find(c) for c in names}


def build_pairs(fasta: Path, pairs: Path, *, region: tuple[int, int] | None, similarity_threshold: float,
                fractions: dict[str, float], seed: int, qc: QCCounts) -> pa.Table:
    sequences = {title.split()[0]: sequence for title, sequence in read_fasta(fasta)}
    start, end = region if region else (0, None)
    kept = []
    for row in read_pairs_table(pairs):
        missing = [i for i in (row["parent"], row["child"]) if i not in sequences]
        if missing:
            qc.add("pairs_dropped", 1, "id_not_in_fasta")
            continue
        parent, child = (sequences[row[k]][start:end].replace("-", "").upper() for k in ("parent", "child"))
        if region and min(len(sequences[row["parent"]]), len(sequences[row["child"]])) < end:
            qc.add("pairs_dropped", 1, "shorter_than_region")
            continue
        kept.append((row["clade"], parent, child))
    if not kept:
        raise GenolmInputError(pairs, "no pair left (ids missing from the FASTA or sequences shorter than the region)")
    representatives: dict[str, str] = {}
    for clade, parent, _ in kept:
        representatives.setdefault(clade, parent)
    unit_of = units(representatives, similarity_threshold)
    sizes: dict[str, int] = {}
    for clade, _, _ in kept:
        sizes[unit_of[clade]] = sizes.get(unit_of[clade], 0) + 1
    order = sorted(sizes)
    np.random.default_rng(seed).shuffle(order)
    split_of: dict[str, str] = {}
    filled = {"test": 0, "val": 0}
    for unit in order:
        for split in ("test", "val"):
            if filled[split] < fractions.get(split, 0) * len(kept):
                split_of[unit] = split
                filled[split] += sizes[unit]
                break
        else:
            split_of[unit] = "train"
    rows: dict[str, list] = {k: [] for k in PAIR_SCHEMA.names}
    for i, (clade, parent, child) in enumerate(kept):
        split = split_of[unit_of[clade]]
        qc.add("pairs", 1, split)
        rows["sequence"].append(parent)
        rows["label"].append(None)
        rows["sample"].append(unit_of[clade])
        rows["target_sequence"].append(child)
        rows["split"].append(split)
        rows["window_id"].append(i)
    qc.add("units", len(sizes), "clades merged by similarity")
    return pa.Table.from_pydict(rows, schema=PAIR_SCHEMA)


def write_pairs(fasta: Path, pairs: Path, out: Path, qc_path: Path, *, region: tuple[int, int] | None,
                similarity_threshold: float, fractions: dict[str, float], seed: int) -> None:
    qc = QCCounts("enbed_pairs")
    table = build_pairs(fasta, pairs, region=region, similarity_threshold=similarity_threshold, fractions=fractions,
                        seed=seed, qc=qc)
    provenance = build_provenance(inputs={"fasta": fasta, "pairs": pairs},
                                  fields={"region": region, "similarity": similarity_threshold, "seed": seed})
    with ShardWriter(out, dataset="enbed_pairs", provenance=provenance, seed=seed, schema=PAIR_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(qc_path)
