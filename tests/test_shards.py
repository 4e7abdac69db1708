"""The shard contract: layout, the schema family, manifest, provenance and atomic writes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genolm.datasets.shards import (
    MUTATION_TYPE,
    OPTIONAL_GROUPS,
    SEQUENCE_SCHEMA,
    WINDOW_SCHEMA,
    ShardWriter,
    read_manifest,
    read_shards,
    schema_groups,
    shard_columns,
    shard_schema,
)
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
    with ShardWriter(tmp_path / "other", dataset="d", provenance={}, allow_empty=True) as writer, pytest.raises(ValueError):
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


# --- the schema family ---------------------------------------------------------------------------------------


def test_window_schema_is_the_coordinates_and_mutations_member():
    # The schema every window shard written before the family existed has: must not change.
    before = pa.schema([
        pa.field("sequence", pa.large_string(), nullable=False),
        pa.field("label", pa.int64()),
        pa.field("sample", pa.string()),
        pa.field("chrom", pa.string(), nullable=False),
        pa.field("ref_start", pa.int64(), nullable=False),
        pa.field("ref_end", pa.int64(), nullable=False),
        pa.field("anchor_pos", pa.int64()),
        pa.field("anchor_offset", pa.int64()),
        pa.field("mutations", pa.list_(MUTATION_TYPE), nullable=False),
        pa.field("n_mutations", pa.int32(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("window_id", pa.int64(), nullable=False),
    ])
    assert WINDOW_SCHEMA.equals(before, check_metadata=True)
    assert shard_schema(coordinates=True, mutations=True).equals(before, check_metadata=True)
    assert schema_groups(WINDOW_SCHEMA) == ("coordinates", "mutations")
    assert SEQUENCE_SCHEMA.names == ["sequence", "label", "sample", "split", "window_id"]
    assert [f.nullable for f in SEQUENCE_SCHEMA] == [False, True, True, False, False]
    assert shard_schema(targets=True).field("targets").type == pa.list_(pa.float32())
    assert shard_schema(coordinates=True, mutations=True, targets=True).names == (
        WINDOW_SCHEMA.names[:-2] + ["targets", "split", "window_id"])
    assert schema_groups(pa.schema([pa.field("sequence", pa.large_string())])) is None


def sequence_rows(n: int, splits: list[str]) -> list[dict]:
    return [{"sequence": "ACGT" * (i + 1), "label": None if i == 2 else i % 2, "sample": f"species-{i}",
             "split": split, "window_id": i} for i, split in zip(range(n), splits)]


def test_sequence_schema_round_trip(tmp_path):
    out = tmp_path / "12s"
    rows = sequence_rows(5, ["train", "train", "val", "train", "test"])
    with ShardWriter(out, dataset="12s", provenance=PROVENANCE, rows_per_shard=2, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=SEQUENCE_SCHEMA))
    manifest = read_manifest(out)
    assert manifest["format_version"] == 2
    assert manifest["schema"] == [{"name": f.name, "type": str(f.type)} for f in SEQUENCE_SCHEMA]
    assert shard_columns(out) == ["sequence", "label", "sample", "split", "window_id"]
    assert pq.read_schema(out / "train/part-00000.parquet").remove_metadata().equals(SEQUENCE_SCHEMA)
    train = read_shards(out, "train")
    assert train.schema.equals(SEQUENCE_SCHEMA)
    assert train.to_pylist() == [rows[0], rows[1], rows[3]]
    assert read_shards(out, "val", columns=["label", "sample"]).to_pylist() == [{"label": None, "sample": "species-2"}]


def test_targets_round_trip(tmp_path):
    out = tmp_path / "profiles"
    schema = shard_schema(targets=True)
    rows = [{"sequence": "ACGTN", "label": None, "sample": "GM12878", "targets": [1.0, 0.0, 0.5],
             "split": "train", "window_id": 0},
            {"sequence": "TTTT", "label": None, "sample": None, "targets": None, "split": "train", "window_id": 1}]
    with ShardWriter(out, dataset="profiles", provenance={}, schema=schema) as writer:
        writer.write(pa.RecordBatch.from_pylist(rows, schema=schema))
    assert shard_columns(out) == ["sequence", "label", "sample", "targets", "split", "window_id"]
    assert read_shards(out, "train").to_pylist() == rows
    targets = read_shards(out, "train", columns=["targets"])
    assert targets.schema.field("targets").type == pa.list_(pa.float32())


def test_writer_refuses_a_foreign_schema_and_mismatched_batches(tmp_path):
    with pytest.raises(ValueError, match="not a member"):
        ShardWriter(tmp_path / "x", dataset="d", provenance={}, schema=pa.schema([("sequence", pa.string())]))
    # The targets group before the coordinates: not the canonical order, so not a member.
    reordered = pa.schema(list(SEQUENCE_SCHEMA)[:3] + list(shard_schema(targets=True))[3:4]
                          + list(shard_schema(coordinates=True))[3:6] + list(SEQUENCE_SCHEMA)[3:])
    with pytest.raises(ValueError, match="not a member"):
        ShardWriter(tmp_path / "x", dataset="d", provenance={}, schema=reordered)
    with pytest.raises(ValueError, match="does not match the writer's schema"):
        with ShardWriter(tmp_path / "seq", dataset="d", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
            writer.write(window_batch([0], ["train"]))
    with pytest.raises(ValueError, match="does not match the writer's schema"):
        with ShardWriter(tmp_path / "win", dataset="d", provenance={}) as writer:
            writer.write(pa.Table.from_pylist(sequence_rows(1, ["train"]), schema=SEQUENCE_SCHEMA))
    swapped = pa.schema([SEQUENCE_SCHEMA.field(n) for n in ["label", "sequence", "sample", "split", "window_id"]])
    with pytest.raises(ValueError, match="does not match the writer's schema"):
        with ShardWriter(tmp_path / "swap", dataset="d", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
            writer.write(pa.Table.from_pylist(sequence_rows(1, ["train"]), schema=swapped))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind by the failed writers


def test_reading_a_column_the_set_does_not_have(tmp_path):
    out = tmp_path / "12s"
    with ShardWriter(out, dataset="12s", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(sequence_rows(2, ["train", "train"]), schema=SEQUENCE_SCHEMA))
    with pytest.raises(GenolmInputError, match=r"'chrom', 'nonsense'.*columns: sequence, label, sample") as error:
        read_shards(out, "train", columns=["sequence", "chrom", "nonsense"])
    assert error.value.path == str(out)


def test_part_whose_schema_differs_from_the_manifest_is_refused(tmp_path):
    out = tmp_path / "12s"
    with ShardWriter(out, dataset="12s", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(sequence_rows(2, ["train", "train"]), schema=SEQUENCE_SCHEMA))
    # A family member, but not the one the manifest records.
    part = out / "train/part-00000.parquet"
    pq.write_table(pa.Table.from_batches([window_batch([0], ["train"])]), part)
    with pytest.raises(GenolmInputError, match="does not match the one the manifest records") as error:
        read_shards(out, "train")
    assert error.value.path == str(part)
    with pytest.raises(GenolmInputError, match="does not match"):
        read_shards(out, "train", columns=["sequence"])


def test_version_1_manifest_still_reads_and_unknown_versions_are_refused(tmp_path):
    out = tmp_path / "windows"
    with ShardWriter(out, dataset="d", provenance={}) as writer:
        writer.write(window_batch([0, 1], ["train", "train"]))
    manifest = read_manifest(out)
    manifest["format_version"] = 1  # what genolm wrote before the family: WINDOW_SCHEMA, described as now
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert shard_columns(out) == WINDOW_SCHEMA.names
    assert read_shards(out, "train").column("window_id").to_pylist() == [0, 1]
    manifest["format_version"] = 3
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GenolmInputError, match="format_version 3"):
        read_shards(out, "train")
    manifest["format_version"] = 2
    manifest["schema"] = [{"name": "sequence", "type": "string"}]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GenolmInputError, match="not a member"):
        shard_columns(out)


# --- property: any member of the family round-trips ----------------------------------------------------------

_INT64 = st.integers(-(2**63), 2**63 - 1)
_TEXT = st.text(max_size=6)


@st.composite
def family_rows(draw):
    groups = tuple(g for g in OPTIONAL_GROUPS if draw(st.booleans()))
    schema = shard_schema(**{g: True for g in groups})
    rows = []
    for window_id in range(draw(st.integers(0, 9))):
        row = {"sequence": draw(st.text("ACGTNRY", max_size=12)), "label": draw(st.none() | _INT64),
               "sample": draw(st.none() | _TEXT)}
        if "coordinates" in groups:
            row |= {"chrom": draw(_TEXT), "ref_start": draw(_INT64), "ref_end": draw(_INT64)}
        if "mutations" in groups:
            mutations = draw(st.lists(st.fixed_dictionaries({"pos": _INT64, "ref": _TEXT, "alt": _TEXT}), max_size=3))
            row |= {"anchor_pos": draw(st.none() | _INT64), "anchor_offset": draw(st.none() | _INT64),
                    "mutations": mutations, "n_mutations": len(mutations)}
        if "targets" in groups:
            row["targets"] = draw(st.none() | st.lists(st.floats(width=32, allow_nan=False), max_size=4))
        if "target_sequence" in groups:
            row["target_sequence"] = draw(st.none() | st.text("ACGT", max_size=12))
        row |= {"split": draw(st.sampled_from(["train", "val", "test"])), "window_id": window_id}
        rows.append(row)
    columns = draw(st.permutations(schema.names).flatmap(lambda names: st.integers(1, len(names)).map(
        lambda k: names[:k])))
    return schema, rows, draw(st.integers(1, 4)), columns


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family_rows())
def test_any_member_round_trips(tmp_path_factory, case):
    schema, rows, rows_per_shard, columns = case
    out = tmp_path_factory.mktemp("family") / "shards"
    with ShardWriter(out, dataset="d", provenance={"seed": 1}, rows_per_shard=rows_per_shard, schema=schema,
                     allow_empty=True) as writer:
        for start in range(0, len(rows), 3):  # several batches, each possibly spanning splits
            writer.write(pa.Table.from_pylist(rows[start:start + 3], schema=schema))
    assert shard_columns(out) == schema.names
    splits = sorted({row["split"] for row in rows})
    assert sorted(read_manifest(out)["splits"]) == splits
    for split in splits:
        expected = [row for row in rows if row["split"] == split]
        table = read_shards(out, split)
        assert table.schema.equals(schema)
        assert table.to_pylist() == expected
        selected = read_shards(out, split, columns=columns)
        assert selected.column_names == columns
        assert selected.to_pylist() == [{c: row[c] for c in columns} for row in expected]
