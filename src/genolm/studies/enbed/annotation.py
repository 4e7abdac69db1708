"""Biological function annotation (the paper's Table 4): genome fragments of up to 512 bp labelled by what an
Ensembl GTF says they are, balanced over the classes.

Classes (the paper's nine, in this order by default): `CDS` (the GTF's CDS features: coding exon parts) and eight
transcript biotypes whose exons are the examples: `lncRNA`, `snoRNA`, `misc_RNA`, `miRNA`, `snRNA`, `TEC`,
`processed_pseudogene`, `unprocessed_pseudogene` (an exon's `transcript_biotype`, or its `gene_biotype` when the
GTF gives no transcript biotype). Exons of other biotypes (protein_coding exons among them: their coding part is
the CDS class) are not used.

An example is one feature's sequence on its strand (reverse-complemented on `-`), upper-cased. Features shorter
than `min_length` are dropped; longer ones are cut to a window of `max_length` bases at a seeded random offset (so
no class is told apart by where its fragments start). Features sharing coordinates (one exon in several
transcripts) count once; identical sequences count once (the first kept); fragments with more than 10 % N are
dropped. QC counts every reason per class.

The split keeps a gene's fragments together (`sample` = gene id): each class's genes, shuffled (seeded), fill test
and val to their fractions of that class's genes, the rest train; a gene met under two classes stays where its
first class put it. Each split is then balanced by drawing (seeded) the same number of fragments of every class:
the smallest class's count in that split, or `max_per_class` if smaller (the paper: 1,024 per class for
training).

The assembly is read record by record (genolm.sources.fasta), so a whole genome never sits in memory at once;
Ensembl (`1`, `MT`) and UCSC (`chr1`, `chrM`) names match each other.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter, build_provenance
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.fasta import read_fasta, reverse_complement
from genolm.sources.gtf import read_gtf, ucsc_name

CLASSES = ("CDS", "lncRNA", "snoRNA", "misc_RNA", "miRNA", "snRNA", "TEC", "processed_pseudogene",
           "unprocessed_pseudogene")
MAX_N_FRACTION = 0.1


class Feature(NamedTuple):
    label: str
    chrom: str  # UCSC name
    start: int  # 0-based
    end: int  # exclusive
    strand: str
    gene: str


def annotated_features(gtf: Path, classes: tuple[str, ...], qc: QCCounts) -> list[Feature]:
    """The GTF's CDS and exon features of the chosen classes, each set of coordinates once, in file order."""
    seen: set[tuple] = set()
    features = []
    for record in read_gtf(gtf, features={"CDS", "exon"}):
        if record.feature == "CDS":
            label = "CDS"
        else:
            label = record.attributes.get("transcript_biotype") or record.attributes.get("gene_biotype", "")
            if label == "CDS":  # not a biotype: the class is the CDS features
                continue
        if label not in classes:
            continue
        if "gene_id" not in record.attributes:
            raise GenolmInputError(gtf, f"a {record.feature} feature at {record.seqname}:{record.start} has no gene_id")
        key = (label, ucsc_name(record.seqname), record.start, record.end, record.strand)
        if key in seen:
            qc.add("features_repeated", 1, label)
            continue
        seen.add(key)
        qc.add("features", 1, label)
        features.append(Feature(label, key[1], record.start - 1, record.end, record.strand, record.attributes["gene_id"]))
    return features


def feature_sequences(assembly: Path, features: list[Feature], *, min_length: int, max_length: int,
                      rng: np.random.Generator, qc: QCCounts) -> list[tuple[Feature, str]]:
    """(feature, its fragment) for every feature that yields one, in the features' order."""
    by_chrom: dict[str, list[int]] = defaultdict(list)
    for index, feature in enumerate(features):
        by_chrom[feature.chrom].append(index)
    # One offset draw per feature, in feature order, whatever order the assembly's records come in.
    draws = rng.random(len(features))
    fragments: dict[int, str] = {}
    found = set()
    for title, sequence in read_fasta(assembly):
        chrom = ucsc_name(title.split()[0])
        if chrom not in by_chrom or chrom in found:
            continue
        found.add(chrom)
        for index in by_chrom[chrom]:
            feature = features[index]
            if feature.end > len(sequence):
                qc.add("beyond_sequence_end", 1, feature.label)
                continue
            length = feature.end - feature.start
            if length < min_length:
                qc.add("shorter_than_min_length", 1, feature.label)
                continue
            text = sequence[feature.start : feature.end].upper()
            if feature.strand == "-":
                text = reverse_complement(text)
            if length > max_length:
                offset = int(draws[index] * (length - max_length + 1))
                text = text[offset : offset + max_length]
                qc.add("cut_to_max_length", 1, feature.label)
            if text.count("N") > MAX_N_FRACTION * len(text):
                qc.add("too_many_n", 1, feature.label)
                continue
            fragments[index] = text
    for chrom in sorted(set(by_chrom) - found):
        qc.add("chromosome_not_in_assembly", len(by_chrom[chrom]), chrom)
    out, seen = [], set()
    for index in sorted(fragments):
        text = fragments[index]
        if text in seen:
            qc.add("duplicate_sequence", 1, features[index].label)
            continue
        seen.add(text)
        out.append((features[index], text))
    return out


def gene_splits(examples: list[tuple[Feature, str]], classes: tuple[str, ...], *, val_fraction: float,
                test_fraction: float, rng: np.random.Generator) -> dict[str, str]:
    """gene -> split: each class's genes (a gene under its first class) fill test, then val, to their fractions."""
    first_class: dict[str, str] = {}
    for feature, _ in examples:
        first_class.setdefault(feature.gene, feature.label)
    split_of = {}
    for label in classes:
        genes = sorted(g for g, c in first_class.items() if c == label)
        order = rng.permutation(len(genes))
        n_test = int(round(test_fraction * len(genes)))
        n_val = int(round(val_fraction * len(genes)))
        for rank, position in enumerate(order):
            split_of[genes[position]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return split_of


def annotation_table(gtf: Path, assembly: Path, *, classes: tuple[str, ...], min_length: int, max_length: int,
                     max_per_class: int | None, val_fraction: float, test_fraction: float, seed: int,
                     qc: QCCounts) -> pa.Table:
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise GenolmInputError(gtf, f"need two or more distinct classes, got {list(classes)}")
    rng = np.random.default_rng(seed)
    features = annotated_features(gtf, classes, qc)
    examples = feature_sequences(assembly, features, min_length=min_length, max_length=max_length, rng=rng, qc=qc)
    split_of = gene_splits(examples, classes, val_fraction=val_fraction, test_fraction=test_fraction, rng=rng)
    pools: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, (feature, _) in enumerate(examples):
        pools[split_of[feature.gene], feature.label].append(index)
    rows: dict[str, list] = {k: [] for k in ("sequence", "label", "sample", "split", "window_id")}
    for split in ("train", "val", "test"):
        counts = {label: len(pools[split, label]) for label in classes}
        if min(counts.values()) == 0:
            empty = [label for label, n in counts.items() if n == 0]
            raise GenolmInputError(gtf, f"the {split} split has no fragment of class(es) {', '.join(empty)} "
                                        f"(fragments per class: {counts})")
        per_class = min(counts.values()) if max_per_class is None else min(min(counts.values()), max_per_class)
        for label_id, label in enumerate(classes):
            chosen = np.sort(rng.choice(counts[label], size=per_class, replace=False))
            qc.add("fragments", per_class, f"{split}/{label}")
            qc.add("fragments_not_drawn", counts[label] - per_class, f"{split}/{label}")
            for position in chosen:
                index = pools[split, label][position]
                feature, text = examples[index]
                rows["sequence"].append(text)
                rows["label"].append(label_id)
                rows["sample"].append(feature.gene)
                rows["split"].append(split)
                rows["window_id"].append(index)
    return pa.Table.from_pydict(rows, schema=SEQUENCE_SCHEMA)


def write_annotation_dataset(gtf: Path, assembly: Path, out: Path, qc_path: Path, *, classes: tuple[str, ...],
                             min_length: int, max_length: int, max_per_class: int | None, val_fraction: float,
                             test_fraction: float, seed: int) -> None:
    qc = QCCounts("enbed_annotation")
    table = annotation_table(gtf, assembly, classes=classes, min_length=min_length, max_length=max_length,
                             max_per_class=max_per_class, val_fraction=val_fraction, test_fraction=test_fraction,
                             seed=seed, qc=qc)
    provenance = build_provenance(inputs={"gtf": gtf, "assembly": assembly},
                                  fields={"classes": list(classes), "min_length": min_length, "max_length": max_length,
                                          "max_per_class": max_per_class, "seed": seed})
    with ShardWriter(out, dataset="enbed_annotation", provenance=provenance, length=max_length, seed=seed,
                     schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(qc_path)
