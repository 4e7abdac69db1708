"""Every multi-species source downloaded, verified and parsed from the demo mirror served over loopback HTTP,
in the real layouts, plus the hostile answers each source can give."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import polars as pl
import pytest
from http_mirror import Fault, HttpMirror, http_mirror  # noqa: F401  (http_mirror is a fixture)

from conftest import DEMO_MIRROR, have, run_genolm
from genolm.sources.bgzf import BgzfWriter, read_gzi, read_range
from genolm.sources.download import download
from genolm.sources.mito import is_12s, parse_mitofish_header
from genolm.sources.reference import ReferenceGenome, prepare_reference
from genolm.sources.refseq import Selection, read_assembly_report, read_assembly_summary, select_assemblies
from genolm.sources.release import names_in_listing, read_manifest
from genolm.errors import GenolmInputError

NCBI = "https://ftp.ncbi.nlm.nih.gov/genomes/"
HUMAN_12S_START = "AATAGGTTTGGTCCTAGCCTTTCTATTAGCTCTTAGTAAG"  # MT-RNR1 at rCRS 648


def _serve_mirror(mirror: HttpMirror, *parts: str) -> None:
    for part in parts:
        shutil.copytree(DEMO_MIRROR / part, mirror.root / part)


def _genolm_fails(*args: str) -> str:
    result = run_genolm(*args, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    return result.stderr


# --- BGZF ------------------------------------------------------------------------------------------------


def test_bgzf_writer_matches_bgzip_index_and_reads_back(tmp_path):
    data = bytes(range(256)) * 1000  # spans several 64 KiB blocks
    path = tmp_path / "x.gz"
    with open(path, "wb") as handle:
        writer = BgzfWriter(handle)
        writer.write(data[:5])
        writer.write(data[5:])
        writer.close()
    (tmp_path / "x.gz.gzi").write_bytes(writer.gzi_bytes())
    assert gzip.decompress(path.read_bytes()) == data
    blocks = read_gzi(tmp_path / "x.gz.gzi")
    assert len(blocks) == 4
    for start, length in ((0, 10), (65_270, 30), (100_000, 150_000), (len(data) - 1, 1)):
        assert read_range(path, blocks, start, length) == data[start:start + length]
    if have("bgzip"):
        shutil.copy(path, tmp_path / "y.gz")
        subprocess.run(["bgzip", "-r", str(tmp_path / "y.gz")], check=True)
        assert (tmp_path / "y.gz.gzi").read_bytes() == (tmp_path / "x.gz.gzi").read_bytes()


def test_bgzip_reference_reads_like_the_plain_one(tmp_path):
    source = DEMO_MIRROR / "goldenPath/hg38/bigZips/hg38.fa.gz"
    prepare_reference(source, tmp_path / "plain.fa", chromosomes="chr17,chrM")
    prepare_reference(source, tmp_path / "packed.fa.gz", chromosomes="chr17,chrM")
    assert (tmp_path / "packed.fa.gz.fai").read_text() == (tmp_path / "plain.fa.fai").read_text()
    plain, packed = ReferenceGenome(tmp_path / "plain.fa"), ReferenceGenome(tmp_path / "packed.fa.gz")
    for chrom in ("chr17", "chrM"):
        assert (plain.array(chrom) == packed.array(chrom)).all()
        assert packed.fetch(chrom, 1000, 1100) == plain.fetch(chrom, 1000, 1100)
    if have("samtools"):
        out = subprocess.run(["samtools", "faidx", str(tmp_path / "packed.fa.gz"), "chrM:1-12"], check=True,
                             capture_output=True, text=True).stdout
        assert out.split("\n")[1] == "GATCACAGGTCT"


# --- GRCh38 flavours -------------------------------------------------------------------------------------


def _hg38_records() -> dict[str, str]:
    records, name = {}, None
    with gzip.open(DEMO_MIRROR / "goldenPath/hg38/bigZips/hg38.fa.gz", "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].strip()
                records[name] = []
            else:
                records[name].append(line.strip())
    return {k: "".join(v) for k, v in records.items() if k in ("chr17", "chrM")}


def test_ncbi_analysis_set_flavour(http_mirror, tmp_path):
    """md5checksums.txt with './' names; deflines with extra fields after the UCSC-style name."""
    records = _hg38_records()
    text = "".join(f">{n}  AC:XX  LN:{len(s)}  rl:Chromosome  M5:0  AS:GRCh38\n{s}\n" for n, s in records.items())
    data = gzip.compress(text.encode(), mtime=0)
    name = "GCA_000001405.15_GRCh38_no_alt_analysis_set.fna.gz"
    directory = http_mirror.root / "seqs_for_alignment_pipelines.ucsc_ids"
    directory.mkdir()
    (directory / name).write_bytes(data)
    (directory / "md5checksums.txt").write_text(f"{'0' * 32}  ./other.fna.gz\n{hashlib.md5(data).hexdigest()}  ./{name}\n")
    dest = tmp_path / name
    download(http_mirror.url(f"seqs_for_alignment_pipelines.ucsc_ids/{name}"), dest,
             checksum_listing=http_mirror.url("seqs_for_alignment_pipelines.ucsc_ids/md5checksums.txt"),
             expect="gzip", timeout=2, backoff=0, progress=False)
    prepare_reference(dest, tmp_path / "genome.fa.gz")
    assert ReferenceGenome(tmp_path / "genome.fa.gz").lengths == {n: len(s) for n, s in records.items()}


def test_refseq_flavour_with_crlf_assembly_report(tmp_path):
    """NC_ names and an unplaced scaffold named through the assembly report (CRLF, '#' comments, 'na')."""
    records = _hg38_records()
    text = (f">NC_000017.11 Homo sapiens chromosome 17, GRCh38.p14\n{records['chr17']}\n"
            f">NT_187361.1 Homo sapiens unplaced genomic scaffold\nACGTACGTNN\n")
    (tmp_path / "GCF_000001405.40_GRCh38.p14_genomic.fna.gz").write_bytes(gzip.compress(text.encode()))
    report = ("# Assembly name:  GRCh38.p14\r\n# Sequence-Name\tSequence-Role\tAssigned-Molecule\tAssigned-Molecule-"
              "Location/Type\tGenBank-Accn\tRelationship\tRefSeq-Accn\tAssembly-Unit\tSequence-Length\tUCSC-style-name\r\n"
              "17\tassembled-molecule\t17\tChromosome\tCM000679.2\t=\tNC_000017.11\tPrimary Assembly\t83257441\tchr17\r\n"
              "HSCHRUN_RANDOM_CTG1\tunplaced-scaffold\tna\tna\tKI270302.1\t=\tNT_187361.1\tPrimary Assembly\t2274\t"
              "chrUn_KI270302v1\r\n"
              "HG1_PATCH\tfix-patch\t1\tChromosome\tKN196472.1\t=\tNW_009646194.1\tPATCHES\t186494\tna\r\n")
    (tmp_path / "report.txt").write_bytes(report.encode())
    table = read_assembly_report(tmp_path / "report.txt")
    assert table.row(2) == ("HG1_PATCH", "KN196472.1", "NW_009646194.1", None)
    run_genolm("prepare-reference", "--source", str(tmp_path / "GCF_000001405.40_GRCh38.p14_genomic.fna.gz"),
               "--assembly-report", str(tmp_path / "report.txt"), "--out", str(tmp_path / "genome.fa.gz"))
    names = [line.split("\t")[0] for line in (tmp_path / "genome.fa.gz.fai").read_text().splitlines()]
    assert names == ["chr17", "chrUn_KI270302v1"]
    aliases = pl.read_csv(tmp_path / "genome.fa.gz.aliases.tsv", separator="\t")
    assert aliases["source_name"].to_list() == ["NC_000017.11", "NT_187361.1"]


def test_ensembl_flavour_bsd_sum_from_checksums(http_mirror, tmp_path):
    records = _hg38_records()
    data = gzip.compress("".join(f">{n[3:] if n != 'chrM' else 'MT'} dna:chromosome\n{s}\n"
                                 for n, s in records.items()).encode(), mtime=0)
    name = "Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz"
    (http_mirror.root / name).write_bytes(data)
    from genolm.sources.checksums import new_hasher

    hasher = new_hasher("bsdsum")
    hasher.update(data)
    checksum, blocks = hasher.hexdigest().split()
    (http_mirror.root / "CHECKSUMS").write_text(f"{int(checksum):05d} {blocks:>6} {name}\n")
    download(http_mirror.url(name), tmp_path / name, checksum_listing=http_mirror.url("CHECKSUMS"), expect="gzip",
             timeout=2, backoff=0, progress=False)
    prepare_reference(tmp_path / name, tmp_path / "genome.fa")
    assert set(ReferenceGenome(tmp_path / "genome.fa").lengths) == {"chr17", "chrM"}


# --- RefSeq assemblies -----------------------------------------------------------------------------------


def test_assembly_summary_selection():
    summary = read_assembly_summary(DEMO_MIRROR / "genomes/refseq/bacteria/assembly_summary.txt")
    selected, qc = select_assemblies(summary, Selection(accessions=["GCF_900000021"], organisms=["escherichia coli"]),
                                     "summary")
    # The replaced E. coli assembly (no files) is skipped for the representative one.
    assert selected["assembly_accession"].to_list() == ["GCF_900000011.1", "GCF_900000021.1"]
    assert qc.get("not_latest_or_no_files", detail="escherichia coli") == 1
    with pytest.raises(GenolmInputError, match="GCF_123456789"):
        select_assemblies(summary, Selection(accessions=["GCF_123456789.1"]), "summary")
    with pytest.raises(GenolmInputError, match="Bacillus"):
        select_assemblies(summary, Selection(organisms=["Bacillus subtilis"]), "summary")


def test_assembly_summary_with_a_bad_line_names_it(tmp_path):
    lines = (DEMO_MIRROR / "genomes/refseq/bacteria/assembly_summary.txt").read_text().splitlines()
    (tmp_path / "a.txt").write_text("\n".join(lines[:3] + ["GCF_900000099.1\tPRJNA1\ttruncated"] + lines[3:]) + "\n")
    with pytest.raises(GenolmInputError, match=r"line 4: 3 tab-separated fields where the header has 38"):
        read_assembly_summary(tmp_path / "a.txt")
    (tmp_path / "b.txt").write_text("<html>not found</html>\n")
    with pytest.raises(GenolmInputError, match="assembly_accession"):
        read_assembly_summary(tmp_path / "b.txt")


def test_assemblies_download_over_http_and_normalize(http_mirror, tmp_path):
    _serve_mirror(http_mirror, "genomes")
    out = tmp_path / "dl"
    run_genolm("download-assemblies", "--summary", str(DEMO_MIRROR / "genomes/refseq/bacteria/assembly_summary.txt"),
               "--organisms", "Helicobacter pylori", "Staphylococcus aureus", "--mirror",
               f"{NCBI}={http_mirror.url('genomes/')}", "--out-dir", str(out), "--timeout", "2")
    manifest = read_manifest(out / "files.tsv")
    assert manifest["name"].to_list() == ["GCF_900000021.1.fna.gz", "GCF_900000031.1.fna.gz"]
    assert manifest["verified"].all() and manifest["url"].str.starts_with("http://127.0.0.1").all()
    run_genolm("prepare-assemblies", "--downloads", str(out / "files.tsv"), "--out-dir", str(tmp_path / "genomes"),
               "--table", str(tmp_path / "assemblies.parquet"))
    table = pl.read_parquet(tmp_path / "assemblies.parquet")
    assert table["accession"].to_list() == ["GCF_900000021.1", "GCF_900000031.1"]
    assert table["species_taxid"].to_list() == [1280, 210] and table["total_length"].to_list() == [12000, 12000]
    genome = ReferenceGenome(Path(table["fasta"][1]))
    assert list(genome.lengths) == ["NC_011333.1"]  # a bacterial accession is kept as it is
    served = gzip.decompress((DEMO_MIRROR / "genomes/all/GCF/900/000/031/GCF_900000031.1_DemoHpG27/"
                                             "GCF_900000031.1_DemoHpG27_genomic.fna.gz").read_bytes()).decode()
    assert served.startswith(">NC_011333.1 Helicobacter pylori G27")
    assert genome.fetch("NC_011333.1", 0, 80) == served.split("\n")[1].upper()


def test_assembly_with_wrong_md5_fails_and_leaves_no_manifest(http_mirror, tmp_path):
    _serve_mirror(http_mirror, "genomes")
    listing = next((http_mirror.root / "genomes/all").rglob("GCF_900000031.1_DemoHpG27/md5checksums.txt"))
    listing.write_text(f"{'a' * 32}  ./GCF_900000031.1_DemoHpG27_genomic.fna.gz\n")
    stderr = _genolm_fails("download-assemblies", "--summary",
                           str(DEMO_MIRROR / "genomes/refseq/bacteria/assembly_summary.txt"), "--organisms",
                           "Helicobacter pylori", "--mirror", f"{NCBI}={http_mirror.url('genomes/')}", "--out-dir",
                           str(tmp_path / "dl"), "--timeout", "2", "--retries", "0")
    assert "GCF_900000031.1_DemoHpG27_genomic.fna.gz: md5 checksum mismatch" in stderr
    assert not (tmp_path / "dl" / "files.tsv").exists()
    assert not list((tmp_path / "dl").glob("*.fna.gz*"))


# --- release directories read through their listing ------------------------------------------------------


def test_listing_names_files_without_hard_coding_their_number():
    html = '<a href="viral.1.1.genomic.fna.gz">x</a> <a href="viral.10.1.genomic.fna.gz">y</a>' \
           '<a href="viral.2.1.genomic.fna.gz">z</a> <a href="viral.1.protein.faa.gz">p</a> old_viral.1.1.genomic.fna.gz.bak'
    assert names_in_listing(html, r"viral\.\d+\.1\.genomic\.fna\.gz", "L") == [
        "viral.1.1.genomic.fna.gz", "viral.2.1.genomic.fna.gz", "viral.10.1.genomic.fna.gz"]
    with pytest.raises(GenolmInputError, match="no file matching"):
        names_in_listing("<html>maintenance</html>", r"viral\.\d+\.1\.genomic\.fna\.gz", "L")


def test_release_listing_over_http_with_checksums_and_a_flaky_file(http_mirror, tmp_path):
    _serve_mirror(http_mirror, "refseq")
    gbff = "refseq/release/mitochondrion/mitochondrion.2.genomic.gbff.gz"
    http_mirror.fault(gbff, Fault(truncate_at=1000, times=1))
    run_genolm("download-listed", "--listing", http_mirror.url("refseq/release/mitochondrion/"), "--pattern",
               r"mitochondrion\.\d+\.genomic\.gbff\.gz", "--checksum-listing",
               http_mirror.url("refseq/release/release-catalog/release-demo.files.installed"),
               "--out-dir", str(tmp_path / "mito"), "--timeout", "2")
    manifest = read_manifest(tmp_path / "mito" / "files.tsv")
    assert manifest["name"].to_list() == ["mitochondrion.1.genomic.gbff.gz", "mitochondrion.2.genomic.gbff.gz"]
    assert manifest["verified"].all()
    assert [r.status for r in http_mirror.requests_for(gbff)] == [200, 206]  # resumed after the cut


@pytest.mark.parametrize("fault, reason", [
    (Fault(status=404), "HTTP 404"),
    (Fault(html=True), "HTML page instead of gzip data"),
])
def test_release_file_hostile_answers(http_mirror, tmp_path, fault, reason):
    _serve_mirror(http_mirror, "refseq")
    http_mirror.fault("refseq/release/viral/viral.2.1.genomic.fna.gz", fault)
    stderr = _genolm_fails("download-listed", "--listing", http_mirror.url("refseq/release/viral/"), "--pattern",
                           r"viral\.\d+\.1\.genomic\.fna\.gz", "--out-dir", str(tmp_path / "v"), "--timeout", "2",
                           "--retries", "0")
    assert "viral.2.1.genomic.fna.gz" in stderr and reason in stderr
    assert not (tmp_path / "v" / "files.tsv").exists()
    assert not (tmp_path / "v" / "viral.2.1.genomic.fna.gz").exists()


def test_missing_release_directory_fails_with_its_url(http_mirror, tmp_path):
    stderr = _genolm_fails("download-listed", "--listing", http_mirror.url("refseq/release/viral/"), "--pattern",
                           "x", "--out-dir", str(tmp_path / "v"), "--timeout", "2", "--retries", "0")
    assert "refseq/release/viral/" in stderr and "HTTP 404" in stderr


# --- mitochondria ----------------------------------------------------------------------------------------


def test_mitofish_headers_put_the_accession_anywhere():
    def fields(header):
        parsed = parse_mitofish_header(header, "f", 1)
        return parsed.accession, parsed.species

    assert fields(">gb|AP012345|Danio_rerio") == ("AP012345", "Danio rerio")
    assert fields(">Salmo_salar|NC_001960.1|complete") == ("NC_001960.1", "Salmo salar")
    assert parse_mitofish_header(">LC123456.1 partial|Oryzias latipes", "f", 1).accession == "LC123456.1"
    with pytest.raises(GenolmInputError, match="line 7"):
        parse_mitofish_header(">Danio_rerio|complete", "f.fa", "line 7")


def test_12s_names():
    from Bio.SeqFeature import FeatureLocation, SeqFeature

    def rrna(**qualifiers):
        return SeqFeature(FeatureLocation(0, 10), type="rRNA", qualifiers={k: [v] for k, v in qualifiers.items()})

    for named in (dict(product="12S ribosomal RNA"), dict(product="s-rRNA"), dict(gene="rrnS"), dict(gene="MT-RNR1"),
                  dict(product="small subunit ribosomal RNA"), dict(gene="RNR1"), dict(note="12S rRNA")):
        assert is_12s(rrna(**named)), named
    for other in (dict(product="16S ribosomal RNA"), dict(product="l-rRNA"), dict(gene="rrnL"), dict(gene="MT-RNR2")):
        assert not is_12s(rrna(**other)), other
    assert not is_12s(SeqFeature(FeatureLocation(0, 10), type="gene", qualifiers={"gene": ["rrnS"]}))


def test_12s_from_ncbi_release_and_mitofish(tmp_path):
    files = sorted((DEMO_MIRROR / "refseq/release/mitochondrion").glob("*.gbff.gz"))
    run_genolm("prepare-mito", "--gbff", *map(str, files), "--mitofish-genomes",
               str(DEMO_MIRROR / "mitofish/complete_partial_mitogenomes.zip"), "--mitofish-annotations",
               str(DEMO_MIRROR / "mitofish/mitoannotations.zip"), "--out", str(tmp_path / "12s.parquet"),
               "--qc", str(tmp_path / "qc.tsv"))
    table = pl.read_parquet(tmp_path / "12s.parquet")
    rows = {r["accession"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"NC_012920.1", "NC_002083.1", "ZZ000101", "ZZ000102"}  # MitoFish: the FASTA's accession
    human = rows["NC_012920.1"]
    assert human["sequence"].startswith(HUMAN_12S_START) and human["length"] == 954
    assert human["species"] == "Homo sapiens" and human["taxid"] == 9606 and human["source"] == "ncbi_refseq"
    assert human["taxonomy"].startswith("Eukaryota; Metazoa; Chordata") and human["taxonomy"].endswith("Homo")
    assert rows["NC_002083.1"]["length"] == 954 and rows["NC_002083.1"]["species"] == "Pongo abelii"
    # The reverse-strand MitoFish annotation table gives the same gene as the forward one would.
    assert rows["ZZ000102"]["strand"] == -1 and rows["ZZ000102"]["length"] == 954
    assert rows["ZZ000101"]["species"] == "Danio rerio" and rows["ZZ000101"]["taxid"] == 7955
    qc = pl.read_csv(tmp_path / "qc.tsv", separator="\t")
    counts = {(r["reason"], r["detail"]): r["count"] for r in qc.iter_rows(named=True)}
    assert counts[("no_12s_rrna_not_named_12s", "ncbi_refseq")] == 1  # only a 16S feature
    assert counts[("no_12s_unannotated_record", "ncbi_refseq")] == 1
    assert counts[("no_12s_no_annotation", "mitofish")] == 1  # a genome without an annotated record


def test_mitofish_zip_with_escaping_member_is_refused(tmp_path):
    evil = tmp_path / "mitoannotations.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("ok.gb", "LOCUS       X\n//\n")
        archive.writestr("../../escaped.gb", "LOCUS       Y\n//\n")
    out = tmp_path / "out" / "12s.parquet"
    stderr = _genolm_fails("prepare-mito", "--mitofish-annotations", str(evil), "--out", str(out))
    assert "mitoannotations.zip: ../../escaped.gb: member path with '..' refused" in stderr
    assert not out.exists() and not (tmp_path / "escaped.gb").exists()
    assert not (tmp_path / "out").exists()  # the scratch directory, and the directory made for it, are gone


def test_truncated_genbank_names_the_record(tmp_path):
    text = gzip.decompress((DEMO_MIRROR / "refseq/release/mitochondrion/mitochondrion.1.genomic.gbff.gz").read_bytes())
    (tmp_path / "cut.gbff").write_bytes(text[: len(text) // 3])
    stderr = _genolm_fails("prepare-mito", "--gbff", str(tmp_path / "cut.gbff"), "--out", str(tmp_path / "o.parquet"))
    assert "cut.gbff: record 1: malformed GenBank data" in stderr
    assert not (tmp_path / "o.parquet").exists()


# --- viruses ---------------------------------------------------------------------------------------------


def test_viral_genomes_and_phage_labels(tmp_path):
    viral = DEMO_MIRROR / "refseq/release/viral"
    run_genolm("prepare-viral", "--fasta", str(viral / "viral.1.1.genomic.fna.gz"), str(viral / "viral.2.1.genomic.fna.gz"),
               "--gbff", str(viral / "viral.1.genomic.gbff.gz"), "--virushostdb",
               str(DEMO_MIRROR / "virushostdb/virushostdb.tsv"), "--out-genomes", str(tmp_path / "genomes.parquet"),
               "--out-labels", str(tmp_path / "labels.parquet"), "--qc", str(tmp_path / "qc.tsv"))
    labels = {r["accession"]: r for r in pl.read_parquet(tmp_path / "labels.parquet").iter_rows(named=True)}
    assert labels["NC_001416.1"]["is_phage"] is True and labels["NC_001422.1"]["is_phage"] is True
    assert labels["NC_004830.2"]["is_phage"] is False and labels["NC_004830.2"]["host_taxids"] == [7460, 109461]
    assert labels["NC_006494.1"]["is_phage"] is False
    # Virus-Host DB knows the recombinant isolate only with host tax id 1 (`root`): unlabelled, not "other virus".
    assert labels["HM067437.1"]["is_phage"] is None and labels["HM067437.1"]["host_names"] == ["root"]
    assert labels["NC_001422.1"]["genome_id"] == "taxid:10847"
    genomes = pl.read_parquet(tmp_path / "genomes.parquet")
    lengths = dict(zip(genomes["accession"], genomes["length"]))
    assert lengths["NC_001416.1"] == 48502 and lengths["NC_001422.1"] == 5386


def test_segmented_virus_shares_its_genome_id_and_mixed_hosts_stay_unlabelled(tmp_path):
    (tmp_path / "g.fa").write_text(">NC_000001.1 segment L\nACGT\n>NC_000002.1 segment S\nGGCC\n"
                                   ">NC_000003.1 odd virus\nTTTT\n")
    header = ("virus tax id\tvirus name\tvirus lineage\trefseq id\tKEGG GENOME\tKEGG DISEASE\tDISEASE\thost tax id\t"
              "host name\thost lineage\tpmid\tevidence\tsample type\tsource organism\n")
    rows = ("11\tSegmented virus\tViruses\tNC_000001, NC_000002\t\t\t\t9606\tHomo sapiens\tEukaryota; Metazoa\t\t\t\t\n"
            "12\tOdd virus\tViruses\tNC_000003\t\t\t\t562\tEscherichia coli\tBacteria; Pseudomonadota\t\t\t\t\n"
            "12\tOdd virus\tViruses\tNC_000003\t\t\t\t9606\tHomo sapiens\tEukaryota; Metazoa\t\t\t\t\n")
    (tmp_path / "vhdb.tsv").write_text(header + rows)
    run_genolm("prepare-viral", "--fasta", str(tmp_path / "g.fa"), "--virushostdb", str(tmp_path / "vhdb.tsv"),
               "--out-genomes", str(tmp_path / "g.parquet"), "--out-labels", str(tmp_path / "l.parquet"))
    labels = pl.read_parquet(tmp_path / "l.parquet")
    assert labels["genome_id"].to_list() == ["taxid:11", "taxid:11", "taxid:12"]
    assert labels["is_phage"].to_list() == [False, False, None]
    (tmp_path / "bad.tsv").write_text("virus tax id\tvirus name\n1\tx\n")
    stderr = _genolm_fails("prepare-viral", "--fasta", str(tmp_path / "g.fa"), "--virushostdb", str(tmp_path / "bad.tsv"),
                           "--out-genomes", str(tmp_path / "g2.parquet"), "--out-labels", str(tmp_path / "l2.parquet"))
    assert "bad.tsv: not a Virus-Host DB table" in stderr and not (tmp_path / "g2.parquet").exists()


# --- benchmark formats -----------------------------------------------------------------------------------


def test_genomic_benchmarks_intervals_on_the_reference(tmp_path, demo_inputs):
    run_genolm("prepare-benchmark", "--format", "genomic-benchmarks", "--input",
               str(DEMO_MIRROR / "benchmarks/genomic_benchmarks/demo_chrM_intervals.zip"), "--reference",
               str(demo_inputs["reference"]), "--out", str(tmp_path / "b.parquet"))
    table = pl.read_parquet(tmp_path / "b.parquet")
    assert table.group_by("split").len().sort("split")["len"].to_list() == [6, 12]
    reference = ReferenceGenome(demo_inputs["reference"])
    with zipfile.ZipFile(DEMO_MIRROR / "benchmarks/genomic_benchmarks/demo_chrM_intervals.zip") as archive:
        first = gzip.decompress(archive.read("demo_chrM_intervals/train/negative.csv.gz")).decode().splitlines()[1].split(",")
    expected = reference.fetch("chrM", int(first[2]), int(first[3]))
    if first[4] == "-":
        expected = expected.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]
    negative = table.filter((pl.col("class_name") == "negative") & (pl.col("split") == "train"))
    assert negative.filter(pl.col("id") == first[0])["sequence"].item() == expected
    stderr = _genolm_fails("prepare-benchmark", "--format", "genomic-benchmarks", "--input",
                           str(DEMO_MIRROR / "benchmarks/genomic_benchmarks/demo_chrM_intervals.zip"),
                           "--out", str(tmp_path / "c.parquet"))
    assert "class 'negative' is cut from Homo_sapiens.GRCh38.dna.toplevel.fa.gz" in stderr
    assert "which is not configured: give it as the task's reference (--reference)" in stderr


def test_nucleotide_transformer_task_and_a_bad_header(tmp_path):
    run_genolm("prepare-benchmark", "--format", "nucleotide-transformer", "--input",
               str(DEMO_MIRROR / "benchmarks/nucleotide_transformer/demo_promoter.zip"), "--out", str(tmp_path / "nt.parquet"))
    table = pl.read_parquet(tmp_path / "nt.parquet")
    assert sorted(set(table["label"])) == [0, 1] and table.filter(pl.col("split") == "test").height == 4
    task = tmp_path / "task"
    task.mkdir()
    (task / "train.fna").write_text(">a|1\nACGT\n>b\nACGT\n")
    (task / "test.fna").write_text(">c|0\nACGT\n")
    stderr = _genolm_fails("prepare-benchmark", "--format", "nucleotide-transformer", "--input", str(task),
                           "--out", str(tmp_path / "bad.parquet"))
    assert "train.fna: line 3: header 'b' does not end in '|<integer label>'" in stderr


# --- DepMap: files placed by hand, verified by the release catalogue ------------------------------------


def test_depmap_hand_placed_file_verified_by_catalogue(http_mirror, tmp_path):
    placed = tmp_path / "placed" / "Model.csv"
    placed.parent.mkdir()
    shutil.copy(DEMO_MIRROR / "depmap/Model.csv", placed)
    md5 = hashlib.md5(placed.read_bytes()).hexdigest()
    # Recent releases leave `url` empty (captcha); older ones list the same file name with another checksum.
    (http_mirror.root / "files").write_text(
        "release,release_date,filename,url,md5_hash\n"
        f"DepMap Public 25Q3,2025-09-30,Model.csv,,{md5}\n"
        f"DepMap Public 24Q4,2024-12-01,Model.csv,https://example.invalid/m,{'b' * 32}\n")
    record = download(str(placed), tmp_path / "dl" / "Model.csv", checksum_listing=http_mirror.url("files"),
                      listing_name="DepMap Public 25Q3/Model.csv", expect="text", progress=False)
    assert record.verified and record.checksum == md5
    with pytest.raises(GenolmInputError, match="ambiguous"):
        download(str(placed), tmp_path / "dl2" / "Model.csv", checksum_listing=http_mirror.url("files"), progress=False)
    with pytest.raises(GenolmInputError, match="md5 checksum mismatch"):
        download(str(placed), tmp_path / "dl3" / "Model.csv", checksum_listing=http_mirror.url("files"),
                 listing_name="DepMap Public 24Q4/Model.csv", progress=False)
    assert not (tmp_path / "dl3" / "Model.csv").exists()


# --- the committed fixtures are what the script makes ----------------------------------------------------


def test_source_fixtures_rebuild_byte_for_byte(tmp_path):
    import sys

    subprocess.run([sys.executable, str(DEMO_MIRROR.parents[2] / "scripts/make_source_fixtures.py"), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.relative_to(tmp_path / "mirror") for p in (tmp_path / "mirror").rglob("*") if p.is_file())
    assert len(built) == 21
    for relative in built:
        assert (tmp_path / "mirror" / relative).read_bytes() == (DEMO_MIRROR / relative).read_bytes(), relative
