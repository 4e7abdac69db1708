"""Window shards: the Parquet files every window-producing stage writes and every training stage reads.

Layout (see docs/data_contracts.md, "Window shards"):

    <out>/manifest.json
    <out>/<split>/part-00000.parquet, part-00001.parquet, ...

Every file has the schema `WINDOW_SCHEMA` and carries the stage's provenance (config hash, input checksums,
seed, genolm version, command line) as JSON under the key b"genolm" of its Parquet metadata, so a shard copied
away from its manifest still says where it came from.
"""

from __future__ import annotations

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

WINDOW_SCHEMA = pa.schema(
    [
        # large_string: a batch of 4096 windows of 1 Mb would overflow 32-bit string offsets.
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
    ]
)

MANIFEST_NAME = "manifest.json"
METADATA_KEY = b"genolm"
FORMAT_VERSION = 1


def _schema_matches(schema: pa.Schema, expected: pa.Schema) -> bool:
    # Field names, types and order; nullability and metadata are not part of the contract readers rely on.
    return [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in expected]


def _schema_description(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


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
    """Writes window batches into `<out>/<split>/part-NNNNN.parquet` plus `<out>/manifest.json`.

    Everything goes into a temporary sibling directory that replaces `out` only when the `with` block ends
    without an exception, so a failed stage never leaves a partial dataset for the next stage to pick up.
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
    ):
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be positive, got {rows_per_shard}")
        self.out = Path(out)
        self.dataset = dataset
        self.provenance = dict(provenance)
        self.rows_per_shard = rows_per_shard
        self.length = length
        self.seed = seed
        self.counts: dict[str, int] = {}
        metadata = {METADATA_KEY: json.dumps(self.provenance, sort_keys=True, default=str).encode()}
        self._schema = WINDOW_SCHEMA.with_metadata(metadata)
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
        if not _schema_matches(batch.schema, WINDOW_SCHEMA):
            raise ValueError(f"batch schema does not match WINDOW_SCHEMA:\n{batch.schema}")
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
                self._write_manifest(tmp)
        except BaseException as error:
            atomic.__exit__(type(error), error, error.__traceback__)  # removes the temporary directory
            raise
        # Replaces `out` with the temporary directory when the block succeeded, else removes it.
        atomic.__exit__(exc_type, exc, traceback)

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
            "schema": _schema_description(WINDOW_SCHEMA),
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
        raise GenolmInputError(path, "no manifest: not a window dataset, or its stage did not finish")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise GenolmInputError(path, f"manifest is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or "splits" not in manifest:
        raise GenolmInputError(path, "manifest has no 'splits'")
    return manifest


def read_shards(out: str | Path, split: str, columns: Sequence[str] | None = None) -> pa.Table:
    """All rows of one split, in shard order; the schema of every file is checked against WINDOW_SCHEMA."""
    out = Path(out)
    manifest = read_manifest(out)
    entry = manifest["splits"].get(split)
    if entry is None:
        available = ", ".join(sorted(manifest["splits"])) or "none"
        raise GenolmInputError(out / MANIFEST_NAME, f"no split {split!r} (splits: {available})")
    if columns is not None:
        unknown = [c for c in columns if c not in WINDOW_SCHEMA.names]
        if unknown:
            raise ValueError(f"unknown window columns {unknown}; known: {WINDOW_SCHEMA.names}")
    expected = WINDOW_SCHEMA if columns is None else pa.schema([WINDOW_SCHEMA.field(c) for c in columns])
    tables = []
    for name in entry["files"]:
        path = out / name
        if not path.is_file():
            raise GenolmInputError(path, "shard listed in the manifest is missing")
        if not _schema_matches(pq.read_schema(path), WINDOW_SCHEMA):
            raise GenolmInputError(path, f"schema does not match the window shard contract:\n{pq.read_schema(path)}")
        tables.append(pq.read_table(path, columns=list(columns) if columns is not None else None))
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
