"""Chromosome aliases, prepare_reference and ReferenceGenome on small hand-made FASTA files."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from genolm.cli import main
from genolm.sources.chromosomes import alias_table, canonical_name, select_chromosomes
from genolm.sources.reference import ReferenceGenome, prepare_reference
from genolm.errors import GenolmInputError


def _write(path: Path, text: str, *, compress: bool = False) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


# An Ensembl-style source: soft-masked lowercase, N runs, ragged line widths, one non-chromosome scaffold.
ENSEMBL_FASTA = (
    ">1 dna:chromosome chromosome:GRCh38:1:1:70:1 REF\n"
    "NNNNNacgtACGTAC\nGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT\nAC\n"
    ">KI270706.1 dna:scaffold\nACGTACGT\n"
    ">MT dna:chromosome\nGATCACAGGT\n"
    ">X\nttttNNNNcccc\n"
)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("chr1", "chr1"), ("1", "chr1"), ("NC_000001.11", "chr1"), ("CM000663.2", "chr1"),
        ("NC_000014.9", "chr14"), ("NC_000007.14", "chr7"), ("NC_000023.11", "chrX"), ("X", "chrX"),
        ("NC_000024.10", "chrY"), ("MT", "chrM"), ("chrM", "chrM"), ("chrMT", "chrM"), ("NC_012920.1", "chrM"),
        (">chr1  AC:CM000663.2  gi:568336023  LN:248956422  rl:Chromosome  M5:6aef  AS:GRCh38", "chr1"),
        ("NC_000001.10", None),  # GRCh37's chr1: a different sequence, not an alias
        ("chr1_KI270706v1_random", None), ("chr23", None), ("", None),
    ],
)
def test_canonical_name(name, expected):
    assert canonical_name(name) == expected


def test_alias_table_reconciles_conventions():
    table = alias_table(["NC_000001.11", "2", "chrX", "MT", "chrUn_GL000220v1"])
    assert table.columns == ["canonical", "ucsc", "ensembl", "refseq", "source_name"]
    rows = {r["source_name"]: r for r in table.iter_rows(named=True)}
    assert rows["NC_000001.11"] == {"canonical": "chr1", "ucsc": "chr1", "ensembl": "1", "refseq": "NC_000001.11",
                                    "source_name": "NC_000001.11"}
    assert rows["2"]["refseq"] == "NC_000002.12"
    assert rows["MT"]["ucsc"] == "chrM" and rows["MT"]["refseq"] == "NC_012920.1"
    assert rows["chrX"]["ensembl"] == "X"
    assert rows["chrUn_GL000220v1"]["canonical"] == "chrUn_GL000220v1" and rows["chrUn_GL000220v1"]["ucsc"] is None


def test_select_chromosomes():
    available = ["1", "2", "X", "MT", "KI270706.1"]
    assert select_chromosomes(available, "all") == available
    assert select_chromosomes(available, "autosomes") == ["1", "2"]
    assert select_chromosomes(available, ["chrX", "NC_000001.11"]) == ["1", "X"]
    assert select_chromosomes(available, "chr2,MT") == ["2", "MT"]
    with pytest.raises(GenolmInputError, match="'chr7'"):
        select_chromosomes(available, ["chr1", "chr7"])
    with pytest.raises(GenolmInputError, match="no autosomes"):
        select_chromosomes(["X", "MT"], "autosomes")


@pytest.mark.parametrize("compress", [False, True])
def test_prepare_reference_renames_uppercases_and_indexes(tmp_path, compress):
    source = _write(tmp_path / ("src.fa.gz" if compress else "src.fa"), ENSEMBL_FASTA, compress=compress)
    out = tmp_path / "ref" / "hg38.fa"
    qc = prepare_reference(source, out)
    text = out.read_text()
    assert text.startswith(">chr1\nNNNNNACGTACGTACGTACGTACGT")
    assert ">chrM\nGATCACAGGT\n" in text and ">chrX\nTTTTNNNNCCCC\n" in text and ">KI270706.1\n" in text
    assert all(len(line) <= 60 for line in text.splitlines())
    assert qc.get("chromosome_kept", "chr1") == 1

    # The .fai is written by prepare_reference itself; samtools/pyfaidx must agree with it.
    fai = Path(f"{out}.fai").read_text().splitlines()
    chr1 = "".join(ENSEMBL_FASTA.split(">")[1].splitlines()[1:]).upper()
    assert [line.split("\t")[:2] for line in fai] == [["chr1", str(len(chr1))], ["KI270706.1", "8"], ["chrM", "10"],
                                                      ["chrX", "12"]]
    genome = ReferenceGenome(out)
    assert list(genome.lengths) == ["chr1", "KI270706.1", "chrM", "chrX"]
    assert len(chr1) > 61 and genome.fetch("chr1", 0, len(chr1)) == chr1
    assert genome.fetch("1", 59, 65) == chr1[59:65]  # across the 60-column line break
    assert genome.fetch("NC_000023.11", 2, 6) == "TTNN"
    assert genome.canonical("MT") == "chrM" and genome.canonical("chr7") is None
    array = genome.array("chrX")
    assert array.dtype == np.uint8 and array.tobytes() == b"TTTTNNNNCCCC"
    assert genome.array("X") is array  # the last chromosome is cached
    genome.array("chr1")
    assert genome._cached[0] == "chr1"  # and only the last one

    aliases = pl.read_csv(Path(f"{out}.aliases.tsv"), separator="\t")
    assert aliases.filter(pl.col("source_name") == "MT")["canonical"].to_list() == ["chrM"]


def test_prepare_reference_fai_matches_samtools(tmp_path):
    samtools = subprocess.run(["which", "samtools"], capture_output=True, text=True).stdout.strip()
    if not samtools:
        pytest.skip("samtools not installed")
    out = tmp_path / "hg38.fa"
    prepare_reference(_write(tmp_path / "src.fa", ENSEMBL_FASTA), out)
    ours = Path(f"{out}.fai").read_text()
    Path(f"{out}.fai").unlink()
    subprocess.run([samtools, "faidx", str(out)], check=True)
    assert Path(f"{out}.fai").read_text() == ours


def test_prepare_reference_selects_chromosomes_and_counts_the_rest(tmp_path):
    source = _write(tmp_path / "src.fa", ENSEMBL_FASTA)
    out = tmp_path / "auto.fa"
    qc = prepare_reference(source, out, chromosomes="autosomes")
    assert list(ReferenceGenome(out).lengths) == ["chr1"]
    assert {(r["reason"], r["detail"]) for r in qc.to_frame().iter_rows(named=True)} == {
        ("sequences_read", ""), ("chromosome_kept", "chr1"), ("chromosome_not_selected", "KI270706.1"),
        ("chromosome_not_selected", "chrM"), ("chromosome_not_selected", "chrX")}
    out2 = tmp_path / "some.fa"
    prepare_reference(source, out2, chromosomes=["chrX", "NC_012920.1"])
    assert list(ReferenceGenome(out2).lengths) == ["chrM", "chrX"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is not a fasta file\n", "not a FASTA file"),
        (b"\x00\x01garbage\xff\xfe not gzip at all", "not a FASTA file"),
        (b"", "empty file"),
    ],
)
def test_prepare_reference_rejects_non_fasta(tmp_path, content, message):
    source = tmp_path / "hg38.fa.gz"
    source.write_bytes(content)
    out = tmp_path / "out.fa"
    with pytest.raises(GenolmInputError, match=message) as error:
        prepare_reference(source, out)
    assert str(source) in str(error.value)
    assert list(tmp_path.iterdir()) == [source]  # nothing half-written


def test_prepare_reference_rejects_truncated_gzip(tmp_path):
    rng = np.random.default_rng(0)
    sequence = "".join(rng.choice(list("ACGT"), size=200_000))
    data = gzip.compress((">chr1\n" + sequence + "\n").encode(), mtime=0)
    source = tmp_path / "hg38.fa.gz"
    source.write_bytes(data[: len(data) // 2])
    with pytest.raises(GenolmInputError, match="truncated") as error:
        prepare_reference(source, tmp_path / "out.fa")
    assert str(source) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hg38.fa.gz"]


@pytest.mark.parametrize(
    "fasta, message, record",
    [
        (">chr1\nACGT\n>1 duplicate in Ensembl style\nACGT\n", "duplicate sequence name 'chr1'", "line 3"),
        (">chr1\nACGT\n>chr2\n>chr3\nAC\n", "empty sequence", "'chr2'"),
        (">chr1\nACGT\nAC GT\n", "invalid character ' '", "'chr1'"),
        (">chr1\nACGT\n>chr2 second\nACGU\n", "invalid character 'U' at sequence position 4", "'chr2 second'"),
        (">\nACGT\n", "without a sequence name", "line 1"),
    ],
)
def test_prepare_reference_rejects_bad_records(tmp_path, fasta, message, record):
    source = _write(tmp_path / "src.fa", fasta)
    with pytest.raises(GenolmInputError, match=message) as error:
        prepare_reference(source, tmp_path / "out.fa")
    assert record in str(error.value) and str(source) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.fa"]


def test_prepare_reference_unknown_explicit_chromosome(tmp_path):
    source = _write(tmp_path / "src.fa", ENSEMBL_FASTA)
    with pytest.raises(GenolmInputError, match="'chr9'"):
        prepare_reference(source, tmp_path / "out.fa", chromosomes=["chr1", "chr9"])
    assert not (tmp_path / "out.fa").exists()


def test_reference_genome_rejects_plain_gzip_and_indexes_plain_fasta(tmp_path):
    gz = _write(tmp_path / "hg38.fa.gz", ">chr1\nACGT\n", compress=True)
    with pytest.raises(GenolmInputError, match="prepare-reference"):
        ReferenceGenome(gz)
    plain = _write(tmp_path / "raw.fa", ">1 extra fields\nacgtn\nac\n")
    genome = ReferenceGenome(plain)  # builds the missing .fai
    assert Path(f"{plain}.fai").exists()
    assert genome.lengths == {"chr1": 7} and genome.fetch("chr1", 0, 7) == "ACGTNAC"
    with pytest.raises(ValueError):
        genome.fetch("chr1", 5, 8)


def test_prepare_reference_command(tmp_path):
    source = _write(tmp_path / "src.fa.gz", ENSEMBL_FASTA, compress=True)
    out, qc = tmp_path / "ref.fa", tmp_path / "qc.tsv"
    assert main(["prepare-reference", "--source", str(source), "--out", str(out), "--chromosomes", "chr1,X",
                 "--qc", str(qc)]) == 0
    assert list(ReferenceGenome(out).lengths) == ["chr1", "chrX"]
    assert "chromosome_not_selected" in qc.read_text()
    bad = _write(tmp_path / "bad.fa", "nonsense\n")
    assert main(["prepare-reference", "--source", str(bad), "--out", str(tmp_path / "x.fa")]) == 2
