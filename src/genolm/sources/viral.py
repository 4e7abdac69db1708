"""Viral genomes labelled phage or other virus from their hosts.

Genomes come from RefSeq viral (`viral.N.1.genomic.fna.gz`, and `viral.N.genomic.gbff.gz` for the taxon of each
record) or any GenBank FASTA. Labels come from Virus-Host DB (`virushostdb.tsv`: one row per virus-host pair,
so a virus with several hosts has several rows; columns are found by name, so the newer copies' extra columns,
`sample type` and `source organism`, are simply not read): a virus is a phage when every known host lineage
starts with Bacteria or Archaea, another virus when no known host lineage does, and unlabelled (null) when its
known hosts mix both or it has none. A host is unknown when Virus-Host DB gives tax id 1 (`root`) or an empty
lineage, as it does for over a thousand viruses in recent copies, some of them phages: such a row says nothing
about the label. A virus not in Virus-Host DB falls back on its name (`... phage ...`, as ICTV names phages);
that includes viruses Virus-Host DB lists only under GenBank accessions, which cannot match RefSeq `NC_`
headers (counted when the table is read). Every genome is counted under exactly one label outcome in the QC
table.

Every genome keeps an identity, `genome_id`: the virus taxon shared by the segments of a segmented virus (or the
accession when no taxon is known), so that splits and label-scarcity subsets are drawn per genome, never per
segment.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from genolm.atomic import atomic_file
from genolm.sources.fasta import fasta_records
from genolm.sources.genbank import genbank_records, taxon_id
from genolm.sources.tables import require_complete_last_line
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

VHDB_COLUMNS = ("virus tax id", "virus name", "virus lineage", "refseq id", "host tax id", "host name",
                "host lineage")
GENOME_SCHEMA = {"genome_id": pl.Utf8, "accession": pl.Utf8, "description": pl.Utf8, "length": pl.Int64,
                 "sequence": pl.Utf8}
LABEL_SCHEMA = {
    "accession": pl.Utf8, "taxid": pl.Int64, "name": pl.Utf8, "host_taxids": pl.List(pl.Int64),
    "host_names": pl.List(pl.Utf8), "host_lineage": pl.List(pl.Utf8), "is_phage": pl.Boolean,
    "label_source": pl.Utf8, "genome_id": pl.Utf8,
}
_PROKARYOTES = ("Bacteria", "Archaea")
_PHAGE_NAME = re.compile(r"\bphage\b", re.IGNORECASE)
_BASES = re.compile(rb"[^ACGTNRYKMSWBDHV]")
_REFSEQ_ACCESSION = re.compile(r"[A-Z]{2}_")  # NC_001416; GenBank accessions (MN908947) have no underscore


def read_virushostdb(path: Path, qc: QCCounts | None = None) -> dict[str, dict]:
    """RefSeq accession (without version) -> the virus and all its hosts, from `virushostdb.tsv`.

    `qc` counts the rows read, the rows whose host is unknown (tax id 1 / `root` / empty lineage) and the
    viruses listed only under non-RefSeq accessions.
    """
    path = Path(path)
    qc = qc if qc is not None else QCCounts("read_virushostdb")
    try:
        require_complete_last_line(path)
        handle = open(path, encoding="utf-8", errors="replace", newline="")
    except OSError as error:
        raise GenolmInputError(path, f"cannot read: {error}") from error
    viruses: dict[str, dict] = {}
    without_refseq: set[int] = set()
    with handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in VHDB_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            # Copies circulate with the header line cut off; their first row then starts with a tax id.
            headless = (reader.fieldnames or [""])[0].strip().isdigit()
            hint = "; the first line is a data row: the copy has no header line" if headless else ""
            raise GenolmInputError(path, f"not a Virus-Host DB table: no column(s) {', '.join(missing)}{hint}")
        for number, row in enumerate(reader, start=2):
            if any(value is None for value in row.values()):  # fewer fields than the header: a cut row
                raise GenolmInputError(path, f"{sum(v is not None for v in row.values())} fields where the header "
                                             f"has {len(reader.fieldnames)}: a truncated or damaged row",
                                       record=f"line {number}")
            qc.add("virushostdb_rows")
            taxid = row["virus tax id"].strip()
            if not taxid.isdigit():
                raise GenolmInputError(path, f"virus tax id {taxid!r} is not a number", record=f"line {number}")
            host = None
            if row["host tax id"] and row["host tax id"].strip().isdigit():
                host = (int(row["host tax id"]), (row["host name"] or "").strip(), (row["host lineage"] or "").strip())
            if host is None or is_unknown_host(*host):
                qc.add("virushostdb_rows_host_unknown")
            accessions = [a for a in re.split(r"[,;\s]+", row["refseq id"] or "") if a]
            if not accessions:
                qc.add("virushostdb_rows_without_accession")
            elif not any(_REFSEQ_ACCESSION.match(a) for a in accessions):
                without_refseq.add(int(taxid))
            for accession in accessions:
                entry = viruses.setdefault(accession.split(".")[0], {
                    "taxid": int(taxid), "name": row["virus name"].strip(), "hosts": {}})
                if host is not None:
                    entry["hosts"][host[0]] = host
    # These viruses' genomes cannot be found under a RefSeq header: they fall back on the name rule.
    qc.add("virushostdb_viruses_genbank_accessions_only", len(without_refseq))
    return viruses


def is_unknown_host(taxid: int, name: str, lineage: str) -> bool:
    """Virus-Host DB's way of saying it does not know the host: tax id 1 (`root`) or no lineage."""
    return taxid == 1 or name.lower() == "root" or not lineage.strip()


def phage_label(host_lineages: list[str]) -> bool | None:
    """True when every lineage is prokaryotic, False when none is, None when they mix or there are none.

    Pass only known hosts' lineages (`is_unknown_host`): an empty lineage is not a eukaryote.
    """
    prokaryote = [lineage.lstrip().startswith(_PROKARYOTES) for lineage in host_lineages]
    if not prokaryote:
        return None
    if all(prokaryote):
        return True
    return False if not any(prokaryote) else None


def prepare_viral(fasta: list[Path], gbff: list[Path], virushostdb: Path | None, out_genomes: Path,
                  out_labels: Path) -> QCCounts:
    """Write the genomes (GENOME_SCHEMA) and their labels (LABEL_SCHEMA), both sorted by accession."""
    qc = QCCounts("prepare_viral")
    record_taxa: dict[str, tuple[int | None, str]] = {}
    for path in gbff:
        for record in genbank_records(path):
            record_taxa[record.id] = (taxon_id(record), record.annotations.get("organism", ""))
    hosts = read_virushostdb(virushostdb, qc) if virushostdb else {}

    genomes, labels = [], []
    seen: set[str] = set()
    for path in fasta:
        for header, text, line in fasta_records(path):
            accession, _, description = header.partition(" ")
            if accession in seen:
                raise GenolmInputError(path, f"duplicate accession {accession}", record=f"line {line}")
            seen.add(accession)
            sequence = text.upper().encode("ascii", "replace")  # non-ASCII -> '?', reported below
            bad = _BASES.search(sequence)
            if not sequence or bad:
                what = "empty sequence" if not sequence else f"invalid character {chr(sequence[bad.start()])!r}"
                raise GenolmInputError(path, what, record=f"{accession} (line {line})")
            vhdb = hosts.get(accession.split(".")[0])
            taxid, organism = record_taxa.get(accession, (None, ""))
            if vhdb is not None:
                host_list = sorted(vhdb["hosts"].values())
                known = [h for h in host_list if not is_unknown_host(*h)]
                is_phage = phage_label([h[2] for h in known])
                taxid, name, source = vhdb["taxid"], vhdb["name"], "virushostdb"
                if is_phage is not None:
                    outcome = "labelled_by_host"
                elif known:
                    outcome = "unlabelled_mixed_hosts"
                else:
                    outcome = "unlabelled_host_unknown" if host_list else "unlabelled_no_host_listed"
            else:
                host_list, name = [], organism or description.split(",")[0]
                is_phage = True if _PHAGE_NAME.search(name) else None
                source = "name" if is_phage else None
                qc.add("not_in_virushostdb")
                outcome = "labelled_by_name_rule" if is_phage else "unlabelled_no_host_information"
            qc.add(outcome)
            genome_id = f"taxid:{taxid}" if taxid is not None else accession
            genomes.append({"genome_id": genome_id, "accession": accession, "description": description,
                            "length": len(sequence), "sequence": sequence.decode("ascii")})
            labels.append({
                "accession": accession, "taxid": taxid, "name": name, "host_taxids": [h[0] for h in host_list],
                "host_names": [h[1] for h in host_list], "host_lineage": [h[2] for h in host_list],
                "is_phage": is_phage, "label_source": source, "genome_id": genome_id,
            })
            qc.add("genomes")
            qc.add("phage" if is_phage else ("other_virus" if is_phage is False else "unlabelled"))
    if not genomes:
        raise GenolmInputError(fasta[0] if fasta else "viral genomes", "no genome records")
    # Nothing is dropped here: every genome is counted once by label and once by label outcome.
    unlabelled = ("unlabelled_host_unknown", "unlabelled_mixed_hosts", "unlabelled_no_host_listed",
                  "unlabelled_no_host_information")
    qc.require_balance(("genomes", "phage", ("other_virus", "unlabelled")),
                       ("unlabelled", unlabelled[0], unlabelled[1:]),
                       ("genomes", "labelled_by_host", ("labelled_by_name_rule", *unlabelled)),
                       informational=("not_in_virushostdb", "virushostdb_rows", "virushostdb_rows_host_unknown",
                                      "virushostdb_rows_without_accession",
                                      "virushostdb_viruses_genbank_accessions_only"))
    # Both tables are written before either is renamed into place, so they appear together.
    with atomic_file(out_labels) as tmp_labels, atomic_file(out_genomes) as tmp_genomes:
        pl.DataFrame(genomes, schema=GENOME_SCHEMA).sort("accession").write_parquet(tmp_genomes)
        pl.DataFrame(labels, schema=LABEL_SCHEMA).sort("accession").write_parquet(tmp_labels)
    return qc
