"""The window shard contract: layout, schema, manifest, provenance and atomic writes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genolm.datasets.shards import WINDOW_SCHEMA, ShardWriter, read_manifest, read_shards
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

PROVENANCE = {"config_hash": "abc123", "inputs": {"reference.fa.fai": "d41d8cd98f00b204e9800998ecf8427e"}, "seed": 7}


def window_batch(ids: list[int], splits: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [
            {
                "sequence": "ACGT" if i % 2 else "GGCC",
                "label": i % 3,
                "sample": f"ACH-{i:06d}",
                "chrom": "chr1",
                "ref_start": 100 * i,
                "ref_end": 100 * i + 4,
                "anchor_pos": 100 * i + 2,
                "anchor_offset": 1,
                "mutations": [{"pos": 100 * i + 2, "ref": "C", "alt": "T"}],
                "n_mutations": 1,
                "split": split,
                "window_id": i,
            }
            for i, split in zip(ids, splits)
        ],
        schema=WINDOW_SCHEMA,
    )


def test_layout_manifest_and_provenance(tmp_path):
    out = tmp_path / "windows"
    with ShardWriter(out, dataset="depmap", provenance=PROVENANCE, rows_per_shard=4, length=4, seed=7) as writer:
        writer.write(window_batch([0, 1, 2, 3, 4, 5], ["train", "val", "train", "train", "train", "train"]))
        writer.write(window_batch([6, 7], ["train", "val"]))
        qc = QCCounts("test")
        qc.add("windows", 8)
        qc.add("overlap_skipped", 0)
        qc.add("chromosome_not_selected", 2, detail="chrX")
        qc.add("chromosome_not_selected", 1, detail="chrY")
        writer.add_qc(qc)

    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "manifest.json", "train", "train/part-00000.parquet", "train/part-00001.parquet",
        "val", "val/part-00000.parquet",
    ]
    manifest = read_manifest(out)
    assert manifest["dataset"] == "depmap" and manifest["length"] == 4 and manifest["seed"] == 7
    assert manifest["splits"]["train"]["rows"] == 6 and manifest["splits"]["val"]["rows"] == 2
    assert manifest["splits"]["train"]["files"] == ["train/part-00000.parquet", "train/part-00001.parquet"]
    assert manifest["splits"]["val"]["bytes"] == (out / "val/part-00000.parquet").stat().st_size
    assert manifest["counts"] == {"chromosome_not_selected": 3, "overlap_skipped": 0, "windows": 8}
    assert manifest["schema"][0] == {"name": "sequence", "type": "large_string"}
    assert manifest["provenance"] == PROVENANCE
    assert pq.ParquetFile(out / "train/part-00000.parquet").metadata.num_rows == 4

    metadata = pq.read_schema(out / "val/part-00000.parquet").metadata
    assert json.loads(metadata[b"genolm"]) == PROVENANCE
    assert pq.ParquetFile(out / "val/part-00000.parquet").metadata.row_group(0).column(0).compression == "ZSTD"

    train = read_shards(out, "train")
    assert train.schema.remove_metadata().equals(WINDOW_SCHEMA.remove_metadata(), check_metadata=False)
    assert train.column("window_id").to_pylist() == [0, 2, 3, 4, 5, 6]
    assert train.to_pylist()[0]["mutations"] == [{"pos": 2, "ref": "C", "alt": "T"}]
    assert read_shards(out, "val", columns=["window_id", "sequence"]).to_pydict() == {
        "window_id": [1, 7], "sequence": ["ACGT", "ACGT"],
    }


def test_missing_split_and_missing_dataset(tmp_path):
    out = tmp_path / "windows"
    with ShardWriter(out, dataset="d", provenance={}) as writer:
        writer.write(window_batch([0], ["train"]))
    with pytest.raises(GenolmInputError, match="no split 'test'.*train"):
        read_shards(out, "test")
    with pytest.raises(GenolmInputError, match="no manifest"):
        read_shards(tmp_path / "elsewhere", "train")


def test_foreign_schema_is_rejected(tmp_path):
    out = tmp_path / "windows"
    with ShardWriter(out, dataset="d", provenance={}) as writer:
        writer.write(window_batch([0], ["train"]))
    pq.write_table(pa.table({"sequence": ["ACGT"]}), out / "train/part-00000.parquet")
    with pytest.raises(GenolmInputError, match="schema"):
        read_shards(out, "train")
    with ShardWriter(tmp_path / "other", dataset="d", provenance={}) as writer, pytest.raises(ValueError):
        writer.write(pa.RecordBatch.from_pydict({"sequence": ["ACGT"]}))


def test_error_mid_write_leaves_nothing(tmp_path):
    out = tmp_path / "windows"
    with pytest.raises(RuntimeError, match="boom"):
        with ShardWriter(out, dataset="d", provenance={}, rows_per_shard=1) as writer:
            writer.write(window_batch([0, 1, 2], ["train", "train", "val"]))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_rerun_replaces_previous_output_only_on_success(tmp_path):
    out = tmp_path / "windows"
    with ShardWriter(out, dataset="first", provenance={}) as writer:
        writer.write(window_batch([0, 1], ["train", "val"]))
    with pytest.raises(RuntimeError):
        with ShardWriter(out, dataset="second", provenance={}) as writer:
            writer.write(window_batch([5], ["test"]))
            raise RuntimeError("interrupted")
    assert read_manifest(out)["dataset"] == "first"
    with ShardWriter(out, dataset="third", provenance={}) as writer:
        writer.write(window_batch([5], ["test"]))
    assert sorted(read_manifest(out)["splits"]) == ["test"]
    assert not (out / "train").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["windows"]
