"""Mitochondrial genomes: the 12S rRNA gene of every annotated genome, with its species and lineage.

Inputs are NCBI's organelle RefSeq release (`mitochondrion.N.genomic.gbff.gz`, annotated GenBank) and MitoFish:
`complete_partial_mitogenomes.zip` / `mitogenomes.zip` hold the genomes as FASTA whose pipe-delimited headers
put the accession in varying fields; `mitoannotations.zip` holds one annotation table per genome, in two
flavours that carry no sequence (coordinates refer to the genome FASTA):

* `<genome>.txt`: tab-separated `entry, feature, location, qualifier, value` rows (the DDBJ annotation layout;
  the entry column is filled on a genome's first row only), a feature's type and location on its first row and
  each further qualifier on a row of its own, so the 12S row reads `rRNA  70..1024  product  12S rRNA`;
* `<genome>.NCBI.txt`: NCBI's five-column feature table (`>Feature <id>`, `start stop key` rows with
  `start > stop` on the minus strand and `<`/`>` for partial ends, `\t\t\tqualifier value` rows).

GenBank members, should a copy hold them, are read as GenBank. The 12S gene is an `rRNA` feature whose product,
gene, standard name or note names it; annotators spell it in many ways (`12S ribosomal RNA`, `12S rRNA`,
`s-rRNA`, `rrnS`, `MT-RNR1`, `small subunit ribosomal RNA`). Every record without a usable 12S, and every
archive member that is not read, is counted in the QC table with the reason.
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
# Why a record read gives no 12S row: exactly one of these, or `12s_extracted`, per record.
RECORD_WITHOUT_12S = ("no_12s_unannotated_record", "no_12s_no_rrna_features", "no_12s_rrna_not_named_12s",
                      "no_12s_record_without_sequence", "no_12s_empty_sequence", "no_12s_location_outside_genome")
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


# --- MitoFish annotation tables ------------------------------------------------------------------------------

# An INSDC location: `70..1024`, `complement(<1..>954)`, `join(16000..16596,1..300)`, a single base `512`.
_LOCATION = re.compile(r"(?:complement|join|order|[()<>,.\d^])+")
_TBL_INTERVAL = re.compile(r"([<>]?)(\d+)")


@dataclass
class AnnotationTable:
    """One MitoFish annotation table: the genome it names and its features (Biopython SeqFeatures)."""

    accession: str | None
    organism: str | None
    taxid: int | None
    features: list
    flavour: str  # "ddbj" (`*.txt`) or "ncbi_feature_table" (`*.NCBI.txt`)


def annotation_table_flavour(path: Path) -> str | None:
    """"ncbi_feature_table", "ddbj" or None (not an annotation table), from the first non-empty line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    continue
                if line.startswith(">Feature"):
                    return "ncbi_feature_table"
                return "ddbj" if "\t" in line and path.name.lower().endswith(".txt") else None
    except OSError:
        return None
    return None


def read_annotation_table(path: Path, source: object) -> AnnotationTable:
    """Parse a MitoFish annotation table of either flavour; malformed rows are a GenolmInputError."""
    flavour = annotation_table_flavour(path)
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    where = f"{source}, {Path(path).name}"
    if flavour == "ncbi_feature_table":
        accession, features = _read_feature_table(lines, where)
    elif flavour == "ddbj":
        accession, features = _read_ddbj_table(lines, where)
    else:
        raise GenolmInputError(where, "not a MitoFish annotation table")
    stem = Path(path).name.split(".")[0]
    candidates = [accession, stem]
    found = next((_ACCESSION.search(c).group(0) for c in candidates if c and _ACCESSION.search(c)), None)
    organism = taxid = None
    for feature in features:
        if feature.type == "source":
            organism = next(iter(feature.qualifiers.get("organism", [])), None)
            xrefs = [x[6:] for x in feature.qualifiers.get("db_xref", []) if x.startswith("taxon:")]
            taxid = int(xrefs[0]) if xrefs and xrefs[0].isdigit() else None
    return AnnotationTable(found, organism, taxid, features, flavour)


def _read_ddbj_table(lines: list[str], where: str) -> tuple[str | None, list]:
    from Bio.SeqFeature import Location, LocationParserError, SeqFeature

    rows = [line.rstrip("\r\n").split("\t") for line in lines]
    # The location column is found, not assumed: the first row with a location in it fixes the layout
    # (entry, feature, location, qualifier, value; a copy without the entry column shifts it left by one).
    column = next((i for row in rows for i, field in enumerate(row) if i >= 1 and _is_location(field)), None)
    if column is None:
        raise GenolmInputError(where, "no row with a feature location (expected 'feature<TAB>70..1024<TAB>...')")
    entry = None
    features: list = []
    for number, row in enumerate(rows, start=1):
        row = row + [""] * (column + 3 - len(row))
        if column >= 2 and row[column - 2].strip() and entry is None:
            entry = row[column - 2].strip()
        kind, location, qualifier, value = (f.strip() for f in row[column - 1:column + 3])
        if kind:
            if location:
                try:
                    parsed = Location.fromstring(location)
                except (LocationParserError, ValueError, AssertionError) as error:  # Biopython asserts on some
                    detail = f" ({error})" if str(error) else ""
                    raise GenolmInputError(where, f"location {location!r} cannot be read{detail}: not an INSDC "
                                                  "location (e.g. 70..1024, complement(<1..>954))",
                                           record=f"line {number}") from error
                features.append(SeqFeature(parsed, type=kind, qualifiers={}))
            else:
                features.append(None)  # a pseudo-feature without location (TOPOLOGY, DATATYPE): qualifiers ignored
        if qualifier and features and features[-1] is not None:
            features[-1].qualifiers.setdefault(qualifier, []).append(value)
    return entry, [f for f in features if f is not None]


def _is_location(field: str) -> bool:
    field = field.strip()
    return bool(field) and ".." in field and _LOCATION.fullmatch(field) is not None


def _read_feature_table(lines: list[str], where: str) -> tuple[str | None, list]:
    from Bio.SeqFeature import SeqFeature

    accession = None
    features: list = []
    intervals: list[list] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.startswith(">Feature"):
            if accession is not None:
                raise GenolmInputError(where, "a second '>Feature' block: one table per genome expected",
                                       record=f"line {number}")
            seqid = line[len(">Feature"):].strip()
            accession = next((part for part in seqid.split("|") if _ACCESSION.fullmatch(part)), seqid)
            continue
        fields = line.rstrip("\r\n").split("\t")
        if fields[0].strip():  # `start stop [key]`: a new feature, or another interval of the current one
            if len(fields) < 2 or not _TBL_INTERVAL.fullmatch(fields[0].strip()) \
                    or not _TBL_INTERVAL.fullmatch(fields[1].strip()):
                raise GenolmInputError(where, f"not a feature table row: {line[:80]!r}", record=f"line {number}")
            key = fields[2].strip() if len(fields) > 2 else ""
            if key:
                features.append(SeqFeature(None, type=key, qualifiers={}))
                intervals.append([])
            elif not features:
                raise GenolmInputError(where, "an interval before any feature key", record=f"line {number}")
            intervals[-1].append((fields[0].strip(), fields[1].strip()))
        else:
            qualifier = [f.strip() for f in fields[3:5]] + ["", ""]
            if qualifier[0] and features:
                features[-1].qualifiers.setdefault(qualifier[0], []).append(qualifier[1])
    for feature, spans in zip(features, intervals):
        feature.location = _feature_table_location(spans)
    return accession, features


def _feature_table_location(spans: list[tuple[str, str]]):
    """A feature table's intervals (1-based, inclusive, `start > stop` on the minus strand) as a Biopython location."""
    from Bio.SeqFeature import AfterPosition, BeforePosition, CompoundLocation, ExactPosition, SimpleLocation

    parts = []
    for first, last in spans:
        (mark_a, a), (mark_b, b) = (_TBL_INTERVAL.fullmatch(first).groups(), _TBL_INTERVAL.fullmatch(last).groups())
        a, b = int(a), int(b)
        strand = 1 if a <= b else -1
        low, high = (a, b) if strand == 1 else (b, a)
        mark_low, mark_high = (mark_a, mark_b) if strand == 1 else (mark_b, mark_a)
        start = BeforePosition(low - 1) if mark_low else ExactPosition(low - 1)
        end = AfterPosition(high) if mark_high else ExactPosition(high)
        parts.append(SimpleLocation(start, end, strand=strand))
    return parts[0] if len(parts) == 1 else CompoundLocation(parts)


def _table_row(table: AnnotationTable, fasta: FastaHeader, sequence: str, qc: QCCounts) -> dict | None:
    """The 12S row of a genome annotated by a table, or None with the reason counted."""
    from Bio.Seq import Seq

    rrna = [f for f in table.features if f.type == "rRNA"]
    found = [f for f in rrna if is_12s(f)]
    reason = ("no_12s_unannotated_record" if not table.features else "no_12s_no_rrna_features" if not rrna
              else "no_12s_rrna_not_named_12s" if not found else None)
    if reason:
        qc.add(reason, detail="mitofish")
        return None
    if len(found) > 1:
        qc.add("several_12s_first_kept", detail="mitofish")
    location = found[0].location
    if int(location.end) > len(sequence):
        qc.add("no_12s_location_outside_genome", detail="mitofish")
        return None
    gene = str(location.extract(Seq(sequence))).upper()
    if not gene.strip("N"):
        qc.add("no_12s_empty_sequence", detail="mitofish")
        return None
    partial = "<" in str(location) or ">" in str(location)
    if partial:
        qc.add("partial_12s_kept", detail="mitofish")
    qc.add(f"annotation_table_used_{table.flavour}", detail="mitofish")
    return {"accession": fasta.accession, "species": table.organism or fasta.species, "taxid": table.taxid,
            "taxonomy": None, "sequence": gene, "length": len(gene), "start": int(location.start),
            "end": int(location.end), "strand": location.strand or 1, "partial": partial, "source": "mitofish"}


def extract_12s(ncbi_gbff: list[Path], mitofish_genomes: list[Path], mitofish_annotations: list[Path],
                out: Path, *, zip_limits: ZipLimits, scratch: Path | None = None) -> QCCounts:
    """Write `out` (TWELVE_S_SCHEMA), one row per genome with a 12S gene, sorted by (source, accession).

    `mitofish_genomes` and `mitofish_annotations` are MitoFish zips; their members are extracted (refusing
    members that would escape the scratch directory) into a temporary directory that is removed afterwards.
    An annotation table's coordinates are applied to the genome of the same accession in `mitofish_genomes`.
    A MitoFish genome with no annotation is counted (`no_12s_no_annotation`), and so is an annotation without
    its genome (`no_12s_annotation_without_genome`).
    """
    qc = QCCounts("extract_12s")
    rows: list[dict] = []
    seen: set[str] = set()
    for path in ncbi_gbff:
        rows += twelve_s_rows(genbank_records(path), "ncbi_refseq", qc, seen)
    out = Path(out)
    with scratch_directory(scratch or out.parent, prefix=".mitofish-") as tmp:
        annotated: set[str] = set()
        tables: dict[str, AnnotationTable] = {}
        for number, archive in enumerate(mitofish_annotations):
            members = safe_extract_zip(archive, Path(tmp) / f"annotations{number}", zip_limits)
            # GenBank first (it carries its sequence), then `.txt` before `.NCBI.txt` of the same genome.
            order = {"genbank": 0, "ddbj": 1, "ncbi_feature_table": 2, None: 3}
            kinds = {m: "genbank" if is_genbank(m) else annotation_table_flavour(m) for m in members}
            for member in sorted(members, key=lambda m: (order[kinds[m]], m.name)):
                if kinds[member] == "genbank":
                    records = list(genbank_records(member))
                    annotated.update(r.id.split(".")[0] for r in records)
                    annotated.update(r.name for r in records)
                    rows += twelve_s_rows(records, "mitofish", qc, seen)
                    continue
                if kinds[member] is None:
                    qc.add("annotation_member_not_recognised", detail=member.name)
                    continue
                table = read_annotation_table(member, archive)
                if table.accession is None:
                    qc.add("annotation_table_without_accession", detail=member.name)
                    continue
                key = table.accession.split(".")[0]
                if key in tables or key in annotated:
                    qc.add("annotation_table_second_for_genome", detail="mitofish")  # `.txt` beside `.NCBI.txt`
                    continue
                tables[key] = table
        genomes: set[str] = set()
        for number, archive in enumerate(mitofish_genomes):
            for member in safe_extract_zip(archive, Path(tmp) / f"genomes{number}", zip_limits):
                # mitogenomes.zip also holds per-species gene FASTA (`*genes.fa`): not genomes.
                if member.name.endswith("genes.fa") or not _starts_with(member, b">"):
                    continue
                for record in fasta_records(member):
                    header = parse_mitofish_header(record.title, archive, f"{member.name}, line {record.line}")
                    key = header.accession.split(".")[0]
                    if key in genomes:
                        continue
                    genomes.add(key)
                    if key not in tables:
                        continue
                    if header.accession in seen:
                        qc.add("duplicate_accession", detail="mitofish")
                        continue
                    seen.add(header.accession)
                    qc.add("records", detail="mitofish")
                    row = _table_row(tables[key], header, record.sequence, qc)
                    if row is not None:
                        rows.append(row)
                        qc.add("12s_extracted", detail="mitofish")
        qc.add("mitofish_genomes", len(genomes), detail="mitofish")
        qc.add("no_12s_no_annotation", len(genomes - annotated - set(tables)), detail="mitofish")
        qc.add("no_12s_annotation_without_genome", len(set(tables) - genomes), detail="mitofish")
    # Every record read (RefSeq, MitoFish GenBank member, MitoFish genome with its table) gives a 12S or one
    # reason; genomes without a table and tables without a genome never become records.
    qc.require_balance(("records", "12s_extracted", RECORD_WITHOUT_12S),
                       informational=("duplicate_accession", "several_12s_first_kept", "partial_12s_kept",
                                      "mitofish_genomes", "no_12s_no_annotation", "no_12s_annotation_without_genome",
                                      "annotation_table_used_ddbj", "annotation_table_used_ncbi_feature_table",
                                      "annotation_table_second_for_genome", "annotation_table_without_accession",
                                      "annotation_member_not_recognised"))
    table = pl.DataFrame(rows, schema=TWELVE_S_SCHEMA).sort("source", "accession")
    with atomic_file(out) as tmp_out:
        table.write_parquet(tmp_out)
    return qc


def _starts_with(path: Path, prefix: bytes) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(prefix)) == prefix
