"""Leak checks: how much of each test unit the model could have seen during training or pretraining.

    canonical_kmers      the set of canonical k-mers (a k-mer and its reverse complement count as one) of
                         sequences, 2-bit encoded in a uint64 (k <= 32); k-mers holding anything but A, C, G, T
                         (N, IUPAC codes) are skipped. With `scaled` > 1 only the k-mers whose 64-bit hash falls
                         below 2^64 / scaled are kept (a FracMinHash sketch, as sourmash's `scaled`): the same
                         k-mers are kept in every set, so containment is estimated without bias at 1/scaled of
                         the memory (what a pretraining corpus the size of hg38 needs).
    unit_containment     per test unit: its k-mers, those also in the reference set, and the containment
                         (shared / own); a unit without a valid k-mer has no containment (null) and is counted
    interval_overlaps    per test window (chrom, ref_start, ref_end half-open): whether it overlaps a training
                         window of any label, and one of its own label (cancer_type's windows)
    cluster_genomes      single-linkage clusters of genomes at a Mash distance threshold over FracMinHash
                         sketches (a homology-aware split unit); clusters are named by their first member in
                         sorted order, so the result does not depend on input order
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import polars as pl

# A, C, G, T (either case) -> 0..3; everything else -> 4 (a k-mer holding it is skipped).
_CODE = np.full(256, 4, dtype=np.uint8)
for _code, _bases in enumerate(("Aa", "Cc", "Gg", "Tt")):
    for _base in _bases:
        _CODE[ord(_base)] = _code
# Sequences are encoded in pieces of about this many bases, bounding the temporary [bases] uint64 arrays.
_CHUNK_BASES = 1 << 24


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """A 64-bit mixing hash (splitmix64's finaliser): spreads 2-bit-packed k-mers uniformly over 64 bits."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _encoded_kmers(codes: np.ndarray, k: int) -> np.ndarray:
    """Canonical k-mers of one run of base codes (0..4), those holding a code 4 left out."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    valid_base = codes < 4
    invalid_before = np.concatenate([[0], np.cumsum(~valid_base)])
    valid = (invalid_before[k:] - invalid_before[:n]) == 0
    base = np.where(valid_base, codes, 0).astype(np.uint64)
    forward = np.zeros(n, dtype=np.uint64)
    reverse = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        window = base[j:j + n]
        forward = (forward << np.uint64(2)) | window
        reverse |= (np.uint64(3) - window) << np.uint64(2 * j)
    return np.minimum(forward, reverse)[valid]


def canonical_kmers(sequences: Iterable[str], k: int, *, scaled: int = 1) -> np.ndarray:
    """Sorted unique canonical k-mers of all `sequences` (hashed with splitmix64 when `scaled` > 1, keeping
    those below 2^64 / scaled)."""
    if not 1 <= k <= 32:
        raise ValueError(f"k must be 1..32 (2 bits a base in 64), got {k}")
    if scaled < 1:
        raise ValueError(f"scaled must be >= 1, got {scaled}")
    limit = np.uint64((2 ** 64 - 1) // scaled)
    found: list[np.ndarray] = []
    pieces: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal pieces, size
        if pieces:
            # One N between sequences: a k-mer spanning two of them is invalid, so never counted.
            codes = _CODE[np.frombuffer(b"N".join(pieces), dtype=np.uint8)]
            kmers = _encoded_kmers(codes, k)
            if scaled > 1:
                kmers = _splitmix64(kmers)
                kmers = kmers[kmers < limit]
            found.append(np.unique(kmers))
        pieces, size = [], 0

    for sequence in sequences:
        pieces.append(sequence.encode("ascii", "replace") if isinstance(sequence, str) else bytes(sequence))
        size += len(pieces[-1]) + 1
        if size >= _CHUNK_BASES:
            flush()
    flush()
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)


def _shared(kmers: np.ndarray, reference: np.ndarray) -> int:
    """How many of the sorted unique `kmers` are in the sorted unique `reference`."""
    if not len(kmers) or not len(reference):
        return 0
    position = np.searchsorted(reference, kmers)
    position[position == len(reference)] = 0
    return int((reference[position] == kmers).sum())


def unit_containment(units: Mapping[str, Sequence[str]], reference: np.ndarray, k: int, *,
                     scaled: int = 1) -> pl.DataFrame:
    """Per test unit (in sorted order): `kmers` (its distinct canonical k-mers), `shared_kmers` (those in
    `reference`, from canonical_kmers with the same k and scaled) and `containment` = shared / kmers (null for a
    unit without a valid k-mer)."""
    rows = []
    for unit in sorted(units):
        kmers = canonical_kmers(units[unit], k, scaled=scaled)
        shared = _shared(kmers, reference)
        rows.append({"unit": unit, "kmers": len(kmers), "shared_kmers": shared,
                     "containment": shared / len(kmers) if len(kmers) else None})
    return pl.DataFrame(rows, schema={"unit": pl.Utf8, "kmers": pl.Int64, "shared_kmers": pl.Int64,
                                      "containment": pl.Float64})


def interval_overlaps(test: pl.DataFrame, train: pl.DataFrame) -> pl.DataFrame:
    """`test` with two columns added: `overlaps_any` (its [ref_start, ref_end) interval overlaps a training
    window's on the same chromosome) and `overlaps_same_label` (one of its own label). Both frames need chrom,
    ref_start, ref_end and label."""
    def overlapping(query: pl.DataFrame, target: pl.DataFrame, keys: list[str]) -> np.ndarray:
        out = np.zeros(len(query), dtype=bool)
        query = query.with_row_index("_row")
        targets = {key: frame for key, frame in target.group_by(keys)}
        for key, rows in query.group_by(keys):
            hits = targets.get(key)
            if hits is None:
                continue
            hits = hits.sort("ref_start")
            starts = hits["ref_start"].to_numpy()
            reach = np.maximum.accumulate(hits["ref_end"].to_numpy())   # furthest end among windows starting so far
            before_end = np.searchsorted(starts, rows["ref_end"].to_numpy(), side="left")  # windows starting before
            overlap = (before_end > 0) & (reach[np.maximum(before_end - 1, 0)] > rows["ref_start"].to_numpy())
            out[rows["_row"].to_numpy()] = overlap
        return out

    return test.with_columns(pl.Series("overlaps_any", overlapping(test, train, ["chrom"])),
                             pl.Series("overlaps_same_label", overlapping(test, train, ["chrom", "label"])))


def mash_distance(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Mash distance of two FracMinHash sketches: -ln(2J / (1 + J)) / k from their Jaccard index J (an estimate of
    the per-base divergence); 1.0 when they share nothing."""
    union = len(np.union1d(a, b))
    jaccard = _shared(a, b) / union if union else 0.0
    return 1.0 if jaccard == 0 else min(1.0, -np.log(2 * jaccard / (1 + jaccard)) / k)


def cluster_genomes(sketches: Mapping[str, np.ndarray], k: int, max_distance: float) -> dict[str, str]:
    """Single-linkage clusters (genomes joined whenever their Mash distance is at most `max_distance`: the
    connected components of that graph), each named by its first member in sorted order: genome -> cluster."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(sketches)
    rows, cols = [], []
    for i, first in enumerate(names):
        for j in range(i + 1, len(names)):
            if mash_distance(sketches[first], sketches[names[j]], k) <= max_distance:
                rows.append(i)
                cols.append(j)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, component = connected_components(graph, directed=False)
    first_member: dict[int, str] = {}
    for name, label in zip(names, component):
        first_member.setdefault(int(label), name)
    return {name: first_member[int(label)] for name, label in zip(names, component)}


__all__ = ["canonical_kmers", "cluster_genomes", "interval_overlaps", "mash_distance", "unit_containment"]
