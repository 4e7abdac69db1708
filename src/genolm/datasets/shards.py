"""Shards: the Parquet files every dataset-producing stage writes and every training stage reads.

Layout (see docs/data_contracts.md, "Window shards"):

    <out>/manifest.json
    <out>/<split>/part-00000.parquet, part-00001.parquet, ...

There is one shard format, with a *family* of schemas (`shard_schema`): the core columns `sequence`, `label`,
`sample`; any of the optional column groups `coordinates`, `mutations`, `targets`, `target_sequence` (a
sequence-to-sequence target), in that order; then `split` and `window_id`. A shard set uses one member of the family, recorded in its manifest; every part file has that
schema. Genome windows use `WINDOW_SCHEMA` (coordinates + mutations), plain sequence tables (12S genes, viral
genome fragments) `SEQUENCE_SCHEMA` (core only).

Every file carries the stage's provenance (config hash, input checksums, seed, genolm version, command line) as
JSON under the key b"genolm" of its Parquet metadata, so a shard copied away from its manifest still says where
it came from.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from genolm import __version__
from genolm.atomic import atomic_directory
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.checksums import file_checksum

MUTATION_TYPE = pa.struct([("pos", pa.int64()), ("ref", pa.string()), ("alt", pa.string())])

_CORE = (
    # large_string: a batch of 4096 windows of 1 Mb would overflow 32-bit string offsets.
    pa.field("sequence", pa.large_string(), nullable=False),
    pa.field("label", pa.int64()),
    pa.field("sample", pa.string()),  # the unit an example belongs to: cell line, genome, species
)

# The optional column groups, in their canonical order (a schema lists the groups it has in this order).
_GROUPS: dict[str, tuple[pa.Field, ...]] = {
    "coordinates": (
        pa.field("chrom", pa.string(), nullable=False),
        pa.field("ref_start", pa.int64(), nullable=False),
        pa.field("ref_end", pa.int64(), nullable=False),
    ),
    "mutations": (
        pa.field("anchor_pos", pa.int64()),
        pa.field("anchor_offset", pa.int64()),
        pa.field("mutations", pa.list_(MUTATION_TYPE), nullable=False),
        pa.field("n_mutations", pa.int32(), nullable=False),
    ),
    "targets": (
        # A label vector for multi-label tasks (e.g. chromatin profiles); null for an unlabelled example.
        pa.field("targets", pa.list_(pa.float32())),
    ),
    "target_sequence": (
        # The sequence a sequence-to-sequence task maps `sequence` to (e.g. the child of a parent sequence).
        pa.field("target_sequence", pa.large_string()),
    ),
}
OPTIONAL_GROUPS: tuple[str, ...] = tuple(_GROUPS)

_TRAILER = (
    pa.field("split", pa.string(), nullable=False),
    pa.field("window_id", pa.int64(), nullable=False),
)


def shard_schema(*, coordinates: bool = False, mutations: bool = False, targets: bool = False,
                 target_sequence: bool = False) -> pa.Schema:
    """The member of the shard schema family with the given optional column groups."""
    chosen = {"coordinates": coordinates, "mutations": mutations, "targets": targets,
              "target_sequence": target_sequence}
    fields = list(_CORE)
    for group, group_fields in _GROUPS.items():
        if chosen[group]:
            fields.extend(group_fields)
    fields.extend(_TRAILER)
    return pa.schema(fields)


WINDOW_SCHEMA = shard_schema(coordinates=True, mutations=True)
SEQUENCE_SCHEMA = shard_schema()

# Every member, keyed by the optional groups it has (16 members: cheap to enumerate).
_FAMILY: dict[tuple[str, ...], pa.Schema] = {
    groups: shard_schema(**{g: True for g in groups})
    for n in range(len(OPTIONAL_GROUPS) + 1)
    for groups in itertools.combinations(OPTIONAL_GROUPS, n)
}

MANIFEST_NAME = "manifest.json"
METADATA_KEY = b"genolm"
# 1: every set had WINDOW_SCHEMA. 2: the manifest's "schema" names the set's member of the family.
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)


def _schema_matches(schema: pa.Schema, expected: pa.Schema) -> bool:
    # Field names, types and order; nullability and metadata are not part of the contract readers rely on.
    return [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in expected]


def _schema_description(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def schema_groups(schema: pa.Schema) -> tuple[str, ...] | None:
    """The optional groups of `schema` if it is a member of the shard family (names, types and order), else None."""
    for groups, member in _FAMILY.items():
        if _schema_matches(schema, member):
            return groups
    return None


def _member_name(schema: pa.Schema) -> str:
    groups = schema_groups(schema)
    if groups is None:
        return "not a member of the shard schema family"
    return "core only" if not groups else "core + " + " + ".join(groups)


class _SplitWriter:
    """The open part file of one split; starts a new part every `rows_per_shard` rows."""

    def __init__(self, directory: Path, schema: pa.Schema, rows_per_shard: int):
        self.directory = directory
        self.schema = schema
        self.rows_per_shard = rows_per_shard
        self.files: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_part = 0

    def write(self, table: pa.Table) -> None:
        start = 0
        while start < table.num_rows:
            if self._writer is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self.directory / f"part-{len(self.files):05d}.parquet"
                self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
                self.files.append(path)
                self._rows_in_part = 0
            take = min(table.num_rows - start, self.rows_per_shard - self._rows_in_part)
            self._writer.write_table(table.slice(start, take))
            self._rows_in_part += take
            self.rows += take
            start += take
            if self._rows_in_part >= self.rows_per_shard:
                self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ShardWriter:
    """Writes batches in `schema` (a member of the shard family; default WINDOW_SCHEMA) into
    `<out>/<split>/part-NNNNN.parquet` plus `<out>/manifest.json`, which records the schema.

    Everything goes into a temporary sibling directory that replaces `out` only when the `with` block ends
    without an exception, so a failed stage never leaves a partial dataset for the next stage to pick up. A
    dataset without a single row is refused (GenolmInputError) unless `allow_empty`.
    """

    def __init__(
        self,
        out: str | Path,
        *,
        dataset: str,
        provenance: Mapping[str, object],
        rows_per_shard: int = 50_000,
        length: int | None = None,
        seed: int | None = None,
        schema: pa.Schema = WINDOW_SCHEMA,
        allow_empty: bool = False,
    ):
        groups = schema_groups(schema)
        if groups is None:
            raise ValueError(f"schema is not a member of the shard schema family (see shard_schema):\n{schema}")
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be positive, got {rows_per_shard}")
        self.out = Path(out)
        self.dataset = dataset
        self.provenance = dict(provenance)
        self.rows_per_shard = rows_per_shard
        self.length = length
        self.seed = seed
        self.counts: dict[str, int] = {}
        self.allow_empty = allow_empty
        metadata = {METADATA_KEY: json.dumps(self.provenance, sort_keys=True, default=str).encode()}
        # The family member itself, so the files and the manifest carry the contract's nullability.
        self.schema = _FAMILY[groups]
        self._schema = self.schema.with_metadata(metadata)
        self._tmp: Path | None = None
        self._atomic: AbstractContextManager[Path] | None = None
        self._splits: dict[str, _SplitWriter] = {}

    def __enter__(self) -> "ShardWriter":
        self._atomic = atomic_directory(self.out)
        self._tmp = self._atomic.__enter__()
        return self

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self._tmp is None:
            raise RuntimeError("ShardWriter.write called outside its `with` block")
        if not _schema_matches(batch.schema, self.schema):
            raise ValueError(f"batch schema does not match the writer's schema ({_member_name(self.schema)}):\n"
                             f"got\n{batch.schema}\nexpected\n{self.schema}")
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        table = table.cast(self._schema)
        splits = table.column("split")
        names = pc.unique(splits).to_pylist()
        for split in names:
            part = table if len(names) == 1 else table.filter(pc.equal(splits, split))
            writer = self._splits.get(split)
            if writer is None:
                _check_split_name(split)
                writer = self._splits[split] = _SplitWriter(self._tmp / split, self._schema, self.rows_per_shard)
            writer.write(part)

    def add_qc(self, qc: QCCounts) -> None:
        """Record the stage's QC counts in the manifest, one total per reason."""
        for reason in qc.to_frame()["reason"].unique().to_list():
            self.counts[reason] = self.counts.get(reason, 0) + qc.total(reason)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._tmp is not None and self._atomic is not None
        atomic, tmp = self._atomic, self._tmp
        self._atomic = self._tmp = None
        try:
            for writer in self._splits.values():
                writer.close()
            if exc_type is None:
                self._refuse_empty()
                self._write_manifest(tmp)
        except BaseException as error:
            atomic.__exit__(type(error), error, error.__traceback__)  # removes the temporary directory
            raise
        # Replaces `out` with the temporary directory when the block succeeded, else removes it.
        atomic.__exit__(exc_type, exc, traceback)

    def _refuse_empty(self) -> None:
        """An empty dataset is almost always a selection or filter that kept nothing (a chromosome list in another
        naming, a lineage spelt differently); training on it fails hours later, or trains on nothing."""
        if self.allow_empty or any(writer.rows for writer in self._splits.values()):
            return
        counted = ", ".join(f"{reason} {count}" for reason, count in sorted(self.counts.items()) if count)
        raise GenolmInputError(self.out, f"no rows to write: the inputs and filters kept nothing"
                                         f"{f' (QC counts: {counted})' if counted else ''}; check the selection, or "
                                         f"pass --allow-empty if an empty dataset is really wanted")

    def _write_manifest(self, root: Path) -> None:
        splits = {}
        for name in sorted(self._splits):
            writer = self._splits[name]
            splits[name] = {
                "files": [str(path.relative_to(root)) for path in writer.files],
                "rows": writer.rows,
                "bytes": sum(path.stat().st_size for path in writer.files),
            }
        manifest = {
            "format_version": FORMAT_VERSION,
            "dataset": self.dataset,
            "genolm_version": __version__,
            "schema": _schema_description(self.schema),
            "length": self.length,
            "seed": self.seed,
            "splits": splits,
            "counts": dict(sorted(self.counts.items())),
            "provenance": self.provenance,
        }
        (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")


def _check_split_name(split: object) -> None:
    # The split becomes a directory name: refuse anything that could escape `out` or clash with the manifest.
    if not isinstance(split, str) or not split or split in (".", "..") or "/" in split or "\\" in split:
        raise ValueError(f"invalid split name {split!r}")


def read_manifest(out: str | Path) -> dict:
    path = Path(out) / MANIFEST_NAME
    if not path.is_file():
        raise GenolmInputError(path, "no manifest: not a shard set, or its stage did not finish")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise GenolmInputError(path, f"manifest is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or "splits" not in manifest:
        raise GenolmInputError(path, "manifest has no 'splits'")
    version = manifest.get("format_version")
    if version not in _READABLE_VERSIONS:
        readable = ", ".join(map(str, _READABLE_VERSIONS))
        raise GenolmInputError(path, f"format_version {version!r}; this genolm reads {readable}")
    return manifest


def _manifest_schema(out: Path, manifest: dict) -> pa.Schema:
    """The family member a shard set uses, from its (already read) manifest."""
    if manifest["format_version"] == 1:
        return WINDOW_SCHEMA  # version 1 had only the one schema
    recorded = manifest.get("schema")
    for member in _FAMILY.values():
        if recorded == _schema_description(member):
            return member
    raise GenolmInputError(out / MANIFEST_NAME, f"the recorded schema is not a member of the shard schema family: "
                                                f"{json.dumps(recorded)}")


def shard_schema_of(out: str | Path) -> pa.Schema:
    """The schema (member of the shard family) of the shard set in `out`, from its manifest."""
    out = Path(out)
    return _manifest_schema(out, read_manifest(out))


def shard_columns(out: str | Path) -> list[str]:
    """The column names of the shard set in `out`, in schema order, from its manifest."""
    return shard_schema_of(out).names


def read_shards(out: str | Path, split: str, columns: Sequence[str] | None = None) -> pa.Table:
    """All rows of one split, in shard order, with the set's schema (or its `columns`, in the order given).

    Every part file's schema must be the one the manifest records; `columns` may name only columns of this set.
    """
    out = Path(out)
    manifest = read_manifest(out)
    schema = _manifest_schema(out, manifest)
    entry = manifest["splits"].get(split)
    if entry is None:
        available = ", ".join(sorted(manifest["splits"])) or "none"
        raise GenolmInputError(out / MANIFEST_NAME, f"no split {split!r} (splits: {available})")
    if columns is not None:
        columns = list(columns)
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise GenolmInputError(out, f"no column(s) {', '.join(map(repr, unknown))} in this shard set "
                                        f"({_member_name(schema)}; columns: {', '.join(schema.names)})")
    expected = schema if columns is None else pa.schema([schema.field(c) for c in columns])
    tables = []
    for name in entry["files"]:
        path = out / name
        if not path.is_file():
            raise GenolmInputError(path, "shard listed in the manifest is missing")
        found = pq.read_schema(path)
        if not _schema_matches(found, schema):
            raise GenolmInputError(path, f"schema ({_member_name(found)}) does not match the one the manifest "
                                         f"records ({_member_name(schema)}):\n{found.remove_metadata()}")
        tables.append(pq.read_table(path, columns=columns))
    if not tables:
        return expected.empty_table()
    return pa.concat_tables(tables).cast(expected)


def build_provenance(*, inputs: Mapping[str, str | Path], fields: Mapping[str, object],
                     extra: Mapping[str, object] | None = None) -> dict:
    """The provenance dict of a window dataset: md5 of each input, genolm version, command line, `fields`.

    `extra` (e.g. the workflow's config hash) is merged last, so the workflow can name things genolm cannot
    know about.
    """
    provenance: dict[str, object] = {
        "genolm_version": __version__,
        "command": sys.argv,
        "inputs": {name: {"path": str(path), "md5": file_checksum(path)} for name, path in inputs.items()},
        **fields,
    }
    provenance.update(extra or {})
    return provenance
