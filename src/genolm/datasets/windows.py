"""Materializing windows: reference sequence with a cell line's mutations applied, streamed as Arrow batches.

The rules (documented for users in docs/data_contracts.md, "Window shards"):

* Placement. For an anchor whose REF covers 0-based [p, p + len(REF)), the window start is drawn uniformly
  among the starts that keep that REF inside [start, start + L) and the window inside the chromosome. The
  draws come from one `Generator(PCG64(seed))`, one uniform number per anchor in `anchor_id` order, drawn
  before anything is skipped: a window depends on the seed and the anchor table, never on batch sizes,
  chromosome order or which other anchors were skipped.
* Applied mutations. Every mutation of the anchor's cell line whose REF lies entirely inside the window is
  applied (VCF style: REF replaced by ALT, padding base included), except overlaps: the anchor is accepted
  first, then the others in (pos, ref, alt) order; one whose REF span overlaps an accepted one is not
  applied and is counted as `overlap_skipped`.
* Length. When deletions make the mutated sequence shorter than L, the window is extended to the right by
  the missing length and the mutations are collected again (the extension may bring in more deletions),
  until the mutated sequence has at least L bases. A window that reaches the chromosome end is extended to
  the left instead. The result is trimmed at the right end to exactly L bases, which also trims insertions.
* Anchor inside. If insertions before the anchor push its ALT past the trimmed end, the window is shifted
  right (keeping the anchor's REF inside) up to `MAX_SHIFTS` times; an anchor that still does not fit is
  skipped and counted (`anchor_pushed_out`).

Speed: most windows contain only their anchor, a length-preserving SNV; those are cut out of the chromosome
array in one vectorized gather and patched in place. Only windows with more mutations or indels go through
the per-window path.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import MUTATION_TYPE, WINDOW_SCHEMA
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

MAX_SHIFTS = 8
MATERIALIZE_QC_REASONS = (
    "windows", "mutations_applied", "overlap_skipped", "extended_right", "extended_left", "shifted_right",
    "anchor_pushed_out", "too_short_after_deletions", "anchor_longer_than_window", "anchor_not_in_mutations",
)
# How anchors become windows: `anchors` = `windows` + these; the other counts describe windows, not anchors.
ANCHOR_DROP_REASONS = ("chromosome_not_in_reference", "chromosome_shorter_than_window", "anchor_not_in_mutations",
                       "anchor_longer_than_window", "anchor_pushed_out", "too_short_after_deletions")
WINDOW_INFO_REASONS = ("mutations_applied", "overlap_skipped", "extended_right", "extended_left", "shifted_right")
ANCHOR_COLUMNS = ("sample", "label", "split", "chrom", "pos", "ref", "alt", "anchor_id")
_MUTATION_COLUMNS = ("sample", "chrom", "pos", "ref", "alt")
_MUTATION_LIST_TYPE = WINDOW_SCHEMA.field("mutations").type


def _require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GenolmInputError(what, f"missing columns {missing} (has {frame.columns})")


@dataclass
class _Chromosome:
    """One chromosome's reference array and the (anchor samples') mutations on it.

    Mutations are sorted by (sample code, start, ref, alt), so one sample's mutations are a contiguous
    segment sorted by position, and `keys` (sample code * (length + 1) + start) is sorted globally.
    """

    name: str
    array: np.ndarray
    keys: np.ndarray
    key_list: list[int]  # the same keys: bisect on a list is ten times faster than np.searchsorted on a scalar
    starts: list[int]
    ends: list[int]
    deltas: list[int]
    alts: list[bytes]
    pos: pa.Array
    ref: pa.Array
    alt: pa.Array

    def key(self, code: np.ndarray, position: np.ndarray) -> np.ndarray:
        return code * (len(self.array) + 1) + position


@dataclass
class _Window:
    start: int
    end: int
    sequence: bytes
    applied: list[int]
    anchor_offset: int
    extended: str  # "", "right" or "left": how the window grew to make up for deletions
    shifts: int
    overlap_skipped: int


def _collect(chrom: _Chromosome, lo: int, hi: int, anchor: int, end: int) -> tuple[list[int], int, int, int]:
    """Mutations applied in a window ending at `end`: the anchor first, then the rest in order unless they overlap.

    `lo:hi` is the row range of this sample's mutations that start inside the window. Returns the applied rows
    sorted by position, the number of overlap-skipped ones, the total length change and the length change
    before the anchor.
    """
    starts, ends, deltas = chrom.starts, chrom.ends, chrom.deltas
    anchor_start, anchor_end = starts[anchor], ends[anchor]
    applied: list[int] = []
    last_end = -1  # accepted non-anchor spans are disjoint and sorted, so the last one ends furthest right
    skipped = 0
    change = before = 0
    anchor_placed = False
    for row in range(lo, hi):
        row_end = ends[row]
        if row == anchor or row_end > end:
            continue
        row_start = starts[row]
        if (row_start < anchor_end and anchor_start < row_end) or row_start < last_end:
            skipped += 1
            continue
        # The anchor is disjoint from all accepted rows, so it slots in by start position.
        if not anchor_placed and anchor_start < row_start:
            applied.append(anchor)
            anchor_placed = True
        if not anchor_placed:
            before += deltas[row]
        applied.append(row)
        change += deltas[row]
        last_end = row_end
    if not anchor_placed:
        applied.append(anchor)
    return applied, skipped, change + deltas[anchor], before


def _materialize_one(chrom: _Chromosome, code: int, anchor: int, start: int, length: int) -> _Window | str:
    """The window of one anchor starting at `start`, or the QC reason it is skipped."""
    n = len(chrom.array)
    keys = chrom.key_list
    base = code * (n + 1)
    anchor_start = chrom.starts[anchor]
    anchor_alt_len = len(chrom.alts[anchor])
    extended = ""
    for shifts in range(MAX_SHIFTS + 1):
        end = start + length
        while True:
            lo = bisect_left(keys, base + start)
            hi = bisect_left(keys, base + end, lo)
            applied, skipped, change, before = _collect(chrom, lo, hi, anchor, end)
            size = end - start + change
            if size >= length:
                break
            missing = length - size
            if end < n:
                end = min(n, end + missing)
                extended = extended or "right"
            elif start > 0:
                start = max(0, start - missing)
                extended = "left"
            else:
                return "too_short_after_deletions"
        anchor_offset = anchor_start - start + before
        excess = anchor_offset + anchor_alt_len - length
        if excess <= 0:
            return _Window(start, end, _apply(chrom, applied, start, end)[:length], applied, anchor_offset, extended,
                           shifts, skipped)
        # Insertions before the anchor pushed it out: move right by the overflow, keeping its REF inside.
        start += excess
        if start > anchor_start or start + length > n:
            return "anchor_pushed_out"
    return "anchor_pushed_out"


def _apply(chrom: _Chromosome, applied: list[int], start: int, end: int) -> bytes:
    """Reference bases [start, end) with the applied (disjoint, sorted) mutations' REF replaced by ALT."""
    reference = chrom.array[start:end].tobytes()
    pieces = []
    cursor = 0
    for row in applied:
        pieces.append(reference[cursor:chrom.starts[row] - start])
        pieces.append(chrom.alts[row])
        cursor = chrom.ends[row] - start
    pieces.append(reference[cursor:])
    return b"".join(pieces)


def _prepare_anchors(anchors: pl.DataFrame, seed: int) -> pl.DataFrame:
    _require_columns(anchors, ANCHOR_COLUMNS, "anchors table")
    anchors = anchors.select(
        pl.col("sample").cast(pl.Utf8),
        pl.col("label").cast(pl.Int64),
        pl.col("split").cast(pl.Utf8),
        pl.col("chrom").cast(pl.Utf8),
        pl.col("pos").cast(pl.Int64),
        pl.col("ref").cast(pl.Utf8),
        pl.col("alt").cast(pl.Utf8),
        pl.col("anchor_id").cast(pl.Int64),
    ).sort("anchor_id")
    duplicated = anchors.filter(pl.col("anchor_id").is_duplicated())
    if duplicated.height:
        raise GenolmInputError("anchors table", "anchor_id is not unique",
                               record=f"anchor_id {duplicated['anchor_id'][0]}")
    nulls = anchors.select(pl.exclude("label").null_count()).row(0, named=True)
    bad = [c for c, n in nulls.items() if n]
    if bad:
        raise GenolmInputError("anchors table", f"null values in columns {bad}")
    # One draw per anchor in anchor_id order, before anything is skipped (see the module docstring).
    draws = np.random.Generator(np.random.PCG64(seed)).random(anchors.height)
    return anchors.with_columns(pl.Series("_u", draws))


def _canonical_chromosomes(table: pl.DataFrame, reference: ReferenceGenome) -> pl.DataFrame:
    """Chromosome names as the reference spells them (`22` and `NC_000022.11` become `chr22`), so that a table
    written in another naming convention meets the reference instead of matching nothing."""
    names = {name: reference.canonical(name) or name for name in table["chrom"].unique().to_list() if name is not None}
    return table.with_columns(pl.col("chrom").replace(names))


def _chromosome_order(reference: ReferenceGenome, chroms: set[str], qc: QCCounts, anchors: pl.DataFrame) -> list[str]:
    order = [c for c in reference.lengths if c in chroms]
    for chrom in sorted(chroms - set(order)):
        qc.add("chromosome_not_in_reference", anchors.filter(pl.col("chrom") == chrom).height, detail=chrom)
    return order


def _load_chromosome(reference: ReferenceGenome, name: str,
                     mutations: pl.DataFrame) -> tuple[_Chromosome, pl.DataFrame]:
    """The chromosome and its mutation rows (sorted, with row index `_row`)."""
    array = reference.array(name)
    rows = mutations.filter(pl.col("chrom") == name).sort(["_code", "pos", "ref", "alt"]).with_row_index("_row")
    starts = (rows["pos"] - 1).to_numpy()
    ref_len = rows["ref"].str.len_bytes().to_numpy().astype(np.int64)
    alt_len = rows["alt"].str.len_bytes().to_numpy().astype(np.int64)
    codes = rows["_code"].to_numpy().astype(np.int64)
    keys = codes * (len(array) + 1) + starts
    beyond = np.flatnonzero(starts + ref_len > len(array))
    if len(beyond):
        row = rows.row(int(beyond[0]), named=True)
        raise GenolmInputError("mutations table", f"REF runs past the end of {name} (length {len(array)}): "
                                                  "mutations must be validated against this reference first",
                               record=f"{name}:{row['pos']} {row['ref']}>{row['alt']}, sample {row['sample']}")
    chrom = _Chromosome(
        name=name,
        array=array,
        keys=keys,
        key_list=keys.tolist(),
        starts=starts.tolist(),
        ends=(starts + ref_len).tolist(),
        deltas=(alt_len - ref_len).tolist(),
        alts=[a.encode("ascii") for a in rows["alt"].to_list()],
        pos=rows["pos"].to_arrow().cast(pa.int64()),
        ref=rows["ref"].to_arrow().cast(pa.string()),
        alt=rows["alt"].to_arrow().cast(pa.string()),
    )
    return chrom, rows


def _mutation_lists(chrom: _Chromosome, counts: np.ndarray, flat: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    take = pa.array(flat, type=pa.int64())
    values = pa.StructArray.from_arrays(
        [chrom.pos.take(take), chrom.ref.take(take), chrom.alt.take(take)], fields=list(MUTATION_TYPE)
    )
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=_MUTATION_LIST_TYPE)


def _sequence_array(matrix: np.ndarray) -> pa.Array:
    """A large_string array over the rows of an (n, L) uint8 matrix without copying it row by row."""
    n, length = matrix.shape
    offsets = np.arange(0, (n + 1) * length, length, dtype=np.int64) if n else np.zeros(1, dtype=np.int64)
    data = np.ascontiguousarray(matrix).reshape(-1)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _batch(columns: Mapping[str, pa.Array]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([columns[f.name] for f in WINDOW_SCHEMA], schema=WINDOW_SCHEMA)


def materialize_windows(
    reference: ReferenceGenome,
    mutations: pl.DataFrame,
    anchors: pl.DataFrame,
    *,
    length: int,
    seed: int,
    qc: QCCounts,
    batch_size: int = 4096,
    reference_only: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Windows of `length` bases around each anchor with its cell line's mutations applied.

    Yields batches in `WINDOW_SCHEMA`, chromosome by chromosome in reference order and by anchor_id within a
    chromosome; `window_id` is the anchor_id. Skipped anchors are counted in `qc`. `reference_only` (a control):
    the same windows, placed as above, carrying the reference's bases [ref_start, ref_start + length) and no
    mutation (`mutations` empty, `n_mutations` 0).
    """
    if length < 1 or batch_size < 1:
        raise ValueError(f"length and batch_size must be positive (got {length}, {batch_size})")
    _require_columns(mutations, _MUTATION_COLUMNS, "mutations table")
    anchors = _canonical_chromosomes(_prepare_anchors(anchors, seed), reference)
    mutations = _canonical_chromosomes(mutations, reference)
    for reason in MATERIALIZE_QC_REASONS:  # zero counts are reported too
        qc.add(reason, 0)
    qc.add("anchors", anchors.height)
    samples = sorted(set(anchors["sample"].unique().to_list()))
    codes = pl.DataFrame({"sample": samples, "_code": np.arange(len(samples), dtype=np.int64)})
    mutations = (
        mutations.select([pl.col(c) for c in _MUTATION_COLUMNS])
        .with_columns(pl.col("pos").cast(pl.Int64))
        .join(codes, on="sample", how="inner")
    )
    anchors = anchors.join(codes, on="sample", how="left")

    for name in _chromosome_order(reference, set(anchors["chrom"].unique().to_list()), qc, anchors):
        chrom_anchors = anchors.filter(pl.col("chrom") == name)
        n = reference.lengths[name]
        if n < length:
            qc.add("chromosome_shorter_than_window", chrom_anchors.height, detail=name)
            continue
        chrom, rows = _load_chromosome(reference, name, mutations)
        # The anchor's row among its sample's mutations (the first copy if it is listed twice).
        index = rows.group_by(["sample", "pos", "ref", "alt"]).agg(pl.col("_row").min())
        chrom_anchors = chrom_anchors.join(index, on=["sample", "pos", "ref", "alt"], how="left").sort("anchor_id")
        missing = chrom_anchors["_row"].is_null()
        qc.add("anchor_not_in_mutations", int(missing.sum()))
        chrom_anchors = chrom_anchors.filter(~missing)
        ref_len = chrom_anchors["ref"].str.len_bytes().to_numpy().astype(np.int64)
        alt_len = chrom_anchors["alt"].str.len_bytes().to_numpy().astype(np.int64)
        too_long = (ref_len > length) | (alt_len > length)
        qc.add("anchor_longer_than_window", int(too_long.sum()))
        chrom_anchors = chrom_anchors.filter(pl.Series(~too_long))
        yield from _chromosome_windows(chrom, chrom_anchors, length, batch_size, qc, reference_only)


def _chromosome_windows(
    chrom: _Chromosome, anchors: pl.DataFrame, length: int, batch_size: int, qc: QCCounts, reference_only: bool = False
) -> Iterator[pa.RecordBatch]:
    if anchors.height == 0:
        return
    n = len(chrom.array)
    p0 = (anchors["pos"] - 1).to_numpy()
    ref_len = anchors["ref"].str.len_bytes().to_numpy().astype(np.int64)
    alt_len = anchors["alt"].str.len_bytes().to_numpy().astype(np.int64)
    code = anchors["_code"].to_numpy().astype(np.int64)
    row = anchors["_row"].to_numpy().astype(np.int64)
    lo = np.maximum(0, p0 + ref_len - length)
    hi = np.minimum(p0, n - length)
    starts = np.minimum(lo + np.floor(anchors["_u"].to_numpy() * (hi - lo + 1)).astype(np.int64), hi)
    in_window = np.searchsorted(chrom.keys, chrom.key(code, starts + length)) - np.searchsorted(
        chrom.keys, chrom.key(code, starts)
    )
    # Only the anchor in its window, and an SNV: a plain slice with one base replaced.
    fast = (in_window == 1) & (ref_len == 1) & (alt_len == 1)
    alt_byte = np.frombuffer(anchors["alt"].str.slice(0, 1).str.join("").item().encode("ascii"), dtype=np.uint8)
    view = sliding_window_view(chrom.array, length)

    code_list, row_list = code.tolist(), row.tolist()

    for first in range(0, anchors.height, batch_size):
        sl = slice(first, min(first + batch_size, anchors.height))
        c_starts = starts[sl].copy()
        ends = c_starts + length
        offsets = p0[sl] - c_starts
        counts = np.ones(len(c_starts), dtype=np.int64)
        keep = np.ones(len(c_starts), dtype=bool)
        slow: dict[int, _Window] = {}
        events: Counter[str] = Counter()
        for i in np.flatnonzero(~fast[sl]).tolist():
            result = _materialize_one(chrom, code_list[first + i], row_list[first + i], int(c_starts[i]), length)
            if isinstance(result, str):
                events[result] += 1
                keep[i] = False
                continue
            slow[i] = result
            c_starts[i], ends[i], offsets[i] = result.start, result.end, result.anchor_offset
            counts[i] = len(result.applied)
            if result.extended:
                events[f"extended_{result.extended}"] += 1
            events["shifted_right"] += result.shifts > 0
            events["overlap_skipped"] += result.overlap_skipped
        for reason, count in events.items():
            qc.add(reason, count)

        kept = np.flatnonzero(keep)
        qc.add("windows", len(kept))
        if not len(kept):
            continue
        chunk = anchors[sl][kept]
        c_starts, ends, offsets, counts = c_starts[kept], ends[kept], offsets[kept], counts[kept]
        qc.add("mutations_applied", 0 if reference_only else int(counts.sum()))
        flat_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(counts, out=flat_offsets[1:])
        flat = np.empty(flat_offsets[-1], dtype=np.int64)
        matrix = np.empty((len(kept), length), dtype=np.uint8)
        fast_rows = np.flatnonzero(fast[sl][kept])
        matrix[fast_rows] = view[c_starts[fast_rows]]
        matrix[fast_rows, offsets[fast_rows]] = alt_byte[sl][kept][fast_rows]
        flat[flat_offsets[fast_rows]] = row[sl][kept][fast_rows]
        rank = np.cumsum(keep) - 1  # row i of the chunk is row rank[i] of the batch
        for i, window in slow.items():
            j = rank[i]
            matrix[j] = np.frombuffer(window.sequence, dtype=np.uint8)
            flat[flat_offsets[j]:flat_offsets[j + 1]] = window.applied
        if reference_only:
            # The control arm: the same windows (placement, ids, labels, splits) with the reference's bases and
            # none of the cell line's mutations, so what a model reads there is the region, not the mutations.
            matrix = view[c_starts].copy()
            ends = c_starts + length
            offsets = p0[sl][kept] - c_starts
            counts = np.zeros_like(counts)
            flat_offsets[:] = 0
            flat = flat[:0]
        yield _batch(
            {
                "sequence": _sequence_array(matrix),
                "label": chunk["label"].to_arrow().cast(pa.int64()),
                "sample": chunk["sample"].to_arrow().cast(pa.string()),
                "chrom": pa.repeat(pa.scalar(chrom.name, pa.string()), chunk.height),
                "ref_start": pa.array(c_starts),
                "ref_end": pa.array(ends),
                "anchor_pos": chunk["pos"].to_arrow().cast(pa.int64()),
                "anchor_offset": pa.array(offsets),
                "mutations": _mutation_lists(chrom, counts, flat),
                "n_mutations": pa.array(counts.astype(np.int32)),
                "split": chunk["split"].to_arrow().cast(pa.string()),
                "window_id": chunk["anchor_id"].to_arrow().cast(pa.int64()),
            }
        )


def reference_windows(
    reference: ReferenceGenome,
    *,
    chromosomes: Sequence[str],
    length: int,
    stride: int | None = None,
    max_windows: int | None,
    seed: int,
    max_n_fraction: float = 0.5,
    qc: QCCounts,
    splits: Mapping[str, str] | None = None,
    default_split: str = "train",
    batch_size: int = 4096,
) -> Iterator[pa.RecordBatch]:
    """Unmutated windows tiling `chromosomes` every `stride` bases (default: `length`, no overlap).

    The candidate windows are numbered across chromosomes in the given order (that number is `window_id`);
    with `max_windows`, a uniformly random subset of that many candidates is kept (`Generator(PCG64(seed))`)
    before windows with more than `max_n_fraction` N bases are skipped (`too_many_n`), so fewer than
    `max_windows` may come out. `splits` maps a chromosome to its split; others go to `default_split`.
    """
    stride = length if stride is None else stride
    if length < 1 or stride < 1 or batch_size < 1:
        raise ValueError(f"length, stride and batch_size must be positive (got {length}, {stride}, {batch_size})")
    splits = dict(splits or {})
    for reason in ("windows", "too_many_n", "not_sampled"):
        qc.add(reason, 0)
    names = []
    for chrom in chromosomes:
        name = reference.canonical(chrom)
        if name is None:
            raise GenolmInputError(reference.path, f"no chromosome {chrom!r} in the reference")
        names.append(name)
    per_chrom = []
    for name in names:
        n = reference.lengths[name]
        count = (n - length) // stride + 1 if n >= length else 0
        if count == 0:
            qc.add("chromosome_shorter_than_window", detail=name)
        per_chrom.append(count)
    first_id = np.concatenate([[0], np.cumsum(per_chrom)]).astype(np.int64)
    total = int(first_id[-1])
    qc.add("candidate_windows", total)
    chosen = None  # None: every candidate (never materialized as one array: stride 1 over a genome is 3e9)
    if max_windows is not None and max_windows < total:
        chosen = np.sort(np.random.Generator(np.random.PCG64(seed)).choice(total, size=max_windows, replace=False))
        qc.add("not_sampled", total - max_windows)
    limit = int(np.floor(max_n_fraction * length))

    for i, name in enumerate(names):
        lo, hi = int(first_id[i]), int(first_id[i + 1])
        ids = None if chosen is None else chosen[(chosen >= lo) & (chosen < hi)]
        n_ids = hi - lo if ids is None else len(ids)
        if not n_ids:
            continue
        view = sliding_window_view(reference.array(name), length)
        split = splits.get(name, default_split)
        for b in range(0, n_ids, batch_size):
            if ids is None:
                batch_ids = np.arange(lo + b, min(lo + b + batch_size, hi), dtype=np.int64)
            else:
                batch_ids = ids[b:b + batch_size]
            starts = (batch_ids - lo) * stride
            matrix = view[starts]
            n_count = np.count_nonzero(matrix == ord("N"), axis=1)
            ok = n_count <= limit
            qc.add("too_many_n", int((~ok).sum()))
            if not ok.all():
                matrix, starts, batch_ids = matrix[ok], starts[ok], batch_ids[ok]
            k = len(starts)
            qc.add("windows", k)
            if not k:
                continue
            yield _batch(
                {
                    "sequence": _sequence_array(matrix),
                    "label": pa.nulls(k, pa.int64()),
                    "sample": pa.nulls(k, pa.string()),
                    "chrom": pa.repeat(pa.scalar(name, pa.string()), k),
                    "ref_start": pa.array(starts, type=pa.int64()),
                    "ref_end": pa.array(starts + length, type=pa.int64()),
                    "anchor_pos": pa.nulls(k, pa.int64()),
                    "anchor_offset": pa.nulls(k, pa.int64()),
                    "mutations": pa.ListArray.from_arrays(
                        pa.array(np.zeros(k + 1, dtype=np.int32)),
                        pa.array([], type=MUTATION_TYPE),
                        type=_MUTATION_LIST_TYPE,
                    ),
                    "n_mutations": pa.array(np.zeros(k, dtype=np.int32)),
                    "split": pa.repeat(pa.scalar(split, pa.string()), k),
                    "window_id": pa.array(batch_ids, type=pa.int64()),
                }
            )
