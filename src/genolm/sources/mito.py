"""Mitochondrial genomes: the 12S rRNA gene of every annotated genome, with its species and lineage.

Inputs are NCBI's organelle RefSeq release (`mitochondrion.N.genomic.gbff.gz`, annotated GenBank) and MitoFish
(`complete_partial_mitogenomes.zip` / `mitogenomes.zip`: FASTA whose pipe-delimited headers put the accession
in varying fields; `mitoannotations.zip`: the annotated GenBank records). The 12S gene is an `rRNA` feature
whose product, gene, standard name or note names it; annotators spell it in many ways (`12S ribosomal RNA`,
`s-rRNA`, `rrnS`, `MT-RNR1`, `small subunit ribosomal RNA`). Every record without a usable 12S is counted in
the QC table with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from genolm.atomic import atomic_file, scratch_directory
from genolm.sources.download import ZipLimits, safe_extract_zip
from genolm.sources.fasta import fasta_records
from genolm.sources.genbank import genbank_records, is_genbank, taxon_id
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

TWELVE_S_SCHEMA = {
    "accession": pl.Utf8, "species": pl.Utf8, "taxid": pl.Int64, "taxonomy": pl.Utf8, "sequence": pl.Utf8,
    "length": pl.Int64, "start": pl.Int64, "end": pl.Int64, "strand": pl.Int8, "partial": pl.Boolean,
    "source": pl.Utf8,
}

_TWELVE_S = re.compile(
    r"\b12S\b|\bs-?rRNA\b|\brrnS\b|\b(?:MT-)?RNR1\b|small[ -]subunit ribosomal RNA|\brns\b", re.IGNORECASE
)
_NAME_QUALIFIERS = ("product", "gene", "standard_name", "note", "gene_synonym")
# INSDC accessions (1-2 letters + 5-8 digits, WGS 4-6 letters + 8-10 digits) and RefSeq (NC_012920).
_ACCESSION = re.compile(r"(?:[A-Z]{1,2}\d{5,8}|[A-Z]{4,6}\d{8,10}|[A-Z]{2}_\d{6,9})(?:\.\d+)?")
_SPECIES = re.compile(r"[A-Z][a-z]+[ _][a-z][a-z.-]+(?:[ _][\w.-]+)*")


def is_12s(feature) -> bool:
    if feature.type != "rRNA":
        return False
    return any(_TWELVE_S.search(value) for key in _NAME_QUALIFIERS for value in feature.qualifiers.get(key, []))


@dataclass(frozen=True)
class FastaHeader:
    accession: str
    species: str | None


def parse_mitofish_header(header: str, source: object, record: object) -> FastaHeader:
    """Accession and species of a MitoFish FASTA header, wherever its pipe-delimited fields put them.

    MitoFish files write `gb|AP012345|Genus_species`, `AP012345|Genus species|...` and similar: the accession is
    the first field shaped like one, the species the first `Genus species` field after the database tags.
    """
    fields = [f.strip() for f in header.lstrip(">").split("|")]
    fields = [f.split()[0] if _ACCESSION.fullmatch(f.split()[0] if f.split() else "") else f for f in fields]
    accession = next((f for f in fields if _ACCESSION.fullmatch(f)), None)
    if accession is None:
        raise GenolmInputError(source, f"no accession among the header's fields {fields}", record=record)
    species = next((f.replace("_", " ") for f in fields if _SPECIES.fullmatch(f)), None)
    return FastaHeader(accession, species)


def read_mitofish_fasta(path: Path, source: object) -> dict[str, FastaHeader]:
    """Accession -> header of every record in a MitoFish genome FASTA (sequences are not needed: the annotated
    GenBank records carry their own)."""
    headers: dict[str, FastaHeader] = {}
    for record in fasta_records(path):
        parsed = parse_mitofish_header(record.title, source, f"{Path(path).name}, line {record.line}")
        headers.setdefault(parsed.accession.split(".")[0], parsed)
    return headers


def twelve_s_rows(records: Iterable, source: str, qc: QCCounts, seen: set[str]) -> list[dict]:
    """One row per record with a 12S feature; the others counted in `qc` by reason."""
    from Bio.Seq import UndefinedSequenceError

    rows = []
    for record in records:
        accession = record.id if record.id and record.id != "<unknown id>" else record.name
        if accession in seen:
            qc.add("duplicate_accession", detail=source)
            continue
        seen.add(accession)
        qc.add("records", detail=source)
        features = [f for f in record.features if f.type != "source"]
        rrna = [f for f in features if f.type == "rRNA"]
        found = [f for f in rrna if is_12s(f)]
        if not features:
            qc.add("no_12s_unannotated_record", detail=source)
            continue
        if not rrna:
            qc.add("no_12s_no_rrna_features", detail=source)
            continue
        if not found:
            qc.add("no_12s_rrna_not_named_12s", detail=source)
            continue
        if len(found) > 1:
            qc.add("several_12s_first_kept", detail=source)
        feature = found[0]
        try:
            sequence = str(feature.extract(record.seq)).upper()
        except UndefinedSequenceError:  # a CONTIG-only record names its sequence without holding it
            qc.add("no_12s_record_without_sequence", detail=source)
            continue
        if not sequence.strip("N"):
            qc.add("no_12s_empty_sequence", detail=source)
            continue
        location = feature.location
        partial = "<" in str(location) or ">" in str(location)
        if partial:
            qc.add("partial_12s_kept", detail=source)
        rows.append({
            "accession": accession,
            "species": record.annotations.get("organism"),
            "taxid": taxon_id(record),
            "taxonomy": "; ".join(record.annotations.get("taxonomy", [])),
            "sequence": sequence,
            "length": len(sequence),
            "start": int(location.start),
            "end": int(location.end),
            "strand": location.strand or 1,
            "partial": partial,
            "source": source,
        })
        qc.add("12s_extracted", detail=source)
    return rows


def extract_12s(ncbi_gbff: list[Path], mitofish_genomes: list[Path], mitofish_annotations: list[Path],
                out: Path, *, zip_limits: ZipLimits, scratch: Path | None = None) -> QCCounts:
    """Write `out` (TWELVE_S_SCHEMA), one row per genome with a 12S gene, sorted by (source, accession).

    `mitofish_genomes` and `mitofish_annotations` are MitoFish zips; their members are extracted (refusing
    members that would escape the scratch directory) into a temporary directory that is removed afterwards.
    A MitoFish genome with no annotated record is counted (`no_12s_no_annotation`).
    """
    qc = QCCounts("extract_12s")
    rows: list[dict] = []
    seen: set[str] = set()
    for path in ncbi_gbff:
        rows += twelve_s_rows(genbank_records(path), "ncbi_refseq", qc, seen)
    out = Path(out)
    with scratch_directory(scratch or out.parent, prefix=".mitofish-") as tmp:
        headers: dict[str, FastaHeader] = {}
        for number, archive in enumerate(mitofish_genomes):
            for member in safe_extract_zip(archive, Path(tmp) / f"genomes{number}", zip_limits):
                # mitogenomes.zip also holds per-species gene FASTA (`*genes.fa`): not genomes.
                if member.name.endswith("genes.fa") or not _starts_with(member, b">"):
                    continue
                headers.update(read_mitofish_fasta(member, archive))
        annotated: set[str] = set()
        for number, archive in enumerate(mitofish_annotations):
            members = safe_extract_zip(archive, Path(tmp) / f"annotations{number}", zip_limits)
            for member in sorted(members):
                if not is_genbank(member):
                    qc.add("annotation_member_not_genbank", detail=member.name)
                    continue
                records = list(genbank_records(member))
                annotated.update(r.id.split(".")[0] for r in records)
                annotated.update(r.name for r in records)
                rows += twelve_s_rows(records, "mitofish", qc, seen)
        unannotated = [a for a in headers if a not in annotated]
        qc.add("mitofish_genomes", len(headers), detail="mitofish")
        qc.add("no_12s_no_annotation", len(unannotated), detail="mitofish")
    table = pl.DataFrame(rows, schema=TWELVE_S_SCHEMA).sort("source", "accession")
    with atomic_file(out) as tmp_out:
        table.write_parquet(tmp_out)
    return qc


def _starts_with(path: Path, prefix: bytes) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(prefix)) == prefix
