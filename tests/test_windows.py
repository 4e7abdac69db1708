"""Mutated and reference windows: hand-computed cases, invariants and determinism."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genolm.cli import main
from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import read_manifest, read_shards
from genolm.datasets.windows import materialize_windows, reference_windows
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

# chr1: 40 distinct-looking bases, so that every expected string below can be checked by eye.
CHR1 = "ACGTTGCAAGCTTACGGATCCATGCAGTCAGGTACCATGA"
CHR2 = "TTGACCGATAGGCTAACGTCAGTGGCATCA"  # 30 bases
CHR3 = "ACGTA"  # shorter than every window below


def write_fasta(path: Path, sequences: dict[str, str]) -> Path:
    with open(path, "w") as handle:
        for name, sequence in sequences.items():
            handle.write(f">{name}\n")
            for start in range(0, len(sequence), 60):
                handle.write(sequence[start:start + 60] + "\n")
    return path


@pytest.fixture
def reference(tmp_path: Path) -> ReferenceGenome:
    return ReferenceGenome(write_fasta(tmp_path / "ref.fa", {"chr1": CHR1, "chr2": CHR2, "chr3": CHR3}))


def mutation(sample: str, chrom: str, pos: int, ref: str, alt: str) -> dict:
    return {"sample": sample, "chrom": chrom, "pos": pos, "ref": ref, "alt": alt}


def as_frames(rows: list[dict], anchor_rows: list[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    mutations = pl.DataFrame(rows)
    anchors = mutations[anchor_rows].with_columns(
        pl.lit(1, dtype=pl.Int64).alias("label"),
        pl.lit("train").alias("split"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("anchor_id"),
    )
    return mutations, anchors


def windows(reference, mutations, anchors, *, length=10, seed=0, batch_size=4096, qc=None) -> list[dict]:
    qc = qc if qc is not None else QCCounts("test")
    batches = list(materialize_windows(reference, mutations, anchors, length=length, seed=seed, qc=qc,
                                       batch_size=batch_size))
    return pa.Table.from_batches(batches).to_pylist() if batches else []


def test_snp_anchor_at_chromosome_start(reference):
    # An anchor on the first base leaves a single possible start: 0.
    rows, anchors = as_frames([mutation("S1", "chr1", 1, "A", "T")], [0])
    (window,) = windows(reference, rows, anchors)
    assert window["sequence"] == "T" + CHR1[1:10]
    assert (window["ref_start"], window["ref_end"], window["anchor_offset"], window["anchor_pos"]) == (0, 10, 0, 1)
    assert window["mutations"] == [{"pos": 1, "ref": "A", "alt": "T"}]
    assert window["n_mutations"] == 1 and window["sample"] == "S1" and window["label"] == 1
    assert window["chrom"] == "chr1" and window["split"] == "train" and window["window_id"] == 0


def test_dnp_and_other_sample_ignored(reference):
    rows, anchors = as_frames(
        [mutation("S1", "chr1", 1, "AC", "GG"), mutation("S2", "chr1", 4, "T", "A")], [0]
    )
    (window,) = windows(reference, rows, anchors)
    assert window["sequence"] == "GG" + CHR1[2:10]
    assert window["n_mutations"] == 1


def test_insertion_is_trimmed_at_the_right(reference):
    rows, anchors = as_frames(
        [mutation("S1", "chr1", 1, "A", "T"), mutation("S1", "chr1", 5, "T", "TGGG")], [0]
    )
    (window,) = windows(reference, rows, anchors)
    assert window["sequence"] == ("T" + CHR1[1:5] + "GGG" + CHR1[5:10])[:10] == "TCGTTGGGGC"
    assert (window["ref_start"], window["ref_end"]) == (0, 10)
    assert [m["pos"] for m in window["mutations"]] == [1, 5]


def test_deletions_extend_the_window_repeatedly(reference):
    # The first deletion (2 bases) extends [0, 10) to [0, 12); that brings a second deletion (1 base) fully
    # inside, which extends it again to [0, 13).
    rows, anchors = as_frames(
        [
            mutation("S1", "chr1", 1, "A", "T"),
            mutation("S1", "chr1", 5, "TGC", "T"),
            mutation("S1", "chr1", 11, "CT", "C"),
        ],
        [0],
    )
    qc = QCCounts("test")
    (window,) = windows(reference, rows, anchors, qc=qc)
    assert window["sequence"] == "T" + CHR1[1:5] + CHR1[7:11] + CHR1[12:13]
    assert len(window["sequence"]) == 10
    assert (window["ref_start"], window["ref_end"]) == (0, 13)
    assert [m["pos"] for m in window["mutations"]] == [1, 5, 11]
    assert qc.get("extended_right") == 1 and qc.get("extended_left") == 0


def test_deletion_at_chromosome_end_extends_left(reference):
    # The anchor deletes the last two bases of chr2: its REF ends at the chromosome end, so the window must
    # start at 20; the missing 2 bases can only come from the left.
    rows, anchors = as_frames([mutation("S1", "chr2", 28, CHR2[27:30], CHR2[27])], [0])
    qc = QCCounts("test")
    (window,) = windows(reference, rows, anchors, qc=qc)
    assert window["sequence"] == CHR2[18:28]
    assert (window["ref_start"], window["ref_end"], window["anchor_offset"]) == (18, 30, 9)
    assert qc.get("extended_left") == 1


def test_overlap_rule_anchor_first_then_position_order(reference):
    rows = [
        mutation("S1", "chr1", 1, "A", "C"),  # sorts before the anchor (A>T) but overlaps it
        mutation("S1", "chr1", 1, "A", "T"),  # the anchor
        mutation("S1", "chr1", 3, "GTT", "G"),  # accepted: deletes 2 bases
        mutation("S1", "chr1", 4, "T", "C"),  # inside the accepted deletion's REF
    ]
    mutations, anchors = as_frames(rows, [1])
    qc = QCCounts("test")
    (window,) = windows(reference, mutations, anchors, qc=qc)
    assert window["mutations"] == [{"pos": 1, "ref": "A", "alt": "T"}, {"pos": 3, "ref": "GTT", "alt": "G"}]
    assert window["sequence"] == "T" + CHR1[1:3] + CHR1[5:12]
    assert qc.get("overlap_skipped") == 2

    # With the SNV inside the deletion as the anchor, the anchor wins and the deletion is skipped.
    mutations, anchors = as_frames(rows, [3])
    (window,) = windows(reference, mutations, anchors, seed=3)
    assert {"pos": 3, "ref": "GTT", "alt": "G"} not in window["mutations"]
    assert window["sequence"][window["anchor_offset"]] == "C"


def test_insertions_before_anchor_shift_the_window_right(tmp_path):
    sequence = "".join(np.random.default_rng(1).choice(list("ACGT"), 100))
    reference = ReferenceGenome(write_fasta(tmp_path / "ref.fa", {"chr1": sequence}))
    anchor_alt = "A" if sequence[9] != "A" else "C"
    rows, anchors = as_frames(
        [
            mutation("S1", "chr1", 2, sequence[1], sequence[1] + "GGGG"),
            mutation("S1", "chr1", 10, sequence[9], anchor_alt),
        ],
        [1],
    )
    shifted = 0
    for seed in range(30):
        qc = QCCounts("test")
        (window,) = windows(reference, rows, anchors, seed=seed, qc=qc)
        shifted += qc.get("shifted_right")
        assert window["sequence"][window["anchor_offset"]] == anchor_alt
        if qc.get("shifted_right"):
            # Moved right just far enough to leave the 4-base insertion out.
            assert (window["ref_start"], window["sequence"]) == (4, sequence[4:9] + anchor_alt + sequence[10:14])
    assert shifted > 0


def test_skips_are_counted(reference):
    rows = [
        mutation("S1", "chr3", 2, "C", "A"),  # chromosome shorter than the window
        mutation("S1", "chr2", 30, "A", "A" + "C" * 12),  # ALT longer than the window
        mutation("S1", "chr2", 20, "C", "T"),  # kept
        # chr1 is 40 bases: an anchor on its last base with a 5-base insertion just before it cannot be kept.
        mutation("S2", "chr1", 31, "G", "GCCCCC"),
        mutation("S2", "chr1", 40, "A", "T"),
    ]
    mutations, anchors = as_frames(rows, [0, 1, 2, 4])
    second_on_chr3 = anchors[:1].with_columns(pos=pl.lit(3, dtype=pl.Int64), anchor_id=pl.lit(9, dtype=pl.Int64))
    anchors = pl.concat([anchors, second_on_chr3])
    qc = QCCounts("test")
    out = windows(reference, mutations, anchors, qc=qc)
    assert [w["anchor_pos"] for w in out] == [20]
    assert qc.get("chromosome_shorter_than_window", "chr3") == 2
    assert qc.get("anchor_longer_than_window") == 1
    assert qc.get("anchor_pushed_out") == 1
    assert qc.get("anchor_not_in_mutations") == 0
    assert qc.get("windows") == 1


def test_anchor_missing_from_mutations_is_counted(reference):
    mutations, anchors = as_frames([mutation("S1", "chr1", 5, "T", "A")], [0])
    anchors = anchors.with_columns(alt=pl.lit("G"))
    qc = QCCounts("test")
    assert windows(reference, mutations, anchors, qc=qc) == []
    assert qc.get("anchor_not_in_mutations") == 1


def test_duplicate_anchor_ids_are_rejected(reference):
    mutations, anchors = as_frames([mutation("S1", "chr1", 5, "T", "A")], [0, 0])
    with pytest.raises(GenolmInputError, match="anchor_id"):
        windows(reference, mutations, anchors.with_columns(anchor_id=pl.lit(3, dtype=pl.Int64)))


# ---------------------------------------------------------------------------------------------------------
# Random data: every kind of variant, dense enough for overlaps, extensions and chromosome ends.


def random_mutations(rng: np.random.Generator, sequences: dict[str, str], samples: list[str],
                     per_kb: float) -> pl.DataFrame:
    bases = np.array(list("ACGT"))
    rows = []
    for sample in samples:
        for chrom, sequence in sequences.items():
            for p0 in np.sort(rng.choice(len(sequence) - 8, int(len(sequence) * per_kb / 1000), replace=False)):
                kind = rng.choice(["SNP", "DNP", "TNP", "INS", "DEL", "COMPLEX"], p=[0.4, 0.1, 0.05, 0.2, 0.2, 0.05])
                ref_len = {"SNP": 1, "DNP": 2, "TNP": 3, "INS": 1}.get(kind) or int(rng.integers(2, 8))
                ref = sequence[p0:p0 + ref_len]
                if kind == "INS":
                    alt = ref + "".join(rng.choice(bases, int(rng.integers(1, 7))))
                elif kind == "DEL":
                    alt = ref[0]
                else:
                    alt = ref
                    while alt == ref:
                        size = ref_len if kind != "COMPLEX" else int(rng.integers(1, 5))
                        alt = "".join(rng.choice(bases, size))
                rows.append(mutation(sample, chrom, int(p0) + 1, ref, alt))
    return pl.DataFrame(rows)


def random_case(tmp_path: Path, seed: int, n_anchors: int):
    rng = np.random.default_rng(seed)
    sequences = {
        "chr1": "".join(rng.choice(list("ACGT"), 5000)),
        "chr2": "".join(rng.choice(list("ACGT"), 400)),
    }
    reference = ReferenceGenome(write_fasta(tmp_path / "random.fa", sequences))
    mutations = random_mutations(rng, sequences, ["S1", "S2", "S3"], per_kb=60)
    chosen = np.sort(rng.choice(mutations.height, n_anchors, replace=False))
    anchors = mutations[chosen].with_columns(
        label=pl.lit(None, dtype=pl.Int64),
        split=pl.lit("all"),
        anchor_id=pl.Series(rng.permutation(n_anchors) * 3 + 5, dtype=pl.Int64),
    )
    return reference, sequences, mutations, anchors


def test_random_windows_keep_anchor_and_length(tmp_path):
    reference, sequences, mutations, anchors = random_case(tmp_path, seed=11, n_anchors=300)
    qc = QCCounts("test")
    out = windows(reference, mutations, anchors, length=64, seed=5, qc=qc)
    by_id = {row["anchor_id"]: row for row in anchors.to_dicts()}
    assert len(out) + qc.get("anchor_pushed_out") + qc.get("too_short_after_deletions") + qc.get(
        "anchor_longer_than_window") == anchors.height
    for window in out:
        anchor = by_id[window["window_id"]]
        assert len(window["sequence"]) == 64
        assert window["ref_start"] <= anchor["pos"] - 1 and anchor["pos"] - 1 + len(anchor["ref"]) <= window["ref_end"]
        offset = window["anchor_offset"]
        assert window["sequence"][offset:offset + len(anchor["alt"])] == anchor["alt"]
        spans = [(m["pos"] - 1, m["pos"] - 1 + len(m["ref"])) for m in window["mutations"]]
        assert spans == sorted(spans) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        assert all(window["ref_start"] <= s and e <= window["ref_end"] for s, e in spans)
    assert qc.get("overlap_skipped") > 0 and qc.get("extended_right") > 0


def test_deterministic_across_batch_sizes_and_runs(tmp_path):
    reference, _, mutations, anchors = random_case(tmp_path, seed=3, n_anchors=150)
    first = windows(reference, mutations, anchors, length=48, seed=9, batch_size=4096)
    assert windows(reference, mutations, anchors, length=48, seed=9, batch_size=7) == first
    assert windows(reference, mutations, anchors, length=48, seed=9, batch_size=1) == first
    # Row order of the inputs is irrelevant: draws follow anchor_id.
    assert windows(reference, mutations.reverse(), anchors.reverse(), length=48, seed=9) == first
    other = windows(reference, mutations, anchors, length=48, seed=10)
    assert [w["ref_start"] for w in other] != [w["ref_start"] for w in first]


# ---------------------------------------------------------------------------------------------------------
# Reference windows


def test_reference_windows_tile_filter_n_and_split(tmp_path):
    chr1 = "ACGT" * 5 + "N" * 10 + "ACGTACGTAC" + "NNNNNAAAAA"  # 50 bases: windows of 10 at stride 10
    reference = ReferenceGenome(write_fasta(tmp_path / "ref.fa", {"chr1": chr1, "chr2": "GATTACA" * 3}))
    qc = QCCounts("test")
    batches = reference_windows(reference, chromosomes=["chr1", "chr2"], length=10, max_windows=None, seed=0,
                                max_n_fraction=0.5, qc=qc, splits={"chr2": "val"}, batch_size=2)
    out = pa.Table.from_batches(list(batches)).to_pylist()
    assert [(w["chrom"], w["ref_start"], w["split"]) for w in out] == [
        ("chr1", 0, "train"), ("chr1", 10, "train"), ("chr1", 30, "train"), ("chr1", 40, "train"),
        ("chr2", 0, "val"), ("chr2", 10, "val"),
    ]
    assert [w["window_id"] for w in out] == [0, 1, 3, 4, 5, 6]
    assert out[3]["sequence"] == "NNNNNAAAAA"  # exactly half N is kept
    assert all(w["mutations"] == [] and w["sample"] is None and w["anchor_pos"] is None for w in out)
    assert qc.get("too_many_n") == 1 and qc.get("windows") == 6


def test_reference_windows_sample_and_stride(tmp_path):
    sequence = "".join(np.random.default_rng(0).choice(list("ACGT"), 1000))
    reference = ReferenceGenome(write_fasta(tmp_path / "ref.fa", {"chr1": sequence}))

    def run(seed: int) -> list[dict]:
        batches = reference_windows(reference, chromosomes=["1"], length=100, stride=50, max_windows=5, seed=seed,
                                    qc=QCCounts("test"))
        return pa.Table.from_batches(list(batches)).to_pylist()

    out = run(4)
    assert len(out) == 5 and out == run(4) and out != run(5)
    for window in out:
        assert window["ref_start"] % 50 == 0 and window["ref_end"] == window["ref_start"] + 100 <= 1000
        assert window["sequence"] == sequence[window["ref_start"]:window["ref_end"]]
    with pytest.raises(GenolmInputError, match="chr7"):
        list(reference_windows(reference, chromosomes=["chr7"], length=10, max_windows=None, seed=0, qc=QCCounts("t")))


# ---------------------------------------------------------------------------------------------------------
# Commands


def test_mutate_windows_command_from_gzip_reference(tmp_path):
    _, sequences, mutations, _ = random_case(tmp_path, seed=5, n_anchors=1)
    with gzip.open(tmp_path / "hg38.fa.gz", "wt") as handle:  # plain gzip, as UCSC serves it
        handle.write((tmp_path / "random.fa").read_text())
    mutations.rename({"sample": "ModelID", "chrom": "Chrom", "pos": "Pos", "ref": "Ref", "alt": "Alt"}).write_csv(
        tmp_path / "mutations.csv")
    pl.DataFrame({"ModelID": ["S1", "S2", "S3"], "OncotreeLineage": ["Lymphoid", "Lung", None]}).write_csv(
        tmp_path / "Model.csv")
    out = tmp_path / "windows"
    status = main([
        "mutate-windows", "--reference", str(tmp_path / "hg38.fa.gz"), "--mutations", str(tmp_path / "mutations.csv"),
        "--samples", str(tmp_path / "Model.csv"), "--length", "64", "--seed", "3", "--out", str(out),
        "--qc", str(tmp_path / "qc.tsv"), "--provenance-json", '{"config_hash": "feed"}',
    ])
    assert status == 0
    table = read_shards(out, "all")
    manifest = read_manifest(out)
    assert table.num_rows == manifest["splits"]["all"]["rows"] == manifest["counts"]["windows"] > 0.9 * mutations.height
    labels = dict(zip(table["sample"].to_pylist(), table["label"].to_pylist()))
    assert labels == {"S1": 1, "S2": 0, "S3": None}  # sorted lineages: Lung=0, Lymphoid=1
    assert all(len(s) == 64 for s in table["sequence"].to_pylist())
    for window in table.slice(0, 100).to_pylist():
        (anchor,) = [m for m in window["mutations"] if m["pos"] == window["anchor_pos"]]
        offset = window["anchor_offset"]
        assert window["sequence"][offset:offset + len(anchor["alt"])] == anchor["alt"]
    provenance = json.loads(pq.read_schema(out / manifest["splits"]["all"]["files"][0]).metadata[b"genolm"])
    assert provenance["config_hash"] == "feed" and provenance["seed"] == 3 and provenance["length"] == 64
    assert set(provenance["inputs"]) == {"reference_fai", "mutations"}
    qc = pl.read_csv(tmp_path / "qc.tsv", separator="\t")
    without_lineage = qc.filter(pl.col("reason") == "anchor_without_lineage")["count"].item()
    assert without_lineage == (mutations["sample"] == "S3").sum()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the temporary reference is gone


def test_reference_windows_command(tmp_path):
    _, sequences, _, _ = random_case(tmp_path, seed=2, n_anchors=1)
    out = tmp_path / "pretrain"
    status = main([
        "reference-windows", "--reference", str(tmp_path / "random.fa"), "--chromosomes", "chr1,chr2",
        "--length", "100", "--stride", "50", "--seed", "0", "--split-by-chromosome", "val=2", "--out", str(out),
    ])
    assert status == 0
    assert sorted(read_manifest(out)["splits"]) == ["train", "val"]
    val = read_shards(out, "val", columns=["chrom", "ref_start", "sequence"]).to_pylist()
    assert [w["ref_start"] for w in val] == list(range(0, 301, 50))
    assert all(w["sequence"] == sequences["chr2"][w["ref_start"]:w["ref_start"] + 100] for w in val)
    assert read_shards(out, "train").num_rows == (5000 - 100) // 50 + 1
    assert main(["reference-windows", "--reference", str(tmp_path / "random.fa"), "--length", "100", "--seed", "0",
                 "--split-by-chromosome", "val=chr9", "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()


def test_unvalidated_mutation_past_chromosome_end_is_rejected(reference):
    mutations, anchors = as_frames([mutation("S1", "chr2", 29, "CAT", "C"), mutation("S1", "chr2", 5, "C", "A")], [1])
    with pytest.raises(GenolmInputError, match="chr2:29 CAT>C, sample S1: REF runs past the end of chr2"):
        windows(reference, mutations, anchors)
