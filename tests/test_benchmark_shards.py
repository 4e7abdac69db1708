"""Benchmark tables to shards is a shared builder (genolm.datasets.benchmarks, `genolm benchmark-shards`): any
study can call it; its layout is the one ENBED's rule has always written."""

from __future__ import annotations

import polars as pl

from conftest import run_genolm
from genolm.datasets.shards import read_manifest, read_shards


def benchmark_table(path, rows_per_class: int = 20):
    rows = [{"benchmark": "genomic_benchmarks", "task": "t", "split": split, "id": f"{split}{c}{i}", "label": c,
             "class_name": ("negative", "positive")[c], "sequence": "ACGT" * 10}
            for split, n in (("train", rows_per_class), ("test", rows_per_class // 2)) for c in (0, 1) for i in range(n)]
    pl.DataFrame(rows).write_parquet(path)
    return path


def test_benchmark_shards_is_a_shared_command_with_the_validation_split_and_folds(tmp_path):
    table = benchmark_table(tmp_path / "t.parquet")
    run_genolm("benchmark-shards", "--table", str(table), "--val-fraction", "0.25", "--max-length", "30", "--seed", "1",
               "--out", str(tmp_path / "val"), "--qc", str(tmp_path / "val.tsv"))
    counts = {split: info["rows"] for split, info in read_manifest(tmp_path / "val")["splits"].items()}
    assert counts == {"train": 30, "val": 10, "test": 20}
    assert set(read_shards(tmp_path / "val", "train").column("sequence").to_pylist()) == {("ACGT" * 10)[:30]}
    run_genolm("benchmark-shards", "--table", str(table), "--folds", "4", "--fold", "2", "--seed", "1",
               "--out", str(tmp_path / "fold2"), "--qc", str(tmp_path / "fold2.tsv"))
    folded = {split: info["rows"] for split, info in read_manifest(tmp_path / "fold2")["splits"].items()}
    assert folded == {"train": 30, "val": 10, "test": 20}


def test_a_table_without_its_columns_is_refused_in_one_line_naming_it(tmp_path):
    table = tmp_path / "t.parquet"
    pl.DataFrame({"sequence": ["ACGT"], "split": ["train"]}).write_parquet(table)
    result = run_genolm("benchmark-shards", "--table", str(table), "--seed", "1", "--out", str(tmp_path / "out"),
                        "--qc", str(tmp_path / "qc.tsv"), check=False)
    assert result.returncode == 2
    assert "t.parquet" in result.stderr and "missing required column(s) class_name, label" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "qc.tsv").exists()
