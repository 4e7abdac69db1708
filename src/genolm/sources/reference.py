"""The reference genome: preparing it once (canonical names, uppercase, indexed) and reading it by region.

`prepare_reference` streams a FASTA of any naming convention (plain, gzip or bgzip) into an indexed FASTA with
UCSC names, so that every later stage reads it by random access instead of decompressing 3 GB again. An output
named `*.gz` is BGZF (with the `.gzi` block index that samtools and pyfaidx read); any other name is plain text.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyfaidx

from genolm.atomic import atomic_file, scratch_directory
from genolm.sources.bgzf import BgzfWriter, gzi_path, is_bgzf_header, missing_eof_block, read_gzi, read_range
from genolm.sources.chromosomes import (
    AUTOSOMES,
    alias_table,
    canonical_name,
    parse_chromosome_spec,
    record_name,
    select_chromosomes,
)
from genolm.errors import GenolmInputError
from genolm.sources.fasta import fasta_records, is_gzip
from genolm.sources.fasta_index import ensure_fasta_indexes
from genolm.qc import QCCounts

log = logging.getLogger(__name__)

LINE_WIDTH = 60
# IUPAC nucleotide codes: GRCh38 has a handful of non-N ambiguity codes, which are kept as they are.
_ALLOWED = b"ACGTNRYKMSWBDHV"


def _is_bgzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return is_bgzf_header(handle.read(14))


def prepare_reference(source: Path, out_fasta: Path, *, chromosomes: str | Sequence[str] = "all",
                      renames: dict[str, str] | None = None) -> QCCounts:
    """Write `out_fasta` (canonical names, uppercase, 60-column lines), its .fai and `<out_fasta>.aliases.tsv`.

    `out_fasta` ending in `.gz` is written as BGZF with a `.gzi` index beside it. `renames` maps source names
    the built-in GRCh38 table does not know (an assembly report's scaffolds) to the names to write.
    Holds one chromosome at a time in memory. Nothing is left at the output paths when the source is bad.
    """
    source, out_fasta = Path(source), Path(out_fasta)
    spec = parse_chromosome_spec(chromosomes)
    if not spec:
        select_chromosomes([], spec, source=source)  # refuses the empty selection before reading 3 GB
    qc = QCCounts("prepare_reference")
    bgzip = out_fasta.name.endswith(".gz")
    renames = renames or {}
    wanted_names = None if isinstance(spec, str) else {canonical_name(n) or n for n in spec}

    source_names: list[str] = []
    seen: dict[str, str] = {}
    fai_rows: list[str] = []
    with contextlib.ExitStack() as outputs:
        # Renamed in reverse order of entering, so the data file goes last: an interrupted rename never leaves
        # it beside missing indexes. On error every temporary is removed.
        tmp_fasta = outputs.enter_context(atomic_file(out_fasta))
        tmp_fai = outputs.enter_context(atomic_file(f"{out_fasta}.fai"))
        tmp_aliases = outputs.enter_context(atomic_file(f"{out_fasta}.aliases.tsv"))
        tmp_gzi = outputs.enter_context(atomic_file(gzi_path(out_fasta))) if bgzip else None
        with open(tmp_fasta, "wb") as handle:
            out = BgzfWriter(handle) if bgzip else handle
            records = 0
            for records, (header, text, line_number) in enumerate(fasta_records(source), start=1):
                record = f"record '{header}' (line {line_number})"
                raw_name = record_name(header)
                if not raw_name:
                    raise GenolmInputError(source, "FASTA header without a sequence name", record=record)
                name = canonical_name(raw_name) or renames.get(raw_name, raw_name)
                if name in seen:
                    raise GenolmInputError(source, f"duplicate sequence name {name!r} (also record '{seen[name]}')",
                                           record=record)
                seen[name] = header
                source_names.append(raw_name)
                keep = spec == "all" or (name in AUTOSOMES if spec == "autosomes" else name in wanted_names)
                if not keep:
                    qc.add("chromosome_not_selected", detail=name)
                    continue
                sequence = bytearray(text.upper(), "ascii", "replace")  # non-ASCII -> '?', reported below
                _check_sequence(sequence, source, record)
                out.write(f">{name}\n".encode())
                # Same fields as `samtools faidx`, which records a one-line sequence's own length as its width.
                width = min(LINE_WIDTH, len(sequence))
                fai_rows.append(f"{name}\t{len(sequence)}\t{out.tell()}\t{width}\t{width + 1}\n")
                for start in range(0, len(sequence), LINE_WIDTH):
                    out.write(sequence[start:start + LINE_WIDTH])
                    out.write(b"\n")
                qc.add("chromosome_kept", detail=name)
            if not records:
                raise GenolmInputError(source, "empty file: no FASTA records")
            qc.add("sequences_read", records)
            if bgzip:
                out.close()
        if bgzip:  # after the FASTA is closed (flushed): an index must not be older than its file
            tmp_gzi.write_bytes(out.gzi_bytes())
        # Raises for explicit names the source does not have, and when "autosomes" finds none.
        select_chromosomes(source_names, spec, source=source)
        tmp_fai.write_text("".join(fai_rows))
        alias_table(source_names, renames).write_csv(tmp_aliases, separator="\t")
        qc.require_balance(("sequences_read", "chromosome_kept", ("chromosome_not_selected",)))
    return qc


def _check_sequence(sequence: bytearray, source: Path, record: str) -> None:
    if not sequence:
        raise GenolmInputError(source, "empty sequence", record=record)
    invalid = sequence.translate(None, _ALLOWED)
    if invalid:
        offset = re.search(rb"[^" + _ALLOWED + rb"]", sequence).start()
        raise GenolmInputError(
            source, f"invalid character {chr(invalid[0])!r} at sequence position {offset + 1} "
                    f"(allowed: IUPAC nucleotide codes {_ALLOWED.decode()})", record=record)


class ReferenceGenome:
    """Random access to an indexed FASTA by canonical chromosome name, always uppercase.

    `lengths` is keyed by canonical name (UCSC style for GRCh38 chromosomes, the FASTA's own name for other
    sequences); every method also accepts the other spellings of a chromosome (`1`, `NC_000001.11`).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise GenolmInputError(self.path, "reference FASTA not found")
        if is_gzip(self.path) and not _is_bgzip(self.path):
            raise GenolmInputError(
                self.path, "plain gzip FASTA cannot be read by region: run `genolm prepare-reference` on it "
                           "(or recompress it with `bgzip`)")
        bgzf = _is_bgzip(self.path)
        if bgzf and missing_eof_block(self.path):
            raise GenolmInputError(self.path, "BGZF file without its end-of-file block: it was cut short; prepare "
                                              "or download it again")
        ensure_fasta_indexes(self.path)  # checked against the content (and rebuilt if stale): pyfaidx trusts them
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", ".*is older than FASTA file", RuntimeWarning)
                self._fasta = pyfaidx.Fasta(str(self.path), sequence_always_upper=True, as_raw=True, rebuild=False,
                                            build_index=False)
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ImportError, ValueError) as error:
            raise GenolmInputError(
                self.path, f"cannot index this FASTA ({error}); `genolm prepare-reference` writes a readable copy"
            ) from error
        self._file_name: dict[str, str] = {}
        self.lengths: dict[str, int] = {}
        for file_name, entry in self._fasta.faidx.index.items():
            canonical = canonical_name(file_name) or file_name
            if canonical in self._file_name:
                raise GenolmInputError(self.path, f"sequences {self._file_name[canonical]!r} and {file_name!r} "
                                                  f"are both chromosome {canonical}")
            self._file_name[canonical] = file_name
            self.lengths[canonical] = int(entry.rlen)
        self._cached: tuple[str, np.ndarray] | None = None
        self._blocks = read_gzi(gzi_path(self.path)) if bgzf and gzi_path(self.path).is_file() else None

    def canonical(self, name: str) -> str | None:
        """The key of `lengths` for a chromosome given in any convention, None if this reference lacks it."""
        if name in self.lengths:
            return name
        canonical = canonical_name(name)
        return canonical if canonical in self.lengths else None

    def _resolve(self, chrom: str) -> str:
        canonical = self.canonical(chrom)
        if canonical is None:
            raise KeyError(f"{self.path}: no sequence {chrom!r}")
        return canonical

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Bases [start, end) (0-based, half-open) of `chrom`, uppercase."""
        canonical = self._resolve(chrom)
        if not 0 <= start <= end <= self.lengths[canonical]:
            raise ValueError(f"{self.path}: {canonical}:{start}-{end} is outside 0-{self.lengths[canonical]}")
        if start == end:
            return ""
        return str(self._fasta.faidx.fetch(self._file_name[canonical], start + 1, end))

    def array(self, chrom: str) -> np.ndarray:
        """The whole chromosome as read-only uint8 ASCII codes (uppercase).

        Only the most recent chromosome is cached, so a caller walking chromosomes in order reads each once
        and never holds more than one.
        """
        canonical = self._resolve(chrom)
        if self._cached is None or self._cached[0] != canonical:
            self._cached = None  # free the previous chromosome before reading the next
            if self._blocks is not None:
                codes = self._read_bgzf_record(canonical)
            else:
                sequence = self.fetch(canonical, 0, self.lengths[canonical])
                codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
            self._cached = (canonical, codes)
        return self._cached[1]

    def _read_bgzf_record(self, canonical: str) -> np.ndarray:
        """A whole record of a BGZF FASTA, inflated block by block and stripped of line ends."""
        entry = self._fasta.faidx.index[self._file_name[canonical]]
        length = int(entry.rlen)
        try:
            # `bend` counts a line end after the last line, which a file not written by genolm may lack.
            data = read_range(self.path, self._blocks, int(entry.offset), int(entry.bend) - int(entry.offset))
        except ValueError:
            return np.frombuffer(self.fetch(canonical, 0, length).encode("ascii"), dtype=np.uint8)
        raw = np.frombuffer(data, dtype=np.uint8)
        codes = raw[(raw != ord("\n")) & (raw != ord("\r"))][:length]
        if len(codes) != length:
            raise GenolmInputError(self.path, f"{canonical}: {len(codes)} bases where the index says {length}")
        codes = codes.copy()
        lower = (codes >= ord("a")) & (codes <= ord("z"))
        codes[lower] -= 32
        codes.flags.writeable = False
        return codes


@contextlib.contextmanager
def open_reference(path: Path, chromosomes: str, scratch: Path) -> Iterator[ReferenceGenome]:
    """The reference as a ReferenceGenome; a plain gzip FASTA (as UCSC serves it) is first rewritten into an
    indexed FASTA of the selected chromosomes in a temporary directory under `scratch`, removed afterwards."""
    try:
        reference = ReferenceGenome(path)
    except GenolmInputError:
        # Only a plain gzip FASTA is prepared here; any other refusal (a stale index, a cut BGZF file) stands.
        if not (Path(path).is_file() and is_gzip(path) and not _is_bgzip(Path(path))):
            raise
    else:
        yield reference
        return
    log.info("%s is gzip-compressed without an index: preparing an indexed copy", path)
    with scratch_directory(scratch, prefix=".reference-") as tmp:
        prepared = tmp / "reference.fa"
        prepare_reference(path, prepared, chromosomes=chromosomes)
        yield ReferenceGenome(prepared)
