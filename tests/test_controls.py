"""Control arms (issue #22.4): cancer_type's reference-only windows (the same windows without the cell line's
mutations) and its chromosome-held-out split."""

from __future__ import annotations

import polars as pl
import pytest

from genolm.datasets.windows import materialize_windows
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.studies.cancer_type.selection import hold_out_chromosomes
from test_windows import random_case, windows


def test_reference_only_windows_are_the_same_windows_with_the_reference_bases(tmp_path):
    reference, sequences, mutations, anchors = random_case(tmp_path, seed=11, n_anchors=200)
    mutated = windows(reference, mutations, anchors, length=64, seed=5)
    qc = QCCounts("test")
    import pyarrow as pa

    plain = pa.Table.from_batches(list(materialize_windows(reference, mutations, anchors, length=64, seed=5, qc=qc,
                                                           reference_only=True))).to_pylist()
    assert [w["window_id"] for w in plain] == [w["window_id"] for w in mutated]
    changed = 0
    for ours, theirs in zip(plain, mutated):
        assert (ours["ref_start"], ours["label"], ours["sample"], ours["split"], ours["chrom"]) == (
            theirs["ref_start"], theirs["label"], theirs["sample"], theirs["split"], theirs["chrom"])
        start = ours["ref_start"]
        assert ours["sequence"] == sequences[ours["chrom"]][start:start + 64]
        assert ours["mutations"] == [] and ours["n_mutations"] == 0 and ours["ref_end"] == start + 64
        assert 0 <= ours["anchor_offset"] < 64
        changed += ours["sequence"] != theirs["sequence"]
    assert changed == len(plain)  # every mutated window differs from its reference-only twin (its anchor at least)
    assert qc.get("mutations_applied") == 0 and qc.get("windows") == len(plain)


def anchors_table() -> pl.DataFrame:
    rows = [("a", 0, "train", "chr1"), ("a", 0, "train", "chr4"), ("b", 1, "train", "chr19"),
            ("c", 0, "test", "chr4"), ("c", 0, "test", "chr1"), ("d", 1, "test", "chr19"),
            ("e", 1, "val", "chr17"), ("e", 1, "val", "chr2")]
    return pl.DataFrame([{"sample": s, "label": lab, "split": sp, "chrom": c, "pos": i + 1, "ref": "A", "alt": "C",
                          "anchor_id": i} for i, (s, lab, sp, c) in enumerate(rows)])


def test_held_out_chromosomes_keep_each_split_on_its_own_chromosomes():
    qc = QCCounts("select_cell_lines")
    kept = hold_out_chromosomes(anchors_table(), {"test": ["chr4", "chr19"], "val": ["chr17"]}, qc)
    assert kept.select("split", "chrom").rows() == [("train", "chr1"), ("test", "chr4"), ("test", "chr19"),
                                                     ("val", "chr17")]
    by_split = {split: set(kept.filter(pl.col("split") == split)["chrom"]) for split in ("train", "val", "test")}
    assert not (by_split["train"] & by_split["test"]) and not (by_split["train"] & by_split["val"])
    assert qc.get("anchor_off_split_chromosomes", "train") == 2 and qc.get("anchor_off_split_chromosomes", "test") == 1
    assert qc.total("anchors_before_chromosome_holdout") == 8 == kept.height + qc.total("anchor_off_split_chromosomes")


def test_a_held_out_split_left_empty_or_a_chromosome_given_twice_is_refused():
    with pytest.raises(GenolmInputError, match="no anchor of split 'test'"):
        hold_out_chromosomes(anchors_table(), {"test": ["chrX"]}, QCCounts("s"))
    with pytest.raises(GenolmInputError, match="two splits"):
        hold_out_chromosomes(anchors_table(), {"test": ["chr4"], "val": ["chr4"]}, QCCounts("s"))
    with pytest.raises(GenolmInputError, match="which no cell line is in"):
        hold_out_chromosomes(anchors_table(), {"holdout": ["chr4"]}, QCCounts("s"))


def test_a_shuffled_label_control_is_no_paper_row():
    """virBERT's Table 1 puts the documents' numbers beside each arm's row: the shuffled control has none."""
    from genolm.studies.virbert.tables import paper_row

    pretrained = {"backbone": "virbert", "init": "pretrained"}
    assert paper_row(pretrained, {}, "1") is not None
    assert paper_row({**pretrained, "shuffle_labels": True}, {}, "1") is None
