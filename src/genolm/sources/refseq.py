"""NCBI assemblies: choosing them from `assembly_summary.txt`, fetching their FASTA, reading assembly reports.

`assembly_summary.txt` (genomes/refseq/<group>/ or genomes/ASSEMBLY_REPORTS/) starts with a comment line, then
a header line `#assembly_accession<TAB>bioproject<TAB>...`, then one tab-separated row per assembly. Its
`ftp_path` is the assembly's directory; the genome is `{ftp_path}/{basename}_genomic.fna.gz` and the directory's
`md5checksums.txt` verifies it. `ftp_path` is `na` for assemblies without files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from genolm.atomic import atomic_file, written_path
from genolm.sources.release import Wanted, join_url
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

# The columns genolm uses; the file has about 38 (more were added over the years, so they are found by name).
SUMMARY_COLUMNS = ("assembly_accession", "refseq_category", "taxid", "species_taxid", "organism_name",
                   "infraspecific_name", "version_status", "assembly_level", "asm_name", "ftp_path")
_CATEGORY_RANK = {"reference genome": 0, "representative genome": 1}
_LEVEL_RANK = {"Complete Genome": 0, "Chromosome": 1, "Scaffold": 2, "Contig": 3}
_ACCESSION = re.compile(r"GC[AF]_\d{9}(\.\d+)?")


def read_assembly_summary(path: Path) -> pl.DataFrame:
    """The rows of an assembly summary as strings, with the columns in SUMMARY_COLUMNS (plus `line`)."""
    path = Path(path)
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise GenolmInputError(path, f"cannot read: {error}") from error
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            # The header is the comment line that names the first column; older files put a space after '#'.
            fields = line.lstrip("#").strip().split("\t")
            if fields[0] == "assembly_accession":
                header = [f.strip() for f in fields]
            continue
        if header is None:
            raise GenolmInputError(path, "data before the '#assembly_accession' header line: not an assembly summary",
                                   record=f"line {number}")
        fields = line.split("\t")
        if len(fields) != len(header):
            raise GenolmInputError(path, f"{len(fields)} tab-separated fields where the header has {len(header)}",
                                   record=f"line {number}")
        if not _ACCESSION.fullmatch(fields[0]):
            raise GenolmInputError(path, f"{fields[0]!r} is not an assembly accession (GCF_/GCA_ + 9 digits)",
                                   record=f"line {number}")
        rows.append(fields + [str(number)])
    if header is None:
        raise GenolmInputError(path, "no '#assembly_accession' header line: not an assembly summary")
    missing = [c for c in SUMMARY_COLUMNS if c not in header]
    if missing:
        raise GenolmInputError(path, f"header lacks column(s) {', '.join(missing)}")
    table = pl.DataFrame(rows, schema=[*header, "line"], orient="row")
    return table.select(*SUMMARY_COLUMNS, "line")


@dataclass(frozen=True)
class Selection:
    """Which assemblies to take: explicit accessions, and/or the best `per_organism` of each organism."""

    accessions: Sequence[str] = ()
    organisms: Sequence[str] = ()
    per_organism: int = 1
    assembly_levels: Sequence[str] = ()  # empty: any level


def select_assemblies(summary: pl.DataFrame, selection: Selection, source: object) -> tuple[pl.DataFrame, QCCounts]:
    """The chosen rows, in summary order. An accession or organism that matches nothing is an error naming it.

    For an organism (matched on `organism_name`, whole words from its start, case-insensitive), only
    `version_status == latest` assemblies with files are candidates, ranked reference > representative >
    other and then by assembly level; ties keep summary order.
    """
    qc = QCCounts("select_assemblies")
    if not selection.accessions and not selection.organisms:
        raise GenolmInputError(source, "no assemblies requested: give accessions and/or organisms")
    base = summary["assembly_accession"].str.replace(r"\.\d+$", "")
    chosen: list[int] = []
    for accession in selection.accessions:
        exact = summary["assembly_accession"] == accession if "." in accession else base == accession
        hits = [i for i, hit in enumerate(exact) if hit]
        if not hits:
            raise GenolmInputError(source, f"assembly {accession!r} is not in the summary")
        chosen += hits
    usable = (summary["version_status"] == "latest") & (summary["ftp_path"] != "na")
    if selection.assembly_levels:
        usable &= summary["assembly_level"].is_in(list(selection.assembly_levels))
    for organism in selection.organisms:
        pattern = rf"(?i)^{re.escape(organism.strip())}(\s|$)"
        matches = summary["organism_name"].str.contains(pattern)
        if not matches.any():
            raise GenolmInputError(source, f"no assembly of organism {organism!r} in the summary")
        qc.add("not_latest_or_no_files", int((matches & ~usable).sum()), detail=organism)
        candidates = [i for i, hit in enumerate(matches & usable) if hit]
        if not candidates:
            raise GenolmInputError(source, f"organism {organism!r}: every assembly is superseded, has no files or is "
                                           f"of another assembly level")
        candidates.sort(key=lambda i: (_CATEGORY_RANK.get(summary["refseq_category"][i], 2),
                                       _LEVEL_RANK.get(summary["assembly_level"][i], 4)))
        chosen += candidates[:selection.per_organism]
        qc.add("not_chosen", max(0, len(candidates) - selection.per_organism), detail=organism)
    rows = sorted(set(chosen))
    picked = summary[rows]
    no_files = picked.filter(pl.col("ftp_path") == "na")
    if len(no_files):
        raise GenolmInputError(source, f"assembly {no_files['assembly_accession'][0]} has no files (ftp_path 'na')",
                               record=f"line {no_files['line'][0]}")
    qc.add("selected", len(picked))
    return picked, qc


def remap_url(url: str, mirrors: dict[str, str]) -> str:
    """`url` with the longest matching prefix replaced, so that a lab's mirror or the demo serves NCBI paths."""
    for prefix in sorted(mirrors, key=len, reverse=True):
        if url.startswith(prefix):
            return mirrors[prefix] + url[len(prefix):]
    return url


def assembly_files(selected: pl.DataFrame, mirrors: dict[str, str] | None = None) -> list[Wanted]:
    """The genome FASTA of each selected assembly, named `<accession>.fna.gz`, checked by md5checksums.txt."""
    wanted = []
    for accession, ftp_path in zip(selected["assembly_accession"], selected["ftp_path"]):
        directory = remap_url(ftp_path.rstrip("/"), mirrors or {})
        basename = ftp_path.rstrip("/").rsplit("/", 1)[-1]
        wanted.append(Wanted(name=f"{accession}.fna.gz", url=join_url(directory, f"{basename}_genomic.fna.gz"),
                             checksum_listing=join_url(directory, "md5checksums.txt"),
                             listing_name=f"{basename}_genomic.fna.gz"))
    return wanted


def read_assembly_report(path: Path) -> pl.DataFrame:
    """An NCBI `*_assembly_report.txt`: `sequence_name, genbank, refseq, ucsc` per sequence (None for `na`).

    `#` lines are comments; rows are tab-separated with Sequence-Name in column 1, GenBank-Accn in 5,
    RefSeq-Accn in 7 and UCSC-style-name in 10. The files have CRLF line ends.
    """
    path = Path(path)
    rows = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise GenolmInputError(path, f"cannot read: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 10:
            raise GenolmInputError(path, f"{len(fields)} tab-separated fields, an assembly report row has 10",
                                   record=f"line {number}")
        value = [None if f.strip() in ("na", "") else f.strip() for f in fields]
        rows.append({"sequence_name": value[0], "genbank": value[4], "refseq": value[6], "ucsc": value[9]})
    if not rows:
        raise GenolmInputError(path, "no sequence rows: not an assembly report")
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in ("sequence_name", "genbank", "refseq", "ucsc")})


def report_renames(report: pl.DataFrame) -> dict[str, str]:
    """FASTA name -> UCSC-style name for every sequence the report gives one, whatever name the FASTA uses."""
    renames = {}
    for row in report.iter_rows(named=True):
        if row["ucsc"] is None:
            continue
        for name in (row["sequence_name"], row["genbank"], row["refseq"]):
            if name is not None:
                renames[name] = row["ucsc"]
    return renames


SELECTED = "assemblies.tsv"
ASSEMBLY_SCHEMA = {
    "accession": pl.Utf8, "organism": pl.Utf8, "taxid": pl.Int64, "species_taxid": pl.Int64,
    "assembly_level": pl.Utf8, "refseq_category": pl.Utf8, "asm_name": pl.Utf8, "url": pl.Utf8, "md5": pl.Utf8,
    "fasta": pl.Utf8, "n_sequences": pl.Int64, "total_length": pl.Int64,
}


def prepare_assemblies(manifest: Path, out_dir: Path, table: Path) -> QCCounts:
    """Normalize every downloaded assembly to `out_dir/<accession>.fa.gz` (BGZF + .fai/.gzi/.aliases.tsv) and
    write `table` (ASSEMBLY_SCHEMA), one row per assembly. The table is written last."""
    from genolm.sources.reference import prepare_reference
    from genolm.sources.release import read_manifest

    manifest = Path(manifest)
    files = read_manifest(manifest)
    selected_path = manifest.parent / SELECTED
    try:
        selected = pl.read_csv(selected_path, separator="\t", infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(selected_path, f"cannot read the selected assemblies: {error}") from error
    by_name = {row["name"]: row for row in files.iter_rows(named=True)}
    qc = QCCounts("prepare_assemblies")
    rows = []
    for row in selected.iter_rows(named=True):
        accession = row["assembly_accession"]
        download = by_name.get(f"{accession}.fna.gz")
        if download is None:
            raise GenolmInputError(manifest, f"assembly {accession} was selected but not downloaded")
        fasta = Path(out_dir) / f"{accession}.fa.gz"
        step = prepare_reference(Path(download["path"]), fasta, chromosomes="all")
        qc.merge(step)
        lengths = [int(line.split("\t")[1]) for line in written_path(f"{fasta}.fai").read_text().splitlines()]
        rows.append({
            "accession": accession, "organism": row["organism_name"], "taxid": int(row["taxid"]),
            "species_taxid": int(row["species_taxid"]), "assembly_level": row["assembly_level"],
            "refseq_category": row["refseq_category"], "asm_name": row["asm_name"], "url": download["url"],
            "md5": download["checksum"] if download["verified"] else None, "fasta": str(fasta),
            "n_sequences": len(lengths), "total_length": sum(lengths),
        })
    out = pl.DataFrame(rows, schema=ASSEMBLY_SCHEMA)
    with atomic_file(table) as tmp:
        out.write_parquet(tmp)
    return qc
