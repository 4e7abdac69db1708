"""The thesis' cell-line selection: lineage filter, median burden, per-class splits, balanced anchors."""

from __future__ import annotations

import polars as pl
import pytest

from genolm.cli import main
from genolm.studies.cancer_type.selection import select_cell_lines, split_sizes
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts


def _data(counts: dict[str, tuple[str, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Samples (sample -> lineage) and `n` distinct mutations for each."""
    samples = pl.DataFrame({"sample": list(counts), "lineage": [lineage for lineage, _ in counts.values()]})
    rows = [
        {"sample": sample, "chrom": f"chr{1 + i % 3}", "pos": 1000 + 7 * i, "ref": "A", "alt": "C"}
        for sample, (_, n) in counts.items() for i in range(n)
    ]
    return pl.DataFrame(rows, schema={"sample": pl.Utf8, "chrom": pl.Utf8, "pos": pl.Int64, "ref": pl.Utf8,
                                      "alt": pl.Utf8}), samples


# 12 Lung and 12 Lymphoid cell lines with distinct burdens, 4 Skin cell lines (other lineage) with huge burdens.
COUNTS = {f"LUNG-{i:02d}": ("Lung", 10 + 3 * i) for i in range(12)}
COUNTS |= {f"LYMPH-{i:02d}": ("Lymphoid", 11 + 3 * i) for i in range(12)}
COUNTS |= {f"SKIN-{i}": ("Skin", 500) for i in range(4)}


def _select(seed=1, **kwargs):
    mutations, samples = _data(COUNTS)
    qc = QCCounts("t")
    kwargs.setdefault("lineages", ["Lung", "Lymphoid"])
    kwargs.setdefault("split_fractions", {"train": 0.7, "val": 0.1, "test": 0.2})
    cell_lines, anchors = select_cell_lines(mutations, samples, seed=seed, qc=qc, **kwargs)
    return cell_lines, anchors, qc


def test_median_filter_labels_and_balance():
    cell_lines, anchors, qc = _select()
    selected = {s: c for s, (lineage, c) in COUNTS.items() if lineage in ("Lung", "Lymphoid")}
    median = sorted(selected.values())[11:13]
    median = sum(median) / 2
    expected = {s for s, c in selected.items() if c > median}
    assert set(cell_lines["sample"]) == expected
    assert qc.total("not_above_median_mutations") == len(selected) - len(expected)
    assert dict(zip(cell_lines["sample"], cell_lines["label"])) == {s: 0 if s.startswith("LUNG") else 1 for s in expected}
    n = min(c for s, c in selected.items() if s in expected)
    assert cell_lines["n_anchors"].unique().to_list() == [n]
    assert anchors.group_by("sample").len()["len"].unique().to_list() == [n]  # same number from every line
    assert anchors["anchor_id"].to_list() == list(range(anchors.height))
    assert anchors.select("sample", "chrom", "pos").is_duplicated().sum() == 0  # without replacement
    mutations, _ = _data(COUNTS)
    assert anchors.join(mutations, on=["sample", "chrom", "pos", "ref", "alt"], how="anti").height == 0


def test_splits_are_per_class_disjoint_and_complete():
    cell_lines, anchors, _ = _select()
    for label in (0, 1):
        sizes = cell_lines.filter(pl.col("label") == label).group_by("split").len()
        assert dict(zip(sizes["split"], sizes["len"])) == {"train": 4, "val": 1, "test": 1}  # 6 per class
    assert cell_lines["sample"].is_unique().all()
    per_sample = anchors.group_by("sample").agg(pl.col("split").unique())
    assert per_sample["split"].list.len().max() == 1
    assert dict(zip(anchors["sample"], anchors["split"])) == dict(zip(cell_lines["sample"], cell_lines["split"]))


def test_deterministic_given_seed_and_different_across_seeds():
    first, second = _select(seed=3), _select(seed=3)
    assert first[0].equals(second[0]) and first[1].equals(second[1])
    other = _select(seed=4)
    assert not (first[0].equals(other[0]) and first[1].equals(other[1]))


def test_cap_on_anchors():
    cell_lines, anchors, _ = _select(max_anchors_per_cell_line=5)
    assert cell_lines["n_anchors"].unique().to_list() == [5] and anchors.height == 5 * cell_lines.height


@pytest.mark.parametrize(
    "n, fractions, expected",
    [
        (10, {"train": 0.7, "val": 0.1, "test": 0.2}, {"train": 7, "val": 1, "test": 2}),
        (6, {"train": 0.7, "val": 0.1, "test": 0.2}, {"train": 4, "val": 1, "test": 1}),
        (3, {"train": 0.7, "val": 0.1, "test": 0.2}, {"train": 1, "val": 1, "test": 1}),
        (2, {"train": 0.7, "val": 0.1, "test": 0.2}, {"train": 1, "val": 0, "test": 1}),
        (7, {"train": 0.5, "test": 0.5}, {"train": 4, "test": 3}),
        (4, {"train": 1.0, "val": 0.0}, {"train": 4, "val": 0}),
    ],
)
def test_split_sizes(n, fractions, expected):
    assert split_sizes(n, fractions) == expected
    assert sum(split_sizes(n, fractions).values()) == n


def test_split_fractions_must_sum_to_one():
    with pytest.raises(ValueError):
        split_sizes(10, {"train": 0.7, "test": 0.2})


def test_absent_lineage_lists_the_present_ones():
    with pytest.raises(GenolmInputError, match="'Breast'.*Lung, Lymphoid, Skin"):
        _select(lineages=["Lung", "Breast"])


def test_select_cell_lines_command(tmp_path):
    mutations, samples = _data(COUNTS)
    mutations.write_parquet(tmp_path / "m.parquet")
    samples.write_parquet(tmp_path / "s.parquet")
    out_c, out_a, qc = tmp_path / "c.parquet", tmp_path / "a.parquet", tmp_path / "qc.tsv"
    assert main(["select-cell-lines", "--mutations", str(tmp_path / "m.parquet"), "--samples", str(tmp_path / "s.parquet"),
                 "--lineages", "Lymphoid", "Lung", "--split", "train=0.5", "val=0.25", "test=0.25", "--seed", "1",
                 "--out-cell-lines", str(out_c), "--out-anchors", str(out_a), "--qc", str(qc)]) == 0
    cell_lines = pl.read_parquet(out_c)
    assert set(cell_lines.filter(pl.col("label") == 0)["lineage"]) == {"Lymphoid"}
    assert pl.read_parquet(out_a)["anchor_id"].dtype == pl.Int64
    assert "not_above_median_mutations" in qc.read_text()


def test_classes_balanced_by_dropping_cell_lines_of_the_larger_lineage():
    counts = {f"LUNG-{i:02d}": ("Lung", 40 + i) for i in range(9)}
    counts |= {f"LYMPH-{i:02d}": ("Lymphoid", 60 + i) for i in range(3)}
    counts |= {f"LOW-{i:02d}": ("Lymphoid", 5) for i in range(6)}
    mutations, samples = _data(counts)
    qc = QCCounts("t")
    cell_lines, anchors = select_cell_lines(mutations, samples, lineages=["Lung", "Lymphoid"], seed=3, qc=qc,
                                            split_fractions={"train": 0.5, "test": 0.5})
    per_class = cell_lines.group_by("lineage").len()
    assert dict(per_class.iter_rows()) == {"Lung": 3, "Lymphoid": 3}
    assert qc.get("dropped_for_class_balance", detail="Lung") == 3  # 6 Lung lines above the median 42.5
    sizes = anchors.group_by("split", "label").len()
    assert (sizes.group_by("split").agg(pl.col("len").n_unique())["len"] == 1).all()  # classes equal in every split

    unbalanced, _ = select_cell_lines(mutations, samples, lineages=["Lung", "Lymphoid"], seed=3, qc=QCCounts("t"),
                                      split_fractions={"train": 0.5, "test": 0.5}, balance_classes=False)
    assert dict(unbalanced.group_by("lineage").len().iter_rows()) == {"Lung": 6, "Lymphoid": 3}
