"""Leak checks (genolm.datasets.leaks, `genolm leak-check`): containment exact on hand-made sequences, canonical
k-mers, N skipped, interval overlaps, MinHash clusters, and the command's failure over the threshold."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from genolm.cli import main
from genolm.datasets.leaks import (
    canonical_kmers,
    cluster_genomes,
    interval_overlaps,
    mash_distance,
    unit_containment,
)

_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def random_dna(length: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), length))


def reverse_complement(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


def brute_force_kmers(sequences, k):
    """Canonical k-mers as strings, by definition."""
    found = set()
    for sequence in sequences:
        for i in range(len(sequence) - k + 1):
            kmer = sequence[i:i + k].upper()
            if set(kmer) <= set("ACGT"):
                found.add(min(kmer, reverse_complement(kmer)))
    return found


def test_kmer_count_equals_brute_force_and_spans_no_two_sequences():
    sequences = [random_dna(300, 1), "acgtNNacgtacgtTTGCAnACGTACGTAC", random_dna(50, 2)]
    for k in (1, 5, 24, 32):
        assert len(canonical_kmers(sequences, k)) == len(brute_force_kmers(sequences, k))
    # Two sequences each shorter than k hold no k-mer, even though together they are longer.
    assert len(canonical_kmers(["ACGTACGTAC", "TTGCATTGCA"], 12)) == 0


def test_containment_copy_disjoint_half():
    k = 24
    train = [random_dna(2000, 10)]
    unit_copy = [train[0][500:900]]
    unit_disjoint = [random_dna(400, 11)]
    # Half of the unit's distinct k-mers from training, half from new sequence, in separate records.
    unit_half = [train[0][1000:1223], random_dna(223, 12)]
    reference = canonical_kmers(train, k)
    table = unit_containment({"copy": unit_copy, "disjoint": unit_disjoint, "half": unit_half}, reference, k)
    containment = dict(zip(table["unit"], table["containment"]))
    assert containment["copy"] == 1.0
    assert containment["disjoint"] == 0.0
    assert containment["half"] == pytest.approx(0.5, abs=0.01)
    assert table.filter(pl.col("unit") == "half")["kmers"][0] == 400


def test_reverse_complement_counts_as_the_same_kmers():
    train = random_dna(500, 3)
    reference = canonical_kmers([train], 24)
    table = unit_containment({"rc": [reverse_complement(train[100:300])]}, reference, 24)
    assert table["containment"][0] == 1.0


def test_kmers_with_n_are_skipped_and_a_unit_without_kmers_has_no_containment():
    train = random_dna(200, 4)
    masked = train[:50] + "N" + train[51:100]  # the N removes the 24 k-mers that cover position 50
    assert len(canonical_kmers([masked], 24)) == len(canonical_kmers([train[:100]], 24)) - 24
    table = unit_containment({"masked": [masked], "short": ["ACGTN" * 10]}, canonical_kmers([train], 24), 24)
    assert dict(zip(table["unit"], table["containment"])) == {"masked": 1.0, "short": None}


def test_scaled_sketch_estimates_containment():
    k = 21
    train = random_dna(60_000, 5)
    unit = [train[:20_000] + random_dna(20_000, 6)]
    exact = unit_containment({"u": unit}, canonical_kmers([train], k), k)["containment"][0]
    sketched = unit_containment({"u": unit}, canonical_kmers([train], k, scaled=20), k, scaled=20)
    assert sketched["kmers"][0] < len(canonical_kmers(unit, k)) / 10
    assert sketched["containment"][0] == pytest.approx(exact, abs=0.05)


def test_interval_overlaps_any_and_same_label():
    train = pl.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "ref_start": [100, 1000, 0], "ref_end": [200, 1100, 50],
                          "label": [0, 1, 0]})
    test = pl.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2", "chr3", "chr1"],
                         "ref_start": [150, 200, 1050, 40, 0, 50],
                         "ref_end": [160, 300, 1060, 60, 10, 2000],
                         "label": [0, 0, 0, 1, 0, 1]})
    result = interval_overlaps(test, train)
    # [200, 300) only touches [100, 200): half-open intervals do not overlap.
    assert result["overlaps_any"].to_list() == [True, False, True, True, False, True]
    assert result["overlaps_same_label"].to_list() == [True, False, False, False, False, True]


def test_clusters_single_linkage_deterministic():
    k = 21
    base_a, base_b = random_dna(20_000, 7), random_dna(20_000, 8)

    def mutate(sequence, rate, seed):
        rng = np.random.default_rng(seed)
        codes = np.array(["ACGT".index(b) for b in sequence])
        where = rng.random(len(codes)) < rate
        codes[where] = (codes[where] + rng.integers(1, 4, int(where.sum()))) % 4  # always another base
        return "".join(np.array(list("ACGT"))[codes])

    genomes = {"a1": base_a, "a2": mutate(base_a, 0.01, 1), "a3": mutate(mutate(base_a, 0.01, 1), 0.01, 2),
               "b1": base_b, "b2": mutate(base_b, 0.005, 3), "c1": random_dna(20_000, 9)}
    sketches = {name: canonical_kmers([g], k, scaled=10) for name, g in genomes.items()}
    assert mash_distance(sketches["a1"], sketches["a2"], k) == pytest.approx(0.01, abs=0.006)
    assert mash_distance(sketches["a1"], sketches["c1"], k) == 1.0
    # a1-a3 is about 0.02 apart, above the threshold, but joined through a2 (single linkage).
    assert mash_distance(sketches["a1"], sketches["a3"], k) > 0.015
    clusters = cluster_genomes(sketches, k, max_distance=0.015)
    assert clusters == {"a1": "a1", "a2": "a1", "a3": "a1", "b1": "b1", "b2": "b1", "c1": "c1"}
    reordered = dict(reversed(list(sketches.items())))
    assert cluster_genomes(reordered, k, max_distance=0.015) == clusters


def _write_fasta(path, records):
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    return path


def test_command_passes_under_threshold_and_fails_over_it_naming_the_worst_unit(tmp_path, capsys):
    train = random_dna(3000, 20)
    test = pl.DataFrame({"sequence": [train[:400], train[1000:1200] + random_dna(200, 21), random_dna(400, 22)],
                         "sample": ["leaked", "half", "clean"]})
    test.write_parquet(tmp_path / "test.parquet")
    reference = _write_fasta(tmp_path / "train.fa", [("train", train)])
    qc = tmp_path / "qc.tsv"
    common = ["leak-check", "--test", str(tmp_path / "test.parquet"), "--against", str(reference), "--k", "24", "--scaled", "1",
              "--qc", str(qc)]
    assert main(common + ["--max-containment", "1.0"]) == 0
    table = pl.read_csv(qc, separator="\t")
    assert dict(zip(table["unit"], table["containment"]))["leaked"] == 1.0
    assert table["over_threshold"].sum() == 0
    qc.unlink()

    assert main(common + ["--max-containment", "0.1"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(lines) == 1
    assert "unit leaked" in lines[0] and "1.0000" in lines[0] and "2 test unit(s)" in lines[0]
    assert not qc.exists()  # a failed stage leaves no partial output


def test_command_on_a_shard_set_test_split_against_its_train_split(tmp_path):
    """The cancer_type / 12S case: one shard set, test units (sample) measured against its own train split; a
    test genome copied into train is found, the others are not."""
    import pyarrow as pa

    from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter

    genomes = {name: random_dna(600, seed) for seed, name in enumerate(["g1", "g2", "g3", "g4"], start=30)}
    rows = [{"sequence": genomes[g][i:i + 200], "label": 0, "sample": g, "split": split, "window_id": n}
            for n, (g, split, i) in enumerate([("g1", "train", 0), ("g1", "train", 200), ("g2", "train", 0),
                                               ("g3", "test", 0), ("g3", "test", 300), ("g4", "test", 0),
                                               ("g2", "test", 100)])]
    with ShardWriter(tmp_path / "shards", dataset="d", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=SEQUENCE_SCHEMA))
    qc = tmp_path / "qc.tsv"
    assert main(["leak-check", "--test", str(tmp_path / "shards"), "--against", str(tmp_path / "shards"),
                 "--k", "24", "--scaled", "1", "--max-containment", "1", "--qc", str(qc)]) == 0
    table = pl.read_csv(qc, separator="\t")
    containment = dict(zip(table["unit"], table["containment"]))
    # g2's test window [100, 300) shares [100, 200) with its training window [0, 200): 77 of 177 k-mers.
    assert containment == {"g2": pytest.approx(77 / 177), "g3": 0.0, "g4": 0.0}


def test_leak_check_settings_default_in_the_schema():
    from genolm.config import load_schema, validate_config

    schema = load_schema()
    settings = validate_config({}, schema={"$defs": schema["$defs"], **schema["$defs"]["leak_check"]}, source="t")
    assert settings == {"k": 24, "scaled": 1, "max_containment": 0.1, "max_interval_overlap": 0.05}


def test_cluster_genomes_command_writes_families(tmp_path):
    """Segments of one genome (one genome_id) are sketched together; the TSV is the families format virBERT
    reads; a genome too short for the sketch is refused, not made a cluster of its own."""
    base = random_dna(30_000, 40)
    near = base[:15_000] + base[15_000:].replace("ACG", "ACT")  # a close relative
    pl.DataFrame({"genome_id": ["x", "x", "y", "z"],
                  "sequence": [base[:15_000], base[15_000:], near, random_dna(30_000, 41)]}).write_parquet(
        tmp_path / "genomes.parquet")
    out = tmp_path / "families.tsv"
    argv = ["cluster-genomes", "--genomes", str(tmp_path / "genomes.parquet"), "--k", "21", "--scaled", "10",
            "--max-distance", "0.05", "--out", str(out)]
    assert main(argv) == 0
    families = pl.read_csv(out, separator="\t")
    assert families.columns == ["genome_id", "family"]
    assert dict(families.iter_rows()) == {"x": "x", "y": "x", "z": "z"}
    pl.DataFrame({"genome_id": ["x", "tiny"], "sequence": [base, "ACGTACGTACGTACGTACGTACGTA"]}).write_parquet(
        tmp_path / "genomes.parquet")
    out.unlink()
    assert main(argv) == 2
    assert not out.exists()


def test_interval_overlaps_command_counts_add_up_and_fail_over_threshold(tmp_path, capsys):
    import pyarrow as pa

    from genolm.datasets.shards import ShardWriter, shard_schema
    from genolm.qc import read_qc

    schema = shard_schema(coordinates=True)
    windows = [("train", "chr1", 0, 100, 0), ("train", "chr1", 500, 600, 1), ("test", "chr1", 50, 150, 0),
               ("test", "chr1", 550, 650, 0), ("test", "chr2", 0, 100, 0), ("test", "chr1", 900, 1000, 1)]
    rows = [{"sequence": "A" * (end - start), "label": label, "sample": f"s{n}", "chrom": chrom, "ref_start": start,
             "ref_end": end, "split": split, "window_id": n} for n, (split, chrom, start, end, label) in enumerate(windows)]
    with ShardWriter(tmp_path / "shards", dataset="w", provenance={}, schema=schema) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=schema))
    qc = tmp_path / "qc.tsv"
    argv = ["interval-overlaps", "--shards", str(tmp_path / "shards"), "--qc", str(qc)]
    assert main(argv + ["--max-fraction", "0.25"]) == 0
    counts = dict(zip(read_qc(qc)["reason"], read_qc(qc)["count"]))
    assert counts == {"test_windows": 4, "no_overlap": 2, "overlaps_same_label": 1, "overlaps_other_label_only": 1}
    qc.unlink()
    assert main(argv + ["--max-fraction", "0.2"]) == 2
    [line] = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert "1 of 4 test windows (25.0%)" in line and "chr1:50-150" in line
    assert not qc.exists()
