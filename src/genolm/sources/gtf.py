"""GTF gene annotations in Ensembl's layout (GENCODE's is the same format).

Nine tab-separated columns: seqname, source, feature (`gene`, `transcript`, `exon`, `CDS`, `start_codon`, ...),
start and end (1-based, inclusive), score, strand (`+`/`-`), frame, and attributes: `key "value";` pairs
separated by `; ` (a key may repeat, e.g. `tag`; Ensembl quotes every value, older files leave numbers bare).
Lines starting with `#` are headers (`#!genome-build GRCh38.p14`). Plain or gzip, recognised by magic bytes.

Ensembl names chromosomes `1` .. `22`, `X`, `Y`, `MT`; UCSC (and genolm's prepared references) `chr1` .. `chrM`.
`ucsc_name` maps one to the other so a GTF can be read against either assembly.

Malformed lines raise GenolmInputError naming the file and the line.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from typing import NamedTuple

from genolm.errors import GenolmInputError


class GtfRecord(NamedTuple):
    seqname: str
    source: str
    feature: str
    start: int  # 1-based, inclusive
    end: int  # inclusive
    strand: str
    frame: str
    attributes: dict[str, str]  # the first value of each key

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_attributes(text: str) -> dict[str, str]:
    """`gene_id "ENSG1"; gene_biotype "lncRNA"; exon_number 2;` -> {key: value}, the first value of a repeated key."""
    attributes: dict[str, str] = {}
    for part in text.strip().split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition(" ")
        value = value.strip()
        if not key or not value:
            raise ValueError(f"attribute {part!r} is not `key value`")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        attributes.setdefault(key, value)
    return attributes


def _open(path: str | os.PathLike):
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gzipped else open(path)


def read_gtf(path: str | os.PathLike, features: set[str] | None = None) -> Iterator[GtfRecord]:
    """Records of the GTF in file order (only `features` when given)."""
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 9:
                raise GenolmInputError(path, f"line {number}: {len(fields)} tab-separated fields, a GTF line has 9")
            if features is not None and fields[2] not in features:
                continue
            try:
                start, end = int(fields[3]), int(fields[4])
                if start < 1 or end < start:
                    raise ValueError(f"start {start}, end {end}: need 1 <= start <= end")
                if fields[6] not in ("+", "-", "."):
                    raise ValueError(f"strand {fields[6]!r}")
                attributes = parse_attributes(fields[8])
            except ValueError as error:
                raise GenolmInputError(path, f"line {number}: {error}") from None
            yield GtfRecord(fields[0], fields[1], fields[2], start, end, fields[6], fields[7], attributes)


def ucsc_name(seqname: str) -> str:
    """Ensembl `1`/`X`/`MT` -> UCSC `chr1`/`chrX`/`chrM`; a name that already has `chr` is kept."""
    if seqname.startswith("chr"):
        return seqname
    return "chrM" if seqname == "MT" else f"chr{seqname}"
