"""Somatic mutations and cell-line annotations: DepMap CSV, VCF, MAF or parquet in, one normalized table out.

The normalized table (`MUTATION_COLUMNS`) is VCF style: 1-based `pos`, uppercase `ref`/`alt` that are never
empty (indels carry the base before them), canonical chromosome names. MAF writes indels with '-' alleles and
no padding base; the padding base comes from the reference, so `read_mutations` marks those rows with
`needs_padding` and `validate_against_reference` completes them. For such a row `pos` is the position of the
first base after the (missing) padding base: the first deleted base, or the base after an insertion point.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from genolm.atomic import atomic_file
from genolm.sources.bgzf import missing_eof_block
from genolm.sources.chromosomes import canonical_name, select_chromosomes
from genolm.sources.fasta import GZIP_MAGIC, is_gzip
from genolm.sources.reference import ReferenceGenome
from genolm.sources.tables import read_parquet_table, require_complete_last_line, require_field_counts
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

MUTATION_COLUMNS = {
    "sample": pl.Utf8,
    "chrom": pl.Utf8,
    "pos": pl.Int64,
    "ref": pl.Utf8,
    "alt": pl.Utf8,
    "variant_type": pl.Utf8,
    "record": pl.Utf8,
}
_READ_SCHEMA = {**MUTATION_COLUMNS, "needs_padding": pl.Boolean}
FORMATS = ("auto", "depmap", "vcf", "maf", "parquet")
_ALLELE = r"^[ACGTN]+$"
_KEY = ["sample", "chrom", "pos", "ref", "alt"]
_DEPMAP_COLUMNS = {"ModelID": "sample", "Chrom": "chrom", "Pos": "pos", "Ref": "ref", "Alt": "alt"}
_MAF_COLUMNS = {"Tumor_Sample_Barcode": "sample", "Chromosome": "chrom", "Start_Position": "pos",
                "Reference_Allele": "ref", "Tumor_Seq_Allele2": "alt"}
_SAMPLE_COLUMNS = {"ModelID": "sample", "OncotreeLineage": "lineage", "OncotreePrimaryDisease": "primary_disease",
                   "CellLineName": "cell_line_name"}


def describe(row: dict) -> str:
    """`line 17 (chr1:12345 C>A, sample ACH-000001)`: how a mutation is named in error messages."""
    return f"{row['record']} ({row['chrom']}:{row['pos']} {row['ref'] or '-'}>{row['alt'] or '-'}, sample {row['sample']})"


def variant_type_expr() -> pl.Expr:
    """SNV, MNV, insertion, deletion or complex, from the alleles (padded VCF style or MAF style with '')."""
    ref, alt = pl.col("ref"), pl.col("alt")
    ref_len, alt_len = ref.str.len_chars(), alt.str.len_chars()
    return (
        pl.when((ref_len == 1) & (alt_len == 1)).then(pl.lit("SNV"))
        .when(ref_len == alt_len).then(pl.lit("MNV"))
        .when((ref_len == 0) | ((ref_len == 1) & alt.str.starts_with(ref))).then(pl.lit("insertion"))
        .when((alt_len == 0) | ((alt_len == 1) & ref.str.starts_with(alt))).then(pl.lit("deletion"))
        .otherwise(pl.lit("complex"))
    )


# ---------------------------------------------------------------------------------------------------- reading


def detect_format(path: Path) -> str:
    """The format of a mutation file from its content (falling back on its name)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    opener = gzip.open if head[:2] == GZIP_MAGIC else open
    try:
        with opener(path, "rb") as handle:
            text = handle.read(1 << 16)
    except (OSError, EOFError) as error:
        raise GenolmInputError(path, f"cannot read the file ({error})") from error
    if text.startswith(b"BCF") or text.startswith(b"##fileformat=VCF"):
        return "vcf"
    header = next((line for line in text.splitlines() if line and not line.startswith(b"#")), b"")
    if b"Tumor_Sample_Barcode" in header:
        return "maf"
    if b"ModelID" in header:
        return "depmap"
    name = path.name.lower()
    for suffix, fmt in ((".vcf", "vcf"), (".vcf.gz", "vcf"), (".bcf", "vcf"), (".maf", "maf"),
                        (".maf.gz", "maf"), (".parquet", "parquet"), (".csv", "depmap")):
        if name.endswith(suffix):
            return fmt
    raise GenolmInputError(path, "cannot tell the mutation format; pass --format depmap, vcf, maf or parquet")


def read_mutations(path: Path, format: str = "auto", *, qc: QCCounts, sites_only: bool = False) -> pl.DataFrame:
    """Read a mutation file into `MUTATION_COLUMNS` plus a `needs_padding` flag (see the module docstring).

    `sites_only` reads a VCF as variant sites: one row per ALT allele whoever carries it, sample "" (a VCF without
    sample columns, such as ClinVar's, is then accepted); other formats are read as they are.

    Chromosome names are canonicalized where they are GRCh38 chromosomes; other names are kept as they are
    for `validate_against_reference` to reject or accept.
    """
    path = Path(path)
    if not path.is_file():
        raise GenolmInputError(path, "mutation file not found")
    if format not in FORMATS:
        raise ValueError(f"unknown mutation format {format!r}; expected one of {FORMATS}")
    fmt = detect_format(path) if format == "auto" else format
    reader = {"depmap": _read_depmap, "vcf": _read_vcf, "maf": _read_maf, "parquet": _read_parquet}[fmt]
    try:
        table = _read_vcf(path, qc, sites_only=True) if fmt == "vcf" and sites_only else reader(path, qc)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise GenolmInputError(path, f"corrupt or truncated compressed file ({error}): download it again") from None
    return _normalize(table, path, qc)


def _read_delimited(path: Path, separator: str, required: Sequence[str], optional: Sequence[str] = (),
                    skip_rows: int = 0) -> pl.DataFrame:
    """All-string table with a `line` column (1-based line number in the file); missing columns name themselves."""
    require_complete_last_line(path)
    try:
        header = pl.read_csv(path, separator=separator, n_rows=0, skip_rows=skip_rows, quote_char='"').columns
    except (pl.exceptions.PolarsError, OSError) as error:
        raise GenolmInputError(path, f"cannot read as a {separator!r}-separated table ({error})") from error
    missing = [c for c in required if c not in header]
    if missing:
        raise GenolmInputError(path, f"missing required column(s) {', '.join(missing)} "
                                     f"(found: {', '.join(header[:40])})", record=f"line {skip_rows + 1}")
    columns = list(required) + [c for c in optional if c in header]
    # Reading only some columns would accept rows with too many fields, and polars pads rows with too few with
    # empty values: both are refused here, naming the line.
    require_field_counts(path, separator, len(header), skip_rows=skip_rows)
    try:
        table = pl.read_csv(path, separator=separator, skip_rows=skip_rows, columns=columns, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise GenolmInputError(path, f"malformed table ({str(error).splitlines()[0]})") from error
    # Header is line skip_rows + 1, so data row i (0-based) is line skip_rows + 2 + i. Quoted fields spanning
    # lines would shift this; neither DepMap nor MAF files have them.
    return table.with_row_index("line", offset=skip_rows + 2)


def _require_values(table: pl.DataFrame, path: Path, columns: dict[str, str]) -> None:
    for source_column, column in columns.items():
        empty = table.filter(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
        if empty.height:
            raise GenolmInputError(path, f"empty value in column {source_column}",
                                   record=f"line {empty['line'][0]}")


def _parse_positions(table: pl.DataFrame, path: Path, column: str) -> pl.DataFrame:
    parsed = table.with_columns(pl.col("pos").str.strip_chars().cast(pl.Int64, strict=False).alias("_pos"))
    bad = parsed.filter(pl.col("_pos").is_null() | (pl.col("_pos") < 1))
    if bad.height:
        raise GenolmInputError(path, f"{column} {bad['pos'][0]!r} is not a positive integer",
                               record=f"line {bad['line'][0]}")
    return parsed.with_columns(pl.col("_pos").alias("pos")).drop("_pos")


def _read_depmap(path: Path, qc: QCCounts) -> pl.DataFrame:
    table = _read_delimited(path, ",", list(_DEPMAP_COLUMNS), optional=["IsDefaultEntryForModel"])
    table = table.rename(_DEPMAP_COLUMNS)
    _require_values(table, path, _DEPMAP_COLUMNS)
    # A model can have several sequencing runs; DepMap flags the one that represents it.
    qc.add("rows_read", table.height)
    if "IsDefaultEntryForModel" in table.columns:
        default = pl.col("IsDefaultEntryForModel") == "Yes"
        qc.add("not_default_entry_for_model", table.filter(~default.fill_null(False)).height)
        table = table.filter(default)
    table = _parse_positions(table, path, "Pos")
    return table.with_columns(
        pl.lit(False).alias("needs_padding"),
        pl.format("line {}", pl.col("line")).alias("record"),
    )


def _read_maf(path: Path, qc: QCCounts) -> pl.DataFrame:
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt") as handle:
        comments = 0
        for line in handle:
            if not line.startswith("#"):
                break
            comments += 1
    table = _read_delimited(path, "\t", list(_MAF_COLUMNS), skip_rows=comments).rename(_MAF_COLUMNS)
    _require_values(table, path, _MAF_COLUMNS)
    table = _parse_positions(table, path, "Start_Position")
    qc.add("rows_read", table.height)
    ref_gap, alt_gap = pl.col("ref") == "-", pl.col("alt") == "-"
    both = table.filter(ref_gap & alt_gap)
    if both.height:
        raise GenolmInputError(path, "both alleles are '-'", record=f"line {both['line'][0]}")
    # MAF insertions start at the base before the insertion point; the padded VCF form starts there too, so
    # the base after the padding base is Start_Position + 1. MAF deletions start at the first deleted base.
    return table.with_columns(
        pl.when(ref_gap).then(pl.col("pos") + 1).otherwise(pl.col("pos")).alias("pos"),
        pl.when(ref_gap).then(pl.lit("")).otherwise(pl.col("ref")).alias("ref"),
        pl.when(alt_gap).then(pl.lit("")).otherwise(pl.col("alt")).alias("alt"),
        (ref_gap | alt_gap).alias("needs_padding"),
        pl.format("line {}", pl.col("line")).alias("record"),
    )


def is_symbolic(allele: str) -> bool:
    # <DEL>, <NON_REF>, the spanning deletion '*', and breakends such as A[chr2:321[ describe no sequence.
    return allele.startswith("<") or allele == "*" or "[" in allele or "]" in allele


def _read_vcf(path: Path, qc: QCCounts, sites_only: bool = False) -> pl.DataFrame:
    import cyvcf2  # imported here: only VCF input needs it, and it is slow to load

    # htslib reads a cut-short file without complaint: a plain VCF cut inside its last line, and a .vcf.gz cut
    # at a block boundary, must be refused here.
    require_complete_last_line(path)
    if missing_eof_block(path):
        raise GenolmInputError(path, "BGZF file without its end-of-file block: it was cut short; download it again")
    try:
        vcf = cyvcf2.VCF(str(path))
    except (OSError, Exception) as error:  # cyvcf2 raises bare Exception for unreadable headers
        raise GenolmInputError(path, f"cannot open as VCF/BCF ({error})") from error
    samples = list(vcf.samples)
    if sites_only:
        samples = [""]  # one row per ALT allele, carried or not
    elif not samples:
        raise GenolmInputError(path, "VCF has no sample columns, so its mutations belong to no cell line")
    rows: dict[str, list] = {c: [] for c in ("sample", "chrom", "pos", "ref", "alt", "record")}
    index = 0
    try:
        for index, variant in enumerate(vcf, start=1):
            record = f"record {index}"
            alts = variant.ALT
            if not alts:
                qc.add("no_alt_allele")
                continue
            if sites_only:
                carriers = [set(range(1, len(alts) + 1))]
            elif "GT" in (variant.FORMAT or []):
                # An ALT belongs to every sample whose genotype contains its allele index (missing is -1).
                carriers = [set(g[:-1]) for g in variant.genotypes]
            elif len(samples) == 1:
                carriers = [set(range(1, len(alts) + 1))]
            else:
                raise GenolmInputError(path, "multi-sample VCF record without GT: cannot tell which cell line "
                                             "carries it", record=f"{record} ({variant.CHROM}:{variant.POS})")
            carried = False
            for allele_index, alt in enumerate(alts, start=1):
                if is_symbolic(alt):
                    qc.add("symbolic_alt", detail=alt if alt.startswith("<") or alt == "*" else "breakend")
                    continue
                for sample, alleles in zip(samples, carriers):
                    if allele_index in alleles:
                        carried = True
                        rows["sample"].append(sample)
                        rows["chrom"].append(variant.CHROM)
                        rows["pos"].append(variant.POS)
                        rows["ref"].append(variant.REF)
                        rows["alt"].append(alt)
                        rows["record"].append(record)
            if not carried:
                qc.add("no_sample_carries_alt")
    except GenolmInputError:
        raise
    except Exception as error:  # htslib parse failures surface as assorted exception types
        raise GenolmInputError(path, f"cannot parse VCF ({error})", record=f"record {index + 1}") from error
    finally:
        vcf.close()
    table = pl.DataFrame(rows, schema={"sample": pl.Utf8, "chrom": pl.Utf8, "pos": pl.Int64, "ref": pl.Utf8,
                                       "alt": pl.Utf8, "record": pl.Utf8})
    qc.add("rows_read", table.height)  # one row per (ALT allele, carrier): the records' own reasons are extra
    return table.with_columns(pl.lit(False).alias("needs_padding"))


def _read_parquet(path: Path, qc: QCCounts) -> pl.DataFrame:
    table = read_parquet_table(path, _KEY)
    if "record" not in table.columns:
        table = table.with_row_index("_row", offset=1).with_columns(pl.format("row {}", pl.col("_row")).alias("record"))
    if "needs_padding" not in table.columns:
        table = table.with_columns(pl.lit(False).alias("needs_padding"))
    qc.add("rows_read", table.height)
    try:
        return table.with_columns(pl.col("pos").cast(pl.Int64), pl.col("sample", "chrom", "ref", "alt").cast(pl.Utf8))
    except pl.exceptions.PolarsError as error:
        raise GenolmInputError(path, f"column types do not match a mutation table ({error})") from error


def _normalize(table: pl.DataFrame, path: Path, qc: QCCounts) -> pl.DataFrame:
    """Uppercase and check alleles, canonicalize chromosome names, classify, drop REF == ALT."""
    for column in ("sample", "chrom", "pos"):
        missing = table.filter(pl.col(column).is_null())
        if missing.height:
            raise GenolmInputError(path, f"missing {column}", record=missing["record"][0])
    table = table.with_columns(
        pl.col("ref").fill_null("").str.strip_chars().str.to_uppercase(),
        pl.col("alt").fill_null("").str.strip_chars().str.to_uppercase(),
        pl.col("sample").str.strip_chars(),
        pl.col("chrom").str.strip_chars(),
    )
    for column in ("ref", "alt"):
        allowed = pl.col(column).str.contains(_ALLELE) | (pl.col("needs_padding") & (pl.col(column) == ""))
        bad = table.filter(~allowed.fill_null(False))
        if bad.height:
            row = bad.row(0, named=True)
            raise GenolmInputError(path, f"invalid {column.upper()} allele {row[column]!r} (expected bases ACGTN)",
                                   record=describe(row))
    identical = pl.col("ref") == pl.col("alt")
    qc.add("ref_equals_alt", table.filter(identical).height)
    names = {name: canonical_name(name) or name for name in table["chrom"].unique().to_list()}
    table = table.filter(~identical).with_columns(
        pl.col("chrom").replace_strict(names, return_dtype=pl.Utf8),
        variant_type_expr().alias("variant_type"),
    )
    return table.select(list(_READ_SCHEMA)).cast(_READ_SCHEMA)


# ---------------------------------------------------------------------------------------------------- samples


def read_samples(path: Path, qc: QCCounts | None = None) -> pl.DataFrame:
    """DepMap Model.csv -> sample, lineage, primary_disease, cell_line_name (one row per ModelID).

    Every value is trimmed of surrounding whitespace ("Lung " is the lineage Lung: a hand-edited table must not
    silently lose its samples from a selection by name); how many values were trimmed is counted in `qc`.
    """
    path = Path(path)
    if not path.is_file():
        raise GenolmInputError(path, "sample annotation file not found")
    table = _read_delimited(path, ",", ["ModelID", "OncotreeLineage"],
                            optional=["OncotreePrimaryDisease", "CellLineName"])
    for column in ("OncotreePrimaryDisease", "CellLineName"):
        if column not in table.columns:
            table = table.with_columns(pl.lit(None, dtype=pl.Utf8).alias(column))
    table = table.rename(_SAMPLE_COLUMNS)
    columns = list(_SAMPLE_COLUMNS.values())
    trimmed = table.select(sum((pl.col(c) != pl.col(c).str.strip_chars()).fill_null(False).cast(pl.Int64).sum()
                               for c in columns)).item()
    if qc is not None:
        qc.add("sample_value_whitespace_trimmed", int(trimmed))
    table = table.with_columns(pl.col(c).str.strip_chars() for c in columns)
    _require_values(table, path, {"ModelID": "sample"})
    duplicated = table.filter(pl.col("sample").is_duplicated())
    if duplicated.height:
        raise GenolmInputError(path, f"duplicate ModelID {duplicated['sample'][0]!r} "
                                     f"(lines {', '.join(map(str, duplicated['line'].head(5).to_list()))})")
    return table.select(list(_SAMPLE_COLUMNS.values()))


def attach_mutation_counts(mutations: pl.DataFrame, samples: pl.DataFrame, *, qc: QCCounts) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop (and count) mutations of samples without annotation; add `n_mutations` to samples (0 if none)."""
    known = pl.col("sample").is_in(samples["sample"].implode())
    orphans = mutations.filter(~known)
    for sample, count in orphans.group_by("sample").len().sort("sample").iter_rows():
        qc.add("sample_not_annotated", count, detail=sample)
    mutations = mutations.filter(known)
    counts = mutations.group_by("sample").len("n_mutations")
    samples = samples.join(counts, on="sample", how="left", maintain_order="left").with_columns(
        pl.col("n_mutations").fill_null(0).cast(pl.Int64))
    return mutations, samples


# ---------------------------------------------------------------------------------------------------- validation


def validate_against_reference(mutations: pl.DataFrame, reference: ReferenceGenome, *, source: Path,
                               chromosomes: str | Sequence[str] = "all", max_ref_mismatch_fraction: float = 0.01,
                               qc: QCCounts) -> pl.DataFrame:
    """Check every mutation against the reference and return the clean, sorted, VCF-style table.

    Mutations on chromosomes outside the selection are counted and removed; a chromosome name that is neither
    in the reference nor a GRCh38 chromosome is an error. REF alleles that disagree with the reference are
    never applied: they are counted and removed, and too many of them (a sign of the wrong assembly) is an error.
    """
    source = Path(source)
    if "needs_padding" not in mutations.columns:
        mutations = mutations.with_columns(pl.lit(False).alias("needs_padding"))
    selected = select_chromosomes(list(reference.lengths), chromosomes, source=reference.path)
    names: dict[str, str] = {}
    for name in mutations["chrom"].unique(maintain_order=True).to_list():
        resolved = reference.canonical(name) or canonical_name(name)
        if resolved is None:
            row = mutations.filter(pl.col("chrom") == name).row(0, named=True)
            raise GenolmInputError(source, f"chromosome {name!r} is not in the reference {reference.path} "
                                           f"and is not a GRCh38 chromosome name", record=describe(row))
        names[name] = resolved
    mutations = mutations.with_columns(pl.col("chrom").replace_strict(names, return_dtype=pl.Utf8))
    outside = mutations.filter(~pl.col("chrom").is_in(selected))
    for chrom, count in outside.group_by("chrom").len().sort("chrom").iter_rows():
        qc.add("chromosome_not_selected", count, detail=chrom)

    checked, mismatched = [], []
    mutations = mutations.with_row_index("_order")
    for chrom in selected:
        rows = mutations.filter(pl.col("chrom") == chrom)
        if rows.height:
            rows, matches, found = _check_chromosome(rows, reference, source, qc)
            checked.append(rows.filter(matches))
            mismatched.append(rows.filter(~matches).with_columns(pl.Series("found", found, dtype=pl.Utf8)))
    clean = pl.concat(checked) if checked else mutations.clear()
    bad = pl.concat(mismatched) if mismatched else mutations.clear().with_columns(pl.lit("").alias("found"))
    total = clean.height + bad.height
    qc.add("ref_mismatch", bad.height)
    if total and bad.height / total > max_ref_mismatch_fraction:
        examples = "; ".join(f"{describe(r)}: REF {r['ref']} but the reference has {r['found']}"
                             for r in bad.sort("_order").head(5).iter_rows(named=True))
        raise GenolmInputError(
            source, f"{bad.height} of {total} mutations ({bad.height / total:.1%}) have a REF allele that "
                    f"disagrees with {reference.path}, more than the allowed {max_ref_mismatch_fraction:.1%} "
                    f"(wrong assembly?). First: {examples}")
    # Within a chromosome rows keep their file order, so "first" is the first occurrence in the file.
    deduplicated = clean.unique(subset=_KEY, keep="first", maintain_order=True)
    qc.add("duplicate", clean.height - deduplicated.height)
    return deduplicated.sort(_KEY).select(list(MUTATION_COLUMNS)).cast(MUTATION_COLUMNS)


def _check_chromosome(rows: pl.DataFrame, reference: ReferenceGenome, source: Path,
                      qc: QCCounts) -> tuple[pl.DataFrame, pl.Series, list[str]]:
    """Pad MAF-style indels and check bounds; return the rows, whether each REF matches the reference, and
    the reference bases under each mismatching REF."""
    chrom = rows["chrom"][0]
    sequence = reference.array(chrom)
    length = len(sequence)
    unpaddable = pl.col("needs_padding") & (pl.col("pos") <= 1)
    qc.add("indel_at_chromosome_start", rows.filter(unpaddable).height)
    rows = rows.filter(~unpaddable)
    shift = pl.col("needs_padding").cast(pl.Int64)
    beyond = rows.filter(pl.col("pos") - shift > length)
    if beyond.height:
        raise GenolmInputError(source, f"position beyond the end of {chrom} (length {length})",
                               record=describe(beyond.row(0, named=True)))
    # The padding base of a MAF-style indel is the reference base just before `pos`.
    anchor_index = np.clip(rows["pos"].to_numpy() - 2, 0, None)
    anchors = pl.Series("_anchor", list(sequence[anchor_index].tobytes().decode("ascii")), dtype=pl.Utf8)
    rows = rows.with_columns(anchors).with_columns(
        pl.when(pl.col("needs_padding")).then(pl.col("_anchor") + pl.col("ref")).otherwise(pl.col("ref")).alias("ref"),
        pl.when(pl.col("needs_padding")).then(pl.col("_anchor") + pl.col("alt")).otherwise(pl.col("alt")).alias("alt"),
        (pl.col("pos") - shift).alias("pos"),
        pl.lit(False).alias("needs_padding"),
    ).drop("_anchor")

    overhang = rows.filter(pl.col("pos") + pl.col("ref").str.len_chars() - 1 > length)
    if overhang.height:
        raise GenolmInputError(source, f"REF allele runs past the end of {chrom} (length {length})",
                               record=describe(overhang.row(0, named=True)))
    starts = rows["pos"].to_numpy() - 1
    refs = rows["ref"].to_list()
    ref_lengths = np.fromiter(map(len, refs), dtype=np.int64, count=len(refs))
    matches = np.zeros(len(refs), dtype=bool)
    found: dict[int, str] = {}
    # Compare all REF alleles of one length in a single vectorized gather.
    for ref_length in np.unique(ref_lengths):
        group = np.flatnonzero(ref_lengths == ref_length)
        window = sequence[starts[group, None] + np.arange(ref_length)]
        expected = np.frombuffer("".join(refs[i] for i in group).encode("ascii"), dtype=np.uint8)
        matches[group] = (window == expected.reshape(len(group), ref_length)).all(axis=1)
        for position in np.flatnonzero(~matches[group]):
            found[int(group[position])] = window[position].tobytes().decode("ascii")
    return rows, pl.Series(matches), [found[i] for i in sorted(found)]


# How rows read become rows kept: `rows_read` = `mutations_kept` + these (a stage may add its own, e.g.
# sample_not_annotated). The VCF reader's record-level reasons (a record without ALT, a symbolic ALT, an ALT no
# sample carries) describe records that produced no row, so they are informational.
MUTATION_DROP_REASONS = ("not_default_entry_for_model", "ref_equals_alt", "chromosome_not_selected",
                         "indel_at_chromosome_start", "ref_mismatch", "duplicate")
MUTATION_RECORD_REASONS = ("no_alt_allele", "symbolic_alt", "no_sample_carries_alt")


def write_parquet(table: pl.DataFrame, path: Path) -> None:
    """Write a zstd parquet file atomically (temporary file, then rename)."""
    with atomic_file(path) as tmp:
        table.write_parquet(tmp, compression="zstd")
