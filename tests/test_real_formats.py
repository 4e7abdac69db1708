"""The public formats as they really are (issue #15), pinned on the fixtures in tests/fixtures/real_formats/.

Each fixture folder's README says which lines are real rows of a public copy and which are reconstructed.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from http_mirror import Fault, http_mirror  # noqa: F401  (http_mirror is a fixture)

from conftest import run_genolm
from genolm.config import archive_limits
from genolm.errors import GenolmInputError
from genolm.sources.benchmarks import read_genomic_benchmark
from genolm.sources.checksums import parse_checksum_listing
from genolm.sources.download import ZipLimits, download
from genolm.sources.mito import extract_12s, read_annotation_table
from genolm.sources.viral import phage_label, prepare_viral, read_virushostdb

FIXTURES = Path(__file__).parent / "fixtures" / "real_formats"
FAST = {"timeout": 1.0, "backoff": 0.0, "progress": False}
ZIP_LIMITS = ZipLimits(**archive_limits())  # the schema's defaults, as the CLI uses them
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _revcomp(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


def _qc(qc) -> dict[tuple[str, str], int]:
    return {(r["reason"], r["detail"]): r["count"] for r in qc.to_frame().iter_rows(named=True)}


# --- MitoFish annotation tables --------------------------------------------------------------------------


def _mitofish_zips(tmp_path: Path, members: list[str]) -> tuple[Path, Path]:
    genomes, annotations = tmp_path / "complete_partial_mitogenomes.zip", tmp_path / "mitoannotations.zip"
    with zipfile.ZipFile(genomes, "w") as archive:
        archive.write(FIXTURES / "mitofish/genomes.fa", "complete_partial_mitogenomes.fa")
    with zipfile.ZipFile(annotations, "w") as archive:
        for name in members:
            archive.write(FIXTURES / "mitofish" / name, name)
    return genomes, annotations


def _fixture_genomes() -> dict[str, str]:
    lines = (FIXTURES / "mitofish/genomes.fa").read_text().split("\n")
    return {"ZZ000201": lines[1], "ZZ000202": lines[3], "ZZ000203": lines[5]}


@pytest.mark.parametrize("member", ["ZZ000201.txt", "ZZ000201.NCBI.txt"])
def test_mitofish_annotation_table_flavours_give_the_12s_coordinates(tmp_path, member):
    genomes, annotations = _mitofish_zips(tmp_path, [member])
    qc = extract_12s([], [genomes], [annotations], tmp_path / "12s.parquet", zip_limits=ZIP_LIMITS)
    table = pl.read_parquet(tmp_path / "12s.parquet")
    row = table.row(0, named=True)
    assert table.height == 1 and row["accession"] == "ZZ000201" and row["species"] == "Danio rerio"
    # 12S at 9..28 (1-based, inclusive) -> [8, 28) of the genome in the FASTA zip
    assert (row["start"], row["end"], row["strand"]) == (8, 28, 1)
    assert row["sequence"] == _fixture_genomes()["ZZ000201"][8:28]
    flavour = "ddbj" if member.endswith(".txt") and ".NCBI" not in member else "ncbi_feature_table"
    assert _qc(qc)[(f"annotation_table_used_{flavour}", "mitofish")] == 1
    assert ("annotation_member_not_recognised", member) not in _qc(qc)


def test_mitofish_zip_of_tables_counts_every_genome(tmp_path):
    members = ["ZZ000201.NCBI.txt", "ZZ000201.txt", "ZZ000202.NCBI.txt", "ZZ000203.txt"]
    genomes, annotations = _mitofish_zips(tmp_path, members)
    with zipfile.ZipFile(annotations, "a") as archive:
        archive.writestr("ZZ000201.pdf", b"%PDF-1.4 not a table")
    qc = _qc(extract_12s([], [genomes], [annotations], tmp_path / "12s.parquet", zip_limits=ZIP_LIMITS))
    rows = {r["accession"]: r for r in pl.read_parquet(tmp_path / "12s.parquet").iter_rows(named=True)}
    assert set(rows) == {"ZZ000201", "ZZ000202"}
    minus = rows["ZZ000202"]  # `52 >31 rRNA`: minus strand, 3' end partial
    assert (minus["start"], minus["end"], minus["strand"], minus["partial"]) == (30, 52, -1, True)
    assert minus["sequence"] == _revcomp(_fixture_genomes()["ZZ000202"][30:52])
    assert minus["species"] == "Salmo salar"
    # The DDBJ-layout `.txt` is read first; its `.NCBI.txt` twin is counted, not read again.
    assert qc[("annotation_table_used_ddbj", "mitofish")] == 1
    assert qc[("annotation_table_second_for_genome", "mitofish")] == 1
    assert qc[("no_12s_rrna_not_named_12s", "mitofish")] == 1  # ZZ000203: only a 16S
    assert qc[("annotation_member_not_recognised", "ZZ000201.pdf")] == 1
    assert qc[("mitofish_genomes", "mitofish")] == 3
    assert qc[("no_12s_no_annotation", "mitofish")] == 0
    # input genomes = 12S rows + every counted reason
    assert qc[("mitofish_genomes", "mitofish")] == qc[("12s_extracted", "mitofish")] + \
        qc[("no_12s_rrna_not_named_12s", "mitofish")] + qc[("no_12s_no_annotation", "mitofish")]


def test_mitofish_table_without_its_genome_and_genome_without_table_are_counted(tmp_path):
    genomes, annotations = _mitofish_zips(tmp_path, ["ZZ000201.txt"])
    (tmp_path / "ZZ000299.txt").write_text((FIXTURES / "mitofish/ZZ000201.txt").read_text().replace(
        "ZZ000201", "ZZ000299"))
    with zipfile.ZipFile(annotations, "a") as archive:
        archive.write(tmp_path / "ZZ000299.txt", "ZZ000299.txt")
    qc = _qc(extract_12s([], [genomes], [annotations], tmp_path / "12s.parquet", zip_limits=ZIP_LIMITS))
    assert qc[("no_12s_annotation_without_genome", "mitofish")] == 1
    assert qc[("no_12s_no_annotation", "mitofish")] == 2  # ZZ000202 and ZZ000203 have no table here


def test_mitofish_table_with_an_unreadable_location_names_the_member(tmp_path):
    bad = tmp_path / "ZZ000201.txt"
    bad.write_text((FIXTURES / "mitofish/ZZ000201.txt").read_text().replace("9..28", "9..28)("))
    expected = r"mitoannotations.zip, ZZ000201.txt: line 7: location '9..28\)\(' cannot be read"
    with pytest.raises(GenolmInputError, match=expected):
        read_annotation_table(bad, "mitoannotations.zip")


# Real lines of a MitoAnnotator table (the program whose tables MitoFish distributes) and of the NCBI feature table
# that public code made from it, with the real genome (tests/fixtures/real_formats/mitofish/README.md).
_THY10_ACCESSION = "ZZ000310"  # the tables name the sample `Thy10`, not an accession; the zip member names it
_MIFISH_SITES = ("GTAAAACTCGTGCCAGC", "CAAACTGGGATTAGATACCCCACTATG")  # MiFish-U forward; reverse, complemented


def _thy10_genome() -> str:
    return "".join((FIXTURES / "mitofish/Thy10.fa").read_text().split("\n")[1:])


@pytest.mark.parametrize("fixture, member", [("Thy10.txt", f"{_THY10_ACCESSION}.txt"),
                                             ("Thy10.tbl", f"{_THY10_ACCESSION}.NCBI.txt")])
def test_mitoannotator_real_table_gives_the_real_12s(tmp_path, fixture, member):
    genomes, annotations = tmp_path / "genomes.zip", tmp_path / "mitoannotations.zip"
    with zipfile.ZipFile(genomes, "w") as archive:
        archive.writestr("complete_partial_mitogenomes.fa", f">gb|{_THY10_ACCESSION}|Thy10\n{_thy10_genome()}\n")
    with zipfile.ZipFile(annotations, "w") as archive:
        archive.write(FIXTURES / "mitofish" / fixture, member)
    qc = _qc(extract_12s([], [genomes], [annotations], tmp_path / "12s.parquet", zip_limits=ZIP_LIMITS))
    row = pl.read_parquet(tmp_path / "12s.parquet").row(0, named=True)
    # `rRNA 69..1014 product 12S rRNA` / `69 1014 rRNA`: 946 bases holding both MiFish primer sites
    assert (row["start"], row["end"], row["strand"], row["length"]) == (68, 1014, 1, 946)
    assert row["sequence"] == _thy10_genome()[68:1014] and all(site in row["sequence"] for site in _MIFISH_SITES)
    assert row["species"] == ("Thy10" if fixture.endswith(".txt") else None)  # only the .txt names an organism
    assert qc[("12s_extracted", "mitofish")] == 1


def test_mitoannotator_both_flavours_read_the_same_features():
    ddbj = read_annotation_table(FIXTURES / "mitofish/Thy10.txt", "fixture")
    table = read_annotation_table(FIXTURES / "mitofish/Thy10.tbl", "fixture")
    assert (ddbj.flavour, table.flavour) == ("ddbj", "ncbi_feature_table")

    def located(features):
        return {(f.type, f.qualifiers.get("product", [""])[0]): (int(f.location.start), int(f.location.end),
                                                                 f.location.strand) for f in features}

    # `complement(3893..3963)` in one, `3963 3893` in the other: the same minus-strand tRNA
    assert located(ddbj.features)[("tRNA", "tRNA-Gln")] == (3892, 3963, -1)
    shared = {key: value for key, value in located(ddbj.features).items() if key[0] != "source"}
    assert shared == {key: value for key, value in located(table.features).items() if key[0] != "gene"}
    # a MitoAnnotator table of a user's genome names a sample, not an accession
    assert ddbj.accession is None and table.accession is None and ddbj.organism == "Thy10"


def test_mitoannotator_table_named_by_sample_is_counted_not_guessed(tmp_path):
    genomes, annotations = tmp_path / "genomes.zip", tmp_path / "mitoannotations.zip"
    with zipfile.ZipFile(genomes, "w") as archive:
        archive.writestr("complete_partial_mitogenomes.fa", f">gb|{_THY10_ACCESSION}|Thy10\n{_thy10_genome()}\n")
    with zipfile.ZipFile(annotations, "w") as archive:
        archive.write(FIXTURES / "mitofish/Thy10.txt", "Thy10.txt")
    qc = _qc(extract_12s([], [genomes], [annotations], tmp_path / "12s.parquet", zip_limits=ZIP_LIMITS))
    assert qc[("annotation_table_without_accession", "Thy10.txt")] == 1
    assert qc[("no_12s_no_annotation", "mitofish")] == 1 and pl.read_parquet(tmp_path / "12s.parquet").height == 0


def test_demo_mirror_mitofish_is_annotation_tables_and_gives_12s_rows(tmp_path):
    mirror = FIXTURES.parents[2] / "data/demo/mirror/mitofish"
    with zipfile.ZipFile(mirror / "mitoannotations.zip") as archive:
        names = archive.namelist()
    assert names and all(n.endswith(".txt") for n in names) and any(n.endswith(".NCBI.txt") for n in names)
    qc = _qc(extract_12s([], [mirror / "complete_partial_mitogenomes.zip"], [mirror / "mitoannotations.zip"],
                         tmp_path / "12s.parquet", zip_limits=ZIP_LIMITS))
    table = pl.read_parquet(tmp_path / "12s.parquet")
    assert table["accession"].to_list() == ["ZZ000101", "ZZ000102"] and qc[("12s_extracted", "mitofish")] == 2
    assert table["length"].to_list() == [954, 954] and table["strand"].to_list() == [1, -1]


# --- Virus-Host DB ---------------------------------------------------------------------------------------
# Every fixture row is a real row of a public copy (tests/fixtures/real_formats/virushostdb/README.md); only the
# genome sequences below are stand-ins, written under the real accessions those rows list.

_VIRAL_GENOMES = {
    "NC_001416.1": "Escherichia virus Lambda",  # host E. coli
    "NC_009452.1": "Acidianus bottle-shaped virus",  # host an archaeon
    "NC_010314.1": "Abaca bunchy top virus segment 1",  # two Musa hosts; one of six segments
    "NC_010315.1": "Abaca bunchy top virus segment 2",
    "NC_030472.1": "Chimpanzee faeces associated microphage 1",  # host 1 / root only
    "NC_026582.1": "uncultured phage WW-nAnB",  # host 1 / root only, named "phage"
    "NC_007655.1": "Bitter gourd leaf curl betasatellite",  # root and a plant
    "NC_004421.1": "Aichivirus B",  # older copy: no host at all; newer: Bos taurus
    "NC_024907.1": "Ancient caribou feces associated virus",  # older: root only; newer: root and a plant
    "KF787094.1": "Achromobacter phage JWDelta",  # listed under a GenBank accession only
    "HE956707.1": "Yersinia phage phiR8-01",  # older: a bacterium and an insect genus both named Yersinia
    "NC_001422.1": "Escherichia phage phiX174",  # not in the fixture: the name rule
    "NC_001802.1": "Human immunodeficiency virus 1",  # not in the fixture, not a phage name
}


def _viral_fasta(tmp_path: Path) -> Path:
    path = tmp_path / "viral.1.1.genomic.fna"
    path.write_text("".join(f">{accession} {name}, complete genome\nACGTACGT\n"
                            for accession, name in _VIRAL_GENOMES.items()))
    return path


# accession -> is_phage per copy; the outcomes the QC table must count
_OLDER = {"NC_001416.1": True, "NC_009452.1": True, "NC_010314.1": False, "NC_010315.1": False,
          "NC_030472.1": None, "NC_026582.1": None, "NC_007655.1": False, "NC_004421.1": None,
          "NC_024907.1": None, "KF787094.1": True, "HE956707.1": None, "NC_001422.1": True, "NC_001802.1": None}
_NEWER = {**_OLDER, "NC_004421.1": False, "NC_024907.1": False, "HE956707.1": True}
_OUTCOMES = {
    "older": {"labelled_by_host": 6, "unlabelled_host_unknown": 3, "unlabelled_no_host_listed": 1,
              "unlabelled_mixed_hosts": 1, "labelled_by_name_rule": 1, "unlabelled_no_host_information": 1},
    "newer": {"labelled_by_host": 9, "unlabelled_host_unknown": 2, "unlabelled_no_host_listed": 0,
              "unlabelled_mixed_hosts": 0, "labelled_by_name_rule": 1, "unlabelled_no_host_information": 1},
}


@pytest.mark.parametrize("copy, expected", [("older", _OLDER), ("newer", _NEWER)])
def test_virushostdb_real_rows_label_and_count_every_genome(tmp_path, copy, expected):
    qc = prepare_viral([_viral_fasta(tmp_path)], [], FIXTURES / f"virushostdb/virushostdb_{copy}.tsv",
                       tmp_path / "genomes.parquet", tmp_path / "labels.parquet")
    labels = {r["accession"]: r for r in pl.read_parquet(tmp_path / "labels.parquet").iter_rows(named=True)}
    assert {accession: row["is_phage"] for accession, row in labels.items()} == expected
    # host tax id 1 / root / empty lineage says nothing, even for a virus named "phage": not the name rule
    assert labels["NC_026582.1"]["label_source"] == "virushostdb" and labels["NC_026582.1"]["host_taxids"] == [1]
    assert labels["NC_001422.1"]["label_source"] == "name"
    assert labels["NC_010314.1"]["genome_id"] == labels["NC_010315.1"]["genome_id"] == "taxid:438782"
    counts = _qc(qc)
    assert counts[("virushostdb_rows", "")] == {"older": 16, "newer": 17}[copy]
    assert counts[("virushostdb_rows_host_unknown", "")] == 6
    # JF801956 (mamavirus), KF787094 and HE956707: a RefSeq header cannot match them, a GenBank one can
    assert counts[("virushostdb_viruses_genbank_accessions_only", "")] == 3
    assert {reason: counts.get((reason, ""), 0) for reason in _OUTCOMES[copy]} == _OUTCOMES[copy]
    # input genomes = labelled + every counted unlabelled reason, and nothing is counted twice
    unlabelled = [r for (r, _), n in counts.items() if r.startswith("unlabelled_") and n]
    assert counts[("genomes", "")] == len(_VIRAL_GENOMES) == counts[("phage", "")] + \
        counts[("other_virus", "")] + counts[("unlabelled", "")]
    assert counts[("unlabelled", "")] == sum(counts[(r, "")] for r in unlabelled)


def test_virushostdb_newer_columns_are_read_past(tmp_path):
    older = read_virushostdb(FIXTURES / "virushostdb/virushostdb_older.tsv")
    newer = read_virushostdb(FIXTURES / "virushostdb/virushostdb_newer.tsv")
    # the same virus in both copies: the 14-column rows give the same hosts as the 12-column ones
    assert newer["NC_023556"]["hosts"] == older["NC_023556"]["hosts"]
    assert newer["NC_024907"]["hosts"][1] == (1, "root", "")  # `sample type` / `source organism` not read
    assert older["NC_004421"]["hosts"] == {}  # a row with no host fields at all


def test_virushostdb_copy_with_quoted_lineages_reads_like_the_plain_one():
    # a public copy whose lineage fields are wrapped in double quotes (saved through a spreadsheet or similar)
    quoted = read_virushostdb(FIXTURES / "virushostdb/virushostdb_quoted.tsv")
    plain = read_virushostdb(FIXTURES / "virushostdb/virushostdb_older.tsv")
    for accession in ("NC_010314", "NC_023556", "NC_024907"):
        assert quoted[accession] == plain[accession]
    # Hepatitis delta virus lists a virus (HBV) as a host: not prokaryotic, so never a phage
    hosts = quoted["NC_001653"]["hosts"]
    assert hosts[10407][2].startswith("Viruses;") and phage_label([h[2] for h in hosts.values()]) is False


def test_virushostdb_copy_without_its_header_is_refused(tmp_path):
    # one public copy carries the real rows without the header line: columns cannot be found by name
    headless = tmp_path / "virushostdb.tsv"
    headless.write_text("".join((FIXTURES / "virushostdb/virushostdb_newer.tsv").read_text().splitlines(True)[1:]))
    with pytest.raises(GenolmInputError, match="no header line"):
        read_virushostdb(headless)


def test_unknown_host_viruses_stay_out_of_virbert_labelled_sets(tmp_path):
    from genolm.qc import QCCounts
    from genolm.studies.virbert.genomes import viral_dataset

    prepare_viral([_viral_fasta(tmp_path)], [], FIXTURES / "virushostdb/virushostdb_newer.tsv",
                  tmp_path / "genomes.parquet", tmp_path / "labels.parquet")
    qc = QCCounts("virbert")
    table = viral_dataset(tmp_path / "genomes.parquet", tmp_path / "labels.parquet", qc)
    kept = table["accession"].to_list()
    assert "NC_026582.1" not in kept and "NC_030472.1" not in kept and "NC_001416.1" in kept
    assert qc.get("dropped_unlabelled", "viral_dataset") == sum(v is None for v in _NEWER.values()) == 3


# --- Genomic Benchmarks ----------------------------------------------------------------------------------


def _stand_in(path: Path, lengths: dict[str, int], seed: int) -> Path:
    """A random genome (or transcript set) long enough for the fixture rows; one line per record."""
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "w") as handle:
        for name, length in lengths.items():
            handle.write(f">{name}\n{bases[rng.integers(0, 4, length)].tobytes().decode()}\n")
    return path


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("stand_ins")
    human = {"chr1": 1_080_000, "chr2": 944_000, "chr3": 611_000, "chr5": 1_426_000, "chr6": 1_376_000,
             "chr9": 667_000, "chr10": 228_000, "chr17": 1_231_000, "chr20": 1_062_000, "chrX": 1_100_000}
    worm = {"I": 1_253_000, "IV": 348_000, "X": 1_094_000}
    cdna = {"ENST00000217185.7": 500, "ENST00000367051.6": 5000, "ENST00000360507.10": 900,
            "ENST00000371014.3": 1000, "ENST00000372073.5": 400, "ENST00000434929.1": 300, "ENST00000999999.1": 50}
    return {"human": _stand_in(out / "human.fa", human, 1), "worm": _stand_in(out / "worm.fa", worm, 2),
            "cdna": _stand_in(out / "cdna.fa", cdna, 3)}


def _fasta_dict(path: Path) -> dict[str, str]:
    lines = path.read_text().split("\n")
    return {lines[i][1:]: lines[i + 1] for i in range(0, len(lines) - 1, 2)}


def _table_rows(dataset: str, name: str) -> list[list[str]]:
    text = gzip.decompress((FIXTURES / "genomic_benchmarks" / dataset / f"{name}.csv.gz").read_bytes()).decode()
    return [line.split(",") for line in text.splitlines()[1:]]


def test_empty_strand_is_read_forward(stand_ins):
    table, qc = read_genomic_benchmark(FIXTURES / "genomic_benchmarks/human_ocr_ensembl", stand_ins["human"])
    human = _fasta_dict(stand_ins["human"])
    row = _table_rows("human_ocr_ensembl", "train/positive")[0]
    assert row[4] == ""  # the real row has no strand
    got = table.filter((pl.col("class_name") == "positive") & (pl.col("id") == row[0]))["sequence"].item()
    assert got == human[row[1]][int(row[2]):int(row[3])]  # 0-based, end exclusive, forward
    assert qc.total("strand_empty_read_forward") == 4 and table.height == 8


def _plain_copy(tmp_path: Path, dataset: str) -> Path:
    """The dataset with its interval tables decompressed (`.csv`), which the reader accepts too."""
    copy = tmp_path / dataset
    shutil.copytree(FIXTURES / "genomic_benchmarks" / dataset, copy)
    for table in copy.glob("*/*.csv.gz"):
        table.with_suffix("").write_bytes(gzip.decompress(table.read_bytes()))
        table.unlink()
    return copy


def test_a_missing_strand_field_is_not_an_empty_strand(stand_ins, tmp_path):
    root = _plain_copy(tmp_path, "human_ocr_ensembl")
    table = root / "train/positive.csv"
    lines = table.read_text().splitlines()
    assert lines[1].endswith(",")  # the real row: an empty strand field
    table.write_text("\n".join([lines[0], lines[1].removesuffix(",")] + lines[2:]) + "\n")  # the field is gone
    with pytest.raises(GenolmInputError, match=r"positive.csv: line 2: 4 fields where the header has 5"):
        read_genomic_benchmark(root, stand_ins["human"])


def test_interval_tables_cut_short_are_refused(stand_ins, tmp_path):
    root = _plain_copy(tmp_path, "human_ocr_ensembl")
    table = root / "train/positive.csv"
    table.write_text(table.read_text()[:-3])  # inside the last row's end coordinate, no line end
    with pytest.raises(GenolmInputError, match=r"positive.csv: line \d+: the last line has no line end"):
        read_genomic_benchmark(root, stand_ins["human"])
    packed = FIXTURES / "genomic_benchmarks/human_ocr_ensembl/train/positive.csv.gz"
    table.unlink()
    (root / "train/positive.csv.gz").write_bytes(packed.read_bytes()[:-6])  # gzip without its length
    with pytest.raises(GenolmInputError, match=r"positive.csv.gz: cannot be read to its end"):
        read_genomic_benchmark(root, stand_ins["human"])


def test_each_class_is_cut_from_its_own_reference(stand_ins):
    root = FIXTURES / "genomic_benchmarks/demo_human_or_worm"
    table, qc = read_genomic_benchmark(root, references={
        "Homo_sapiens.GRCh38.dna.toplevel.fa.gz": stand_ins["human"],
        "Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz": stand_ins["worm"]})
    worm, human = _fasta_dict(stand_ins["worm"]), _fasta_dict(stand_ins["human"])
    for split, row in [("train", r) for r in _table_rows("demo_human_or_worm", "train/worm")]:
        got = table.filter((pl.col("split") == split) & (pl.col("class_name") == "worm") & (pl.col("id") == row[0]))
        expected = worm[row[1]][int(row[2]):int(row[3])]
        assert got["sequence"].item() == (_revcomp(expected) if row[4] == "-" else expected)
        if row[1] == "X":  # worm X is not human chrX
            assert got["sequence"].item() != human["chrX"][int(row[2]):int(row[3])]
    assert table.group_by("class_name").len().sort("class_name")["len"].to_list() == [5, 5]
    assert dict(zip(table["class_name"], table["label"])) == {"human": 0, "worm": 1}
    assert qc.get("class_label", "0=human") == 5 and qc.get("class_label", "1=worm") == 5


def test_a_class_whose_reference_is_not_configured_is_an_error_naming_it(stand_ins):
    root = FIXTURES / "genomic_benchmarks/demo_human_or_worm"
    with pytest.raises(GenolmInputError, match=r"class 'worm' is cut from Caenorhabditis_elegans\.WBcel235"):
        read_genomic_benchmark(root, references={"Homo_sapiens.GRCh38.dna.toplevel.fa.gz": stand_ins["human"]})
    # one --reference cannot serve a dataset whose classes name two references (worm rows would become human)
    with pytest.raises(GenolmInputError, match=r"class 'human' .*names 2 references"):
        read_genomic_benchmark(root, stand_ins["human"])
    # the wrong genome for a class: none of its regions exist there
    with pytest.raises(GenolmInputError, match=r"worm.csv.gz: none of its 3 regions .*wrong reference"):
        read_genomic_benchmark(root, references={"Homo_sapiens.GRCh38.dna.toplevel.fa.gz": stand_ins["human"],
                                                 "Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz":
                                                     _stand_in(stand_ins["worm"].with_name("v.fa"), {"V": 10}, 4)})


def test_transcript_id_regions_come_from_the_cdna(stand_ins, tmp_path):
    root = FIXTURES / "genomic_benchmarks/demo_coding_vs_intergenomic_seqs"
    cdna = tmp_path / "Homo_sapiens.GRCh38.cdna.all.fa.gz"
    cdna.write_bytes(gzip.compress(stand_ins["cdna"].read_bytes()))
    table, qc = read_genomic_benchmark(root, references={"Homo_sapiens.GRCh38.dna.toplevel.fa.gz": stand_ins["human"]},
                                       transcripts={"Homo_sapiens.GRCh38.cdna.all.fa.gz": cdna})
    transcripts = {name.split(".")[0]: seq for name, seq in _fasta_dict(stand_ins["cdna"]).items()}
    row = _table_rows("demo_coding_vs_intergenomic_seqs", "train/coding_seqs")[1]  # ENST00000367051,4701,4901
    got = table.filter((pl.col("class_name") == "coding_seqs") & (pl.col("id") == row[0]))["sequence"].item()
    assert got == transcripts[row[1]][int(row[2]):int(row[3])]
    assert table.filter(pl.col("class_name") == "coding_seqs").height == 6  # the class does not disappear
    with pytest.raises(GenolmInputError, match=r"class 'coding_seqs' is cut from Homo_sapiens\.GRCh38\.cdna"):
        read_genomic_benchmark(root, references={"Homo_sapiens.GRCh38.dna.toplevel.fa.gz": stand_ins["human"]})


def test_prepare_benchmark_command_maps_references(stand_ins, tmp_path):
    root = FIXTURES / "genomic_benchmarks/demo_human_or_worm"
    run_genolm("prepare-benchmark", "--format", "genomic-benchmarks", "--input", str(root),
               "--reference-for", f"Homo_sapiens.GRCh38.dna.toplevel.fa.gz={stand_ins['human']}",
               "--reference-for", f"Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz={stand_ins['worm']}",
               "--out", str(tmp_path / "b.parquet"), "--qc", str(tmp_path / "qc.tsv"))
    assert pl.read_parquet(tmp_path / "b.parquet").height == 10
    qc = pl.read_csv(tmp_path / "qc.tsv", separator="\t")
    assert qc.filter(pl.col("reason") == "class_label")["detail"].to_list() == ["0=human", "1=worm"]


# --- RefSeq release catalogues ---------------------------------------------------------------------------


def test_release_catalogue_any_whitespace_md5_and_crc():
    text = (FIXTURES / "refseq_release_catalog/release-md5.files.installed").read_text()
    entries = parse_checksum_listing(text, "release-md5.files.installed")
    assert set(entries) == {"viral.1.1.genomic.fna.gz", "viral.2.1.genomic.fna.gz", "viral.1.genomic.gbff.gz"}
    assert {algorithm for algorithm, _ in entries.values()} == {"md5"}
    old = parse_checksum_listing((FIXTURES / "refseq_release_catalog/release-crc.files.installed").read_text(), "L")
    assert old == {"viral.1.1.genomic.fna.gz": ("crc", "2873468385"), "viral.2.1.genomic.fna.gz": ("crc", "104837265")}


@pytest.mark.parametrize("catalogue, verified", [("release-md5.files.installed", True),
                                                 ("release-crc.files.installed", False)])
def test_release_files_download_against_either_catalogue(http_mirror, tmp_path, catalogue, verified):
    name = "viral.2.1.genomic.fna.gz"
    data = gzip.compress(f">{name}\nACGT\n".encode(), mtime=0)
    (http_mirror.root / name).write_bytes(data)
    shutil.copy(FIXTURES / "refseq_release_catalog" / catalogue, http_mirror.root / catalogue)
    record = download(http_mirror.url(name), tmp_path / name, checksum_listing=http_mirror.url(catalogue),
                      expect="gzip", **FAST)
    assert record.verified is verified and record.checksum == hashlib.md5(data).hexdigest()
    (http_mirror.root / "viral.3.1.genomic.fna.gz").write_bytes(data)  # not in either catalogue
    with pytest.raises(GenolmInputError, match="no checksum listed for 'viral.3.1.genomic.fna.gz'"):
        download(http_mirror.url("viral.3.1.genomic.fna.gz"), tmp_path / "v3.gz",
                 checksum_listing=http_mirror.url(catalogue), expect="gzip", **FAST)


# --- DepMap: the catalogue answers with a browser challenge ----------------------------------------------


def test_depmap_challenge_page_says_how_to_go_on(http_mirror, tmp_path):
    placed = tmp_path / "Model.csv"
    placed.write_text("ModelID,CellLineName\nACH-000001,DEMO\n")
    (http_mirror.root / "files").write_text("unused")
    http_mirror.fault("files", Fault(html=True))
    with pytest.raises(GenolmInputError) as error:
        download(str(placed), tmp_path / "dl" / "Model.csv", checksum_listing=http_mirror.url("files"),
                 listing_name="DepMap Public 25Q3/Model.csv", expect="text", **FAST)
    message = str(error.value)
    assert "HTML page instead of a checksum listing" in message
    assert "save it there and give the saved file's path as checksum_listing" in message and "md5" in message
    assert not (tmp_path / "dl" / "Model.csv").exists()
    # Both ways forward work: the listing saved by hand, and the md5 given directly.
    md5 = hashlib.md5(placed.read_bytes()).hexdigest()
    saved = tmp_path / "depmap_files.csv"
    saved.write_text(f"release,release_date,filename,url,md5_hash\nDepMap Public 25Q3,2025-09-30,Model.csv,,{md5}\n")
    assert download(str(placed), tmp_path / "a" / "Model.csv", checksum_listing=str(saved),
                    listing_name="DepMap Public 25Q3/Model.csv", expect="text", **FAST).verified
    assert download(str(placed), tmp_path / "b" / "Model.csv", checksum=md5, expect="text", **FAST).verified
