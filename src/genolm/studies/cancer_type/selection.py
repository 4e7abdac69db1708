"""The cell-line selection of the HyenaDNA cancer-type study.

Cell lines of the chosen lineages whose mutation burden is above the median are split into train/val/test per
class, and the same number of anchor mutations is drawn from each, so that no cell line (and no burden level)
dominates the windows the model sees. The chromosome-held-out control (`hold_out_chromosomes`) then keeps each
split's anchors on its own chromosomes only, so that no test window shares reference sequence with a training one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.tables import category_key, category_key_expr

_SOURCE = "cell-line selection"


def split_sizes(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """How many of `n` cell lines go to each split.

    Largest-remainder rounding: each split gets floor(fraction * n), and the lines left over go to the splits
    with the largest fractional parts (ties: the split listed first). Then, when n allows it, every split with
    a positive fraction that got none takes one from the currently largest split, so that each class is
    represented in every split.
    """
    if not fractions or any(f < 0 for f in fractions.values()) or not math.isclose(sum(fractions.values()), 1.0,
                                                                                   abs_tol=1e-6):
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    names = list(fractions)
    exact = [fractions[s] * n for s in names]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(names)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in by_remainder[: n - sum(sizes)]:
        sizes[i] += 1
    wanted = [i for i in range(len(names)) if fractions[names[i]] > 0]
    if n >= len(wanted):
        for i in wanted:
            if sizes[i] == 0:
                donor = max(range(len(names)), key=lambda j: (sizes[j], -j))
                sizes[donor] -= 1
                sizes[i] += 1
    return dict(zip(names, sizes))


def _balance_classes(chosen: pl.DataFrame, lineages: Sequence[str], rng: np.random.Generator,
                     qc: QCCounts) -> pl.DataFrame:
    sizes = [chosen.filter(pl.col("label") == label).height for label in range(len(lineages))]
    keep_per_class = min(sizes)
    kept = []
    for label, (lineage, size) in enumerate(zip(lineages, sizes)):
        members = chosen.filter(pl.col("label") == label)
        picked = np.sort(rng.choice(size, size=keep_per_class, replace=False))
        kept.append(members[picked])
        qc.add("dropped_for_class_balance", size - keep_per_class, detail=lineage)
    return pl.concat(kept).sort("sample")


def select_cell_lines(
    mutations: pl.DataFrame,
    samples: pl.DataFrame,
    *,
    lineages: Sequence[str],
    split_fractions: dict[str, float],
    seed: int,
    max_anchors_per_cell_line: int | None = None,
    balance_classes: bool = True,
    qc: QCCounts,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Select, split and balance cell lines; draw their anchor mutations.

    Returns `cell_lines` (sample, lineage, label, split, n_mutations, n_anchors) and `anchors` (sample, label,
    split, chrom, pos, ref, alt, anchor_id). The label of a cell line is the index of its lineage in
    `lineages`; the median is taken over the cell lines of all selected lineages together. With
    `balance_classes`, every lineage keeps as many cell lines as the smallest one has (a seeded random subset,
    the others counted as `dropped_for_class_balance`), so that with the same number of anchors per cell line
    the classes are balanced in every split and accuracy is balanced accuracy.

    Lineages match whatever their case and spacing (`sources.tables.category_key`); every cell line left out is
    counted in `qc` with its reason (`lineage_not_selected` with the table's value, `duplicate_sample`,
    `not_above_median_mutations`, `dropped_for_class_balance`), and the table must add up.
    """
    # A lineage is matched as the config names it, whatever its case and spacing in the table ("lung", "Lung "
    # are Lung: sources.tables.category_key); each cell line then carries the config's spelling.
    lineages = [" ".join(lineage.split()) for lineage in lineages]
    keys = [category_key(lineage) for lineage in lineages]
    if len(set(keys)) != len(keys) or not lineages:
        raise ValueError(f"lineages must be distinct (ignoring case and spacing) and non-empty, got {lineages}")
    if max_anchors_per_cell_line is not None and max_anchors_per_cell_line < 1:
        raise ValueError("max_anchors_per_cell_line must be at least 1")
    qc.add("cell_lines_read", samples.height)
    unique_samples = samples.unique("sample", keep="first", maintain_order=True)
    qc.add("duplicate_sample", samples.height - unique_samples.height)
    spelling = {key: lineage for key, lineage in zip(keys, lineages)}
    samples = unique_samples.with_columns(
        category_key_expr("lineage").replace_strict(spelling, default=None, return_dtype=pl.Utf8).alias("_selected"))
    qc.add("lineage_spelling_normalized", samples.filter(
        pl.col("_selected").is_not_null() & (pl.col("lineage") != pl.col("_selected"))).height)
    present = set(samples["_selected"].drop_nulls().to_list())
    absent = [lineage for lineage in lineages if lineage not in present]
    if absent:
        found = sorted(samples["lineage"].drop_nulls().unique().to_list())
        raise GenolmInputError(_SOURCE, f"lineage(s) {', '.join(map(repr, absent))} not among the samples "
                                        "(compared ignoring case and spacing); lineages present: "
                                        f"{', '.join(found)}")
    left_out = samples.filter(pl.col("_selected").is_null())
    for value, count in left_out.group_by("lineage").len().sort("lineage", nulls_last=True).iter_rows():
        qc.add("lineage_not_selected", count, detail="(no lineage)" if value is None else value)
    rng = np.random.default_rng(seed)

    counts = mutations.group_by("sample").len("n_mutations")
    chosen = (
        samples.filter(pl.col("_selected").is_not_null())
        .select("sample", pl.col("_selected").alias("lineage"))
        .join(counts, on="sample", how="left")
        .with_columns(
            pl.col("n_mutations").fill_null(0).cast(pl.Int64),
            pl.col("lineage").replace_strict({name: i for i, name in enumerate(lineages)}, return_dtype=pl.Int64)
            .alias("label"),
        )
        .sort("sample")
    )
    qc.add("cell_lines_of_lineages", chosen.height)
    median = float(chosen["n_mutations"].median())
    above = pl.col("n_mutations") > median
    for lineage, count in chosen.filter(~above).group_by("lineage").len().sort("lineage").iter_rows():
        qc.add("not_above_median_mutations", count, detail=lineage)
    chosen = chosen.filter(above)
    if balance_classes:
        chosen = _balance_classes(chosen, lineages, rng, qc)

    parts = []
    for label, lineage in enumerate(lineages):
        members = chosen.filter(pl.col("label") == label)
        if members.height == 0:
            raise GenolmInputError(_SOURCE, f"no {lineage} cell line has more mutations than the median "
                                            f"({median:g}) of the selected cell lines")
        sizes = split_sizes(members.height, split_fractions)
        order = rng.permutation(members.height)
        assignment = np.repeat(np.array(list(sizes), dtype=object), list(sizes.values()))
        split = np.empty(members.height, dtype=object)
        split[order] = assignment
        parts.append(members.with_columns(pl.Series("split", split, dtype=pl.Utf8)))
        for name, size in sizes.items():
            qc.add("cell_lines_in_split", size, detail=f"{lineage}/{name}")
    cell_lines = pl.concat(parts)

    n_anchors = int(cell_lines["n_mutations"].min())
    if max_anchors_per_cell_line is not None:
        n_anchors = min(n_anchors, max_anchors_per_cell_line)
    cell_lines = cell_lines.with_columns(pl.lit(n_anchors, dtype=pl.Int64).alias("n_anchors")).sort("label", "sample")

    anchors = []
    by_sample = (mutations.filter(pl.col("sample").is_in(cell_lines["sample"].implode()))
                 .sort("sample", "chrom", "pos", "ref", "alt").partition_by("sample", as_dict=True))
    # Draw in a fixed order (cell lines sorted by label, sample; mutations sorted by position) so one seed
    # always gives the same anchors.
    for sample, label, split in cell_lines.select("sample", "label", "split").iter_rows():
        rows = by_sample[(sample,)]
        picked = np.sort(rng.choice(rows.height, size=n_anchors, replace=False))
        anchors.append(rows[picked].select("sample", "chrom", "pos", "ref", "alt").with_columns(
            pl.lit(label, dtype=pl.Int64).alias("label"), pl.lit(split, dtype=pl.Utf8).alias("split")))
    anchor_table = (
        pl.concat(anchors)
        .sort("label", "sample", "chrom", "pos", "ref", "alt")
        .with_row_index("anchor_id")
        .select("sample", "label", "split", "chrom", "pos", "ref", "alt",
                pl.col("anchor_id").cast(pl.Int64))
    )
    qc.add("cell_lines_selected", cell_lines.height)
    qc.add("anchors", anchor_table.height)
    qc.require_balance(("cell_lines_read", "cell_lines_of_lineages", ("duplicate_sample", "lineage_not_selected")),
                       ("cell_lines_of_lineages", "cell_lines_selected",
                        ("not_above_median_mutations", "dropped_for_class_balance")),
                       informational=("cell_lines_in_split", "anchors", "lineage_spelling_normalized"))
    return cell_lines.select("sample", "lineage", "label", "split", "n_mutations", "n_anchors"), anchor_table


def hold_out_chromosomes(anchors: pl.DataFrame, held_out: dict[str, Sequence[str]], qc: QCCounts) -> pl.DataFrame:
    """The chromosome-held-out split (a control): the anchors of a split named in `held_out` keep only those on
    its chromosomes, and the anchors of every other split only those on no held-out chromosome; the cell-line
    split stays as it is, so a window is held out by its cell line and its chromosome. Each anchor left out is
    counted (`anchor_off_split_chromosomes`, per split) and the table adds up."""
    named = [c for chromosomes in held_out.values() for c in chromosomes]
    if len(set(named)) != len(named):
        raise GenolmInputError(_SOURCE, "a chromosome is held out for two splits: give each split its own")
    unknown = sorted(set(held_out) - set(anchors["split"].unique().to_list()))
    if unknown:
        raise GenolmInputError(_SOURCE, f"held-out chromosomes for split(s) {', '.join(unknown)}, which no cell "
                                        "line is in")
    allowed = pl.col("chrom").is_in(named).not_()
    for split, chromosomes in held_out.items():
        allowed = pl.when(pl.col("split") == split).then(pl.col("chrom").is_in(list(chromosomes))).otherwise(allowed)
    marked = anchors.with_columns(allowed.alias("_kept"))
    counts = QCCounts(qc.stage)  # balanced on its own, then merged
    counts.add("anchors_before_chromosome_holdout", anchors.height)
    for split, count in marked.filter(~pl.col("_kept")).group_by("split").len().sort("split").iter_rows():
        counts.add("anchor_off_split_chromosomes", count, detail=split)
    kept = marked.filter(pl.col("_kept")).drop("_kept")
    for split in sorted(anchors["split"].unique().to_list()):
        if not kept.filter(pl.col("split") == split).height:
            raise GenolmInputError(_SOURCE, f"no anchor of split {split!r} is left on its chromosomes: hold out "
                                            "chromosomes that carry mutations of that split's cell lines")
    counts.add("anchors_after_chromosome_holdout", kept.height)
    counts.require_balance(("anchors_before_chromosome_holdout", "anchors_after_chromosome_holdout",
                        ("anchor_off_split_chromosomes",)))
    qc.merge(counts)
    return kept
