"""Reading DepMap CSV, VCF and MAF mutations into one table, and checking them against a small reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from genolm.cli import main
from genolm.sources.mutations import (
    MUTATION_COLUMNS,
    attach_mutation_counts,
    read_mutations,
    read_samples,
    validate_against_reference,
)
from genolm.sources.reference import ReferenceGenome, prepare_reference
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

PYVCF_EXAMPLE = Path("/usr/share/doc/python3-vcf/test/example-4.0.vcf")  # Debian python-pyvcf-examples

_rng = np.random.default_rng(7)
CHR1 = "".join(_rng.choice(list("ACGT"), size=300))
CHR2 = "".join(_rng.choice(list("ACGT"), size=200))
CHRX = "".join(_rng.choice(list("ACGT"), size=100))


def _other(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


# The same five mutations in every format: (sample, chrom, VCF pos, VCF ref, VCF alt).
VARIANTS = [
    ("ACH-000001", "chr1", 10, CHR1[9], _other(CHR1[9])),  # SNV
    ("ACH-000001", "chr1", 20, CHR1[19:22], CHR1[19]),  # deletion of 2 bases (21-22)
    ("ACH-000001", "chr1", 50, CHR1[49:51], _other(CHR1[49]) + _other(CHR1[50])),  # MNV
    ("ACH-000002", "chr2", 30, CHR2[29], CHR2[29] + "TTG"),  # insertion after position 30
    ("ACH-000002", "chrX", 5, CHRX[4], _other(CHRX[4])),  # SNV
]
EXPECTED_TYPES = ["SNV", "deletion", "MNV", "insertion", "SNV"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> ReferenceGenome:
    directory = tmp_path_factory.mktemp("reference")
    source = directory / "source.fa"
    # Ensembl names and soft-masking in the source: prepare_reference must reconcile both.
    source.write_text(f">1\n{CHR1.lower()}\n>2\n{CHR2}\n>X\n{CHRX}\n")
    prepare_reference(source, directory / "ref.fa")
    return ReferenceGenome(directory / "ref.fa")


def _depmap_csv(path: Path, variants=VARIANTS, extra_rows: str = "") -> Path:
    lines = ["Chrom,Pos,Ref,Alt,AF,DP,VariantType,HugoSymbol,ModelID,IsDefaultEntryForModel"]
    for sample, chrom, pos, ref, alt in variants:
        lines.append(f"{chrom},{pos},{ref},{alt},0.5,30,SNV,\"GENE, with comma\",{sample},Yes")
    path.write_text("\n".join(lines) + "\n" + extra_rows)
    return path


def _vcf(path: Path, variants=VARIANTS) -> Path:
    samples = sorted({v[0] for v in VARIANTS})
    header = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=1>", "##contig=<ID=2>", "##contig=<ID=X>",
        "#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]
    body = []
    for sample, chrom, pos, ref, alt in variants:
        genotypes = ["0/1" if s == sample else "0/0" for s in samples]
        body.append("\t".join([chrom.removeprefix("chr"), str(pos), ".", ref, alt, ".", "PASS", ".", "GT", *genotypes]))
    path.write_text("\n".join(header + body) + "\n")
    return path


def _maf(path: Path, variants=VARIANTS) -> Path:
    lines = ["#version 2.4", "#a comment line",
             "Hugo_Symbol\tChromosome\tStart_Position\tEnd_Position\tVariant_Type\tReference_Allele\t"
             "Tumor_Seq_Allele1\tTumor_Seq_Allele2\tTumor_Sample_Barcode"]
    for sample, chrom, pos, ref, alt in variants:
        if len(ref) > len(alt):  # deletion: MAF drops the padding base and starts at the first deleted base
            start, maf_ref, maf_alt, kind = pos + 1, ref[1:], "-", "DEL"
        elif len(alt) > len(ref):  # insertion: MAF starts at the base before the insertion point
            start, maf_ref, maf_alt, kind = pos, "-", alt[1:], "INS"
        else:
            start, maf_ref, maf_alt, kind = pos, ref, alt, "SNP" if len(ref) == 1 else "DNP"
        end = start + max(len(maf_ref), 1) - 1 if kind != "INS" else start + 1
        lines.append(f"GENE\t{chrom}\t{start}\t{end}\t{kind}\t{maf_ref}\t{maf_ref}\t{maf_alt}\t{sample}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _validated(path: Path, reference: ReferenceGenome, fmt: str = "auto", **kwargs) -> tuple[pl.DataFrame, QCCounts]:
    qc = QCCounts("test")
    table = read_mutations(path, fmt, qc=qc)
    kwargs.setdefault("chromosomes", "all")
    return validate_against_reference(table, reference, source=path, qc=qc, **kwargs), qc


def test_every_format_gives_the_same_table(tmp_path, reference):
    expected = pl.DataFrame(
        [dict(zip(("sample", "chrom", "pos", "ref", "alt"), v), variant_type=t) for v, t in zip(VARIANTS, EXPECTED_TYPES)]
    ).sort("sample", "chrom", "pos", "ref", "alt")
    tables = {}
    for name, writer in (("depmap.csv", _depmap_csv), ("cells.vcf", _vcf), ("cells.maf", _maf)):
        table, qc = _validated(writer(tmp_path / name), reference)
        assert table.schema == pl.Schema(MUTATION_COLUMNS)
        assert qc.get("ref_mismatch") == 0
        tables[name] = table
        assert table.drop("record").equals(expected.select(table.drop("record").columns)), name
    assert tables["depmap.csv"]["record"].to_list()[0] == "line 2"
    assert tables["cells.maf"]["record"].to_list()[0] == "line 4"  # two comment lines and the header
    assert tables["cells.vcf"]["record"].to_list()[0] == "record 1"


def test_maf_indels_are_padded_only_after_validation(tmp_path, reference):
    table = read_mutations(_maf(tmp_path / "x.maf"), "maf", qc=QCCounts("t"))
    deletion = table.filter(pl.col("variant_type") == "deletion").row(0, named=True)
    assert (deletion["pos"], deletion["alt"], deletion["needs_padding"]) == (21, "", True)
    insertion = table.filter(pl.col("variant_type") == "insertion").row(0, named=True)
    assert (insertion["pos"], insertion["ref"], insertion["alt"]) == (31, "", "TTG")


def test_depmap_keeps_default_entries_only(tmp_path, reference):
    extra = f"chr1,100,{CHR1[99]},{_other(CHR1[99])},0.5,30,SNV,G,ACH-000003,No\n"
    table, qc = _validated(_depmap_csv(tmp_path / "m.csv", extra_rows=extra), reference)
    assert "ACH-000003" not in table["sample"].to_list() and table.height == len(VARIANTS)
    assert qc.get("not_default_entry_for_model") == 1


def test_real_vcf_multiallelic_split_by_genotype():
    if not PYVCF_EXAMPLE.exists():
        pytest.skip("Debian package python-pyvcf-examples not installed")
    qc = QCCounts("t")
    table = read_mutations(PYVCF_EXAMPLE, qc=qc)
    assert set(table["chrom"]) == {"chr20"}
    calls = {(r["sample"], r["pos"], r["ref"], r["alt"]) for r in table.iter_rows(named=True)}
    assert calls == {
        ("NA00002", 14370, "G", "A"), ("NA00003", 14370, "G", "A"),
        ("NA00002", 17330, "T", "A"),
        ("NA00001", 1110696, "A", "G"), ("NA00002", 1110696, "A", "G"),
        ("NA00001", 1110696, "A", "T"), ("NA00002", 1110696, "A", "T"), ("NA00003", 1110696, "A", "T"),
        ("NA00001", 1231234, "AT", "A"),
        ("NA00002", 1234567, "GTCT", "GTACT"), ("NA00003", 1234567, "GTCT", "G"),
    }
    assert table.height == len(calls)
    assert qc.get("no_alt_allele") == 1  # 20:1230237 T with ALT "."
    types = dict(zip(zip(table["pos"], table["alt"]), table["variant_type"]))
    assert types[(1231234, "A")] == "deletion" and types[(1234567, "GTACT")] == "complex"


def test_vcf_symbolic_alts_and_single_sample_without_gt(tmp_path):
    path = tmp_path / "one.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n"
        '##ALT=<ID=DEL,Description="Deletion">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tCELL1\n"
        "chr1\t5\t.\tA\t<DEL>\t.\tPASS\t.\tDP\t10\n"
        "chr1\t6\t.\tc\tt,*\t.\tPASS\t.\tDP\t10\n"
    )
    qc = QCCounts("t")
    table = read_mutations(path, qc=qc)
    assert table.select("sample", "chrom", "pos", "ref", "alt").rows() == [("CELL1", "chr1", 6, "C", "T")]
    assert qc.get("symbolic_alt", "<DEL>") == 1 and qc.get("symbolic_alt", "*") == 1


def test_ref_mismatch_counted_below_threshold_error_above(tmp_path, reference):
    wrong = _other(CHR1[149])
    bad = [("ACH-000001", "chr1", 150, wrong, CHR1[149])]
    path = _depmap_csv(tmp_path / "m.csv", VARIANTS + bad)
    table, qc = _validated(path, reference, max_ref_mismatch_fraction=0.25)
    assert table.height == len(VARIANTS) and 150 not in table["pos"].to_list()
    assert qc.get("ref_mismatch") == 1
    with pytest.raises(GenolmInputError) as error:
        _validated(path, reference, max_ref_mismatch_fraction=0.1)
    message = str(error.value)
    assert str(path) in message and "line 7 (chr1:150" in message
    assert f"REF {wrong} but the reference has {CHR1[149]}" in message


def test_unknown_chromosome_is_an_error_naming_the_record(tmp_path, reference):
    path = _depmap_csv(tmp_path / "m.csv", VARIANTS + [("ACH-000001", "chrUn_KI270302v1", 5, "A", "C")])
    with pytest.raises(GenolmInputError, match="chrUn_KI270302v1") as error:
        _validated(path, reference)
    assert "line 7" in str(error.value) and str(path) in str(error.value)


def test_chromosomes_outside_the_selection_are_counted(tmp_path, reference):
    path = _depmap_csv(tmp_path / "m.csv", VARIANTS + [("ACH-000002", "chrY", 5, "A", "C")])
    table, qc = _validated(path, reference, chromosomes="chr1,chr2")
    assert set(table["chrom"]) == {"chr1", "chr2"}
    assert qc.get("chromosome_not_selected", "chrX") == 1
    assert qc.get("chromosome_not_selected", "chrY") == 1  # a GRCh38 chromosome this reference lacks


def test_positions_beyond_the_chromosome_end(tmp_path, reference):
    path = _depmap_csv(tmp_path / "m.csv", [("ACH-000001", "chrX", 101, "A", "C")])
    with pytest.raises(GenolmInputError, match="beyond the end of chrX"):
        _validated(path, reference)
    path = _depmap_csv(tmp_path / "m2.csv", [("ACH-000001", "chrX", 99, "AAA", "A")])
    with pytest.raises(GenolmInputError, match="runs past the end of chrX") as error:
        _validated(path, reference)
    assert "line 2" in str(error.value)


def test_duplicates_are_counted_and_dropped(tmp_path, reference):
    table, qc = _validated(_depmap_csv(tmp_path / "m.csv", VARIANTS + VARIANTS[:2]), reference)
    assert table.height == len(VARIANTS) and qc.get("duplicate") == 2
    assert table["record"].to_list()[0] == "line 2"  # the first occurrence is kept


@pytest.mark.parametrize(
    "rows, message, record",
    [
        ("chr1,12x,A,C,0.5,30,SNV,G,ACH-1,Yes\n", "Pos '12x' is not a positive integer", "line 3"),
        ("chr1,12,A,<DEL>,0.5,30,SNV,G,ACH-1,Yes\n", "invalid ALT allele '<DEL>'", "line 3"),
        ("chr1,12,,C,0.5,30,SNV,G,ACH-1,Yes\n", "empty value in column Ref", "line 3"),
        ("chr1,12,A,C,0.5,30,SNV,G,ACH-1,Yes,extra,fields\n", "malformed table", "line 3"),
        ("chr1,12,A,C\n", "malformed table: 4 fields where the header has 10", "line 3"),
    ],
)
def test_malformed_depmap_rows_name_the_line(tmp_path, rows, message, record):
    path = tmp_path / "m.csv"
    path.write_text("Chrom,Pos,Ref,Alt,AF,DP,VariantType,HugoSymbol,ModelID,IsDefaultEntryForModel\n"
                    "chr1,10,A,C,0.5,30,SNV,G,ACH-1,Yes\n" + rows)
    with pytest.raises(GenolmInputError, match=message) as error:
        read_mutations(path, "depmap", qc=QCCounts("t"))
    assert str(path) in str(error.value) and record in str(error.value)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Chrom,Position,Ref,Alt,ModelID\nchr1,10,A,C,ACH-1\n")
    with pytest.raises(GenolmInputError, match="missing required column.*Pos"):
        read_mutations(path, "depmap", qc=QCCounts("t"))
    maf = _maf(tmp_path / "x.maf")
    maf.write_text(maf.read_text().replace("Tumor_Seq_Allele2", "Allele"))
    with pytest.raises(GenolmInputError, match="Tumor_Seq_Allele2"):
        read_mutations(maf, "maf", qc=QCCounts("t"))


def test_malformed_maf_line_counts_comment_lines(tmp_path):
    maf = _maf(tmp_path / "x.maf")
    maf.write_text(maf.read_text() + "GENE\tchr1\tten\t10\tSNP\tA\tA\tC\tACH-1\n")
    with pytest.raises(GenolmInputError, match="Start_Position 'ten'") as error:
        read_mutations(maf, qc=QCCounts("t"))
    assert "line 9" in str(error.value)


def _model_csv(path: Path, extra: str = "") -> Path:
    path.write_text(
        "ModelID,PatientID,CellLineName,StrippedCellLineName,OncotreeLineage,OncotreePrimaryDisease\n"
        "ACH-000001,PT-1,NCI-H1,NCIH1,Lung,Non-Small Cell Lung Cancer\n"
        "ACH-000002,PT-2,Ly-2,LY2,Lymphoid,Diffuse Large B-Cell Lymphoma\n"
        "ACH-000009,PT-9,X-9,X9,Lung,Small Cell Lung Cancer\n" + extra
    )
    return path


def test_read_samples_and_counts(tmp_path, reference):
    samples = read_samples(_model_csv(tmp_path / "Model.csv"))
    assert samples.columns == ["sample", "lineage", "primary_disease", "cell_line_name"]
    assert samples.row(0) == ("ACH-000001", "Lung", "Non-Small Cell Lung Cancer", "NCI-H1")
    mutations, _ = _validated(_depmap_csv(tmp_path / "m.csv", VARIANTS + [("ACH-777", "chr1", 10, CHR1[9], "N")]),
                              reference)
    qc = QCCounts("t")
    mutations, samples = attach_mutation_counts(mutations, samples, qc=qc)
    assert dict(zip(samples["sample"], samples["n_mutations"])) == {"ACH-000001": 3, "ACH-000002": 2, "ACH-000009": 0}
    assert qc.get("sample_not_annotated", "ACH-777") == 1 and "ACH-777" not in mutations["sample"].to_list()
    with pytest.raises(GenolmInputError, match="duplicate ModelID 'ACH-000002'"):
        read_samples(_model_csv(tmp_path / "dup.csv", "ACH-000002,PT-2,Ly-2,LY2,Lymphoid,DLBCL\n"))


def test_prepare_mutations_command(tmp_path, reference):
    mutations = _maf(tmp_path / "cells.maf")
    out_m, out_s, qc = tmp_path / "out" / "mutations.parquet", tmp_path / "out" / "samples.parquet", tmp_path / "qc.tsv"
    args = ["prepare-mutations", "--mutations", str(mutations), "--samples", str(_model_csv(tmp_path / "Model.csv")),
            "--reference", str(reference.path), "--out-mutations", str(out_m), "--out-samples", str(out_s),
            "--qc", str(qc)]
    assert main(args) == 0
    table = pl.read_parquet(out_m)
    assert table.height == 4 and set(table["chrom"]) == {"chr1", "chr2"}  # autosomes by default
    assert pl.read_parquet(out_s).filter(pl.col("sample") == "ACH-000009")["n_mutations"].to_list() == [0]
    assert "chromosome_not_selected\tchrX\t1" in qc.read_text()

    broken = tmp_path / "broken.maf"
    broken.write_text(mutations.read_text().replace("\tchr2\t", "\tchr99\t"))
    out_m.unlink()
    assert main(args[:2] + [str(broken)] + args[3:]) == 2
    assert not out_m.exists()
