"""Hostile and careless input, one case per class (issue #14): every case must end with exit status 2, one line
`genolm <command>: error: ...` naming what is wrong, no traceback, and the working directory exactly as it was
before the command ran (no output, no temporary, no directory made).

Commands run in-process through `genolm.cli.main`, on a tiny reference written here, so the whole table runs
in seconds.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from genolm.cli import main
from genolm.sources.bgzf import EOF_BLOCK, BgzfWriter
from genolm.sources.reference import prepare_reference

LENGTHS = {"chr21": 2400, "chr22": 3000, "chrM": 400}
SAMPLES = ("ACH-1", "ACH-2", "ACH-3", "ACH-4")


@dataclass
class Inputs:
    """The valid inputs each case starts from (under `root/in`) and where its outputs go (`root/out`)."""

    root: Path
    sequences: dict[str, str]
    fasta: Path  # plain FASTA, not indexed
    reference: Path  # prepared BGZF reference with .fai/.gzi/.aliases.tsv
    mutations: Path  # DepMap-layout CSV
    samples: Path  # DepMap Model.csv layout
    anchors: Path  # anchors parquet on the reference
    virushostdb: Path
    viral_fasta: Path

    @property
    def out(self) -> Path:
        return self.root / "out"

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        return path


def _sequences() -> dict[str, str]:
    rng = np.random.default_rng(14)
    return {name: "".join(rng.choice(list("ACGT"), size=n)) for name, n in LENGTHS.items()}


def _mutation_rows(sequences: dict[str, str]) -> list[tuple[str, str, int, str, str]]:
    """(sample, chrom, pos, ref, alt): SNVs that agree with the reference, a few per sample and chromosome."""
    rows = []
    for i, sample in enumerate(SAMPLES):
        for chrom in ("chr21", "chr22"):
            for k in range(3 + i):
                pos = 200 + 137 * k + 41 * i
                ref = sequences[chrom][pos - 1]
                rows.append((sample, chrom, pos, ref, "A" if ref != "A" else "C"))
    return rows


def depmap_csv(rows) -> str:
    lines = ["Chrom,Pos,Ref,Alt,ModelID,IsDefaultEntryForModel"]
    lines += [f"{chrom},{pos},{ref},{alt},{sample},Yes" for sample, chrom, pos, ref, alt in rows]
    return "\n".join(lines) + "\n"


def model_csv(lineages: dict[str, str]) -> str:
    lines = ["ModelID,CellLineName,OncotreeLineage,OncotreePrimaryDisease"]
    lines += [f"{sample},LINE-{sample},{lineage},disease" for sample, lineage in lineages.items()]
    return "\n".join(lines) + "\n"


VHDB_HEADER = ("virus tax id\tvirus name\tvirus lineage\trefseq id\tKEGG GENOME\tKEGG DISEASE\tDISEASE\thost tax id\t"
               "host name\thost lineage\tpmid\tevidence\tsample type\tsource organism")


def vhdb_row(taxid: int, accession: str, host_lineage: str) -> str:
    return f"{taxid}\tvirus {taxid}\tViruses\t{accession}\t\t\t\t562\thost\t{host_lineage}\t\tLiterature\t\t"


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> dict:
    """The valid inputs, written once; each case gets its own copy."""
    root = tmp_path_factory.mktemp("valid")
    sequences = _sequences()
    fasta = root / "ref.fa"
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in sequences.items()))
    reference = root / "genome.fa.gz"
    prepare_reference(fasta, reference)
    rows = _mutation_rows(sequences)
    (root / "mutations.csv").write_text(depmap_csv(rows))
    (root / "Model.csv").write_text(model_csv({"ACH-1": "Lung", "ACH-2": "Lung", "ACH-3": "Lymphoid",
                                                "ACH-4": "Lymphoid"}))
    anchors = pl.DataFrame(
        [{"sample": s, "label": 0, "split": "train", "chrom": c, "pos": p, "ref": r, "alt": a}
         for s, c, p, r, a in rows]).with_row_index("anchor_id").with_columns(pl.col("anchor_id").cast(pl.Int64))
    anchors.write_parquet(root / "anchors.parquet")
    (root / "virushostdb.tsv").write_text("\n".join([VHDB_HEADER, vhdb_row(1, "NC_000001", "Bacteria; X"),
                                                     vhdb_row(2, "NC_000002", "Eukaryota; Y")]) + "\n")
    (root / "viral.fna").write_text(">NC_000001.1 phage one\nACGTACGTAA\n>NC_000002.1 virus two\nGGGTTTAACC\n")
    return {"root": root, "sequences": sequences}


@pytest.fixture
def inputs(valid, tmp_path) -> Inputs:
    source = valid["root"]
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    for path in source.iterdir():
        shutil.copy2(path, tmp_path / "in" / path.name)  # copy2 keeps mtimes: indexes stay newer than the FASTA
    into = tmp_path / "in"
    return Inputs(root=tmp_path, sequences=valid["sequences"], fasta=into / "ref.fa", reference=into / "genome.fa.gz",
                  mutations=into / "mutations.csv", samples=into / "Model.csv", anchors=into / "anchors.parquet",
                  virushostdb=into / "virushostdb.tsv", viral_fasta=into / "viral.fna")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file (with its size and modification time) and directory under `root`. A directory's own
    modification time changes when a temporary is made and removed in it, so only its presence is compared."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        state[str(path.relative_to(root))] = (-1, 0) if path.is_dir() else (info.st_size, info.st_mtime_ns)
    return state


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse refuses bad arguments this way
        code = exit_.code
    # Every command opens its output with the command line that reruns it (a rule's log); what follows is the
    # command's own output, which these tests read.
    echo, _, rest = capsys.readouterr().err.partition("\n")
    assert echo.startswith("$ python -m genolm "), echo
    return code, rest


# ---------------------------------------------------------------------------------------------------------------
# The cases: each builds its bad input from the valid ones and returns the command line and the fragments the
# error line must hold.

Case = Callable[[Inputs], tuple[list, list[str]]]
CASES: dict[str, Case] = {}


def case(function: Case) -> Case:
    CASES[function.__name__] = function
    return function


def _bgzf(text: bytes) -> bytes:
    buffer = io.BytesIO()
    writer = BgzfWriter(buffer)
    writer.write(text)
    writer.close()
    return buffer.getvalue()


def _reference_windows(i: Inputs, *extra, reference=None) -> list:
    return ["reference-windows", "--reference", reference or i.reference, "--length", "100", "--seed", "1",
            "--out", i.out / "shards", "--qc", i.out / "qc.tsv", "--chromosomes", "all", *extra]


def _prepare_mutations(i: Inputs, mutations=None, samples=None, *extra) -> list:
    return ["prepare-mutations", "--mutations", mutations or i.mutations, "--samples", samples or i.samples,
            "--reference", i.reference, "--chromosomes", "all", "--out-mutations", i.out / "m.parquet",
            "--out-samples", i.out / "s.parquet", "--qc", i.out / "qc.tsv", *extra]


def _mutate_windows(i: Inputs, *extra, anchors=None) -> list:
    return ["mutate-windows", "--reference", i.reference, "--mutations", i.mutations, "--anchors",
            anchors or i.anchors, "--chromosomes", "all", "--length", "64", "--seed", "1", "--out", i.out / "shards",
            "--qc", i.out / "qc.tsv", *extra]


# -- compressed files cut short or damaged


@case
def bgzf_cut_at_block_boundary_prepare_reference(i):
    data = _bgzf(i.fasta.read_bytes() * 30)  # several blocks
    assert data.endswith(EOF_BLOCK)
    source = i.write("cut.fa.gz", data[:-len(EOF_BLOCK)])
    return ["prepare-reference", "--source", source, "--out", i.out / "genome.fa.gz"], ["cut.fa.gz", "end-of-file block"]


@case
def bgzf_cut_at_block_boundary_download(i):
    source = i.write("cut.fa.gz", _bgzf(i.fasta.read_bytes())[:-len(EOF_BLOCK)])
    return (["download", "--url", source, "--out", i.out / "hg38.fa.gz", "--expect", "gzip"],
            ["cut.fa.gz", "end-of-file block"])


@case
def gzip_cut_mid_stream_download(i):
    data = gzip.compress(i.fasta.read_bytes())
    source = i.write("half.fa.gz", data[: len(data) // 2])
    return ["download", "--url", source, "--out", i.out / "x.fa.gz", "--expect", "gzip"], ["half.fa.gz", "truncated"]


@case
def gzip_cut_mid_stream_prepare_reference(i):
    data = gzip.compress(i.fasta.read_bytes())
    source = i.write("half.fa.gz", data[: len(data) // 2])
    return ["prepare-reference", "--source", source, "--out", i.out / "genome.fa.gz"], ["half.fa.gz", "truncated"]


@case
def html_page_instead_of_gzip(i):
    source = i.write("hg38.fa.gz", "<!DOCTYPE html><html>Service unavailable</html>")
    return ["download", "--url", source, "--out", i.out / "hg38.fa.gz", "--expect", "gzip"], ["HTML page"]


@case
def checksum_mismatch(i):
    return (["download", "--url", i.samples, "--out", i.out / "Model.csv", "--md5", "0" * 32],
            ["Model.csv", "md5 checksum mismatch"])


@case
def malformed_checksum(i):
    return ["download", "--url", i.samples, "--out", i.out / "Model.csv", "--md5", "xyz"], ["md5"]


@case
def download_missing_local_file(i):
    return ["download", "--url", i.root / "in" / "nope.csv", "--out", i.out / "x.csv"], ["nope.csv", "cannot open"]


@case
def download_unsupported_scheme(i):
    return ["download", "--url", "gopher://example.org/x", "--out", i.out / "x"], ["unsupported URL scheme"]


@case
def file_url_with_host_part(i):
    # file://relative/path names the host "relative" and the path /path: never a relative path.
    return ["download", "--url", "file://in/Model.csv", "--out", i.out / "x.csv"], ["file://in/Model.csv", "file:///"]


# -- tables cut short


@case
def virushostdb_cut_inside_last_field(i):
    text = i.virushostdb.read_text()
    source = i.write("vhdb.tsv", text[: text.rindex("Eukaryota") + 4])  # "Euka": wrong lineage, no line end
    return (["prepare-viral", "--fasta", i.viral_fasta, "--virushostdb", source, "--out-genomes", i.out / "g.parquet",
             "--out-labels", i.out / "l.parquet", "--qc", i.out / "qc.tsv"], ["vhdb.tsv", "line 3", "line end"])


@case
def virushostdb_row_missing_fields(i):
    text = i.virushostdb.read_text().splitlines()
    source = i.write("vhdb.tsv", "\n".join(text[:-1] + ["\t".join(text[-1].split("\t")[:8])]) + "\n")
    return (["prepare-viral", "--fasta", i.viral_fasta, "--virushostdb", source, "--out-genomes", i.out / "g.parquet",
             "--out-labels", i.out / "l.parquet"], ["vhdb.tsv", "line 3", "fields"])


@case
def depmap_csv_cut_inside_last_row(i):
    text = i.mutations.read_text()
    source = i.write("cut.csv", text[:-8])
    return _prepare_mutations(i, source), ["cut.csv", "line end"]


@case
def model_csv_cut_inside_last_row(i):
    text = i.samples.read_text()
    source = i.write("Model.csv", text[:-5])
    return _prepare_mutations(i, None, source), ["Model.csv", "line end"]


@case
def maf_cut_inside_last_row(i):
    rows = _mutation_rows(i.sequences)
    lines = ["Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\tTumor_Sample_Barcode"]
    lines += [f"G\t{c}\t{p}\t{r}\t{a}\t{s}" for s, c, p, r, a in rows]
    source = i.write("cells.maf", "\n".join(lines)[:-3])
    return _prepare_mutations(i, source, None, "--format", "maf"), ["cells.maf", "line end"]


@case
def vcf_cut_inside_last_line(i):
    vcf = i.write("cells.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr22>\n"
                               '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tACH-1\n"
                               f"chr22\t100\t.\t{i.sequences['chr22'][99]}\tA\t.\tPASS\t.\tGT\t0/1\n"
                               f"chr22\t1234\t.\t{i.sequences['chr22'][1233]}\tA\t.\tPA")
    return _prepare_mutations(i, vcf, None, "--format", "vcf"), ["cells.vcf", "line 6", "line end"]


@case
def bgzf_vcf_cut_at_block_boundary(i):
    text = ("##fileformat=VCFv4.2\n##contig=<ID=chr22>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tACH-1\n"
            f"chr22\t100\t.\t{i.sequences['chr22'][99]}\tA\t.\tPASS\t.\tGT\t0/1\n")
    vcf = i.write("cells.vcf.gz", _bgzf(text.encode())[:-len(EOF_BLOCK)])
    return _prepare_mutations(i, vcf, None, "--format", "vcf"), ["cells.vcf.gz", "end-of-file block"]


@case
def genbank_cut_before_record_end(i):
    gbff = i.write("viral.gbff", "LOCUS       NC_000001               10 bp    DNA     linear   VRL 01-JAN-2024\n"
                                 "ACCESSION   NC_000001\nVERSION     NC_000001.1\nORIGIN\n        1 acgtacgtaa\n")
    return (["prepare-viral", "--fasta", i.viral_fasta, "--gbff", gbff, "--out-genomes", i.out / "g.parquet",
             "--out-labels", i.out / "l.parquet"], ["viral.gbff", "record 1", "'//'"])


@case
def gzip_cut_after_one_byte(i):
    source = i.write("one.fa.gz", b"\x1f")
    return ["prepare-reference", "--source", source, "--out", i.out / "g.fa.gz"], ["one.fa.gz", "truncated"]


# -- indexes that do not belong to their file


# Indexes are checked against their file's content, not mtimes: tests/test_hostile_indexes.py.


@case
def bgzf_reference_without_eof_block(i):
    data = i.reference.read_bytes()
    i.reference.write_bytes(data[:-len(EOF_BLOCK)])
    for index in (".fai", ".gzi"):  # keep the indexes newer than the file
        Path(f"{i.reference}{index}").touch()
    return _reference_windows(i), ["genome.fa.gz", "end-of-file block"]


@case
def plain_gzip_reference_for_random_access(i):
    source = i.write("plain.fa.gz", gzip.compress(i.fasta.read_bytes()))
    return _prepare_mutations(i)[:5] + ["--reference", source] + _prepare_mutations(i)[7:], ["plain gzip"]


# -- empty selections and filters that keep nothing


@case
def empty_chromosome_list_reference_windows(i):
    return _reference_windows(i)[:-2] + ["--chromosomes", ""], ["selection is empty"]


@case
def empty_chromosome_list_prepare_reference(i):
    return (["prepare-reference", "--source", i.fasta, "--out", i.out / "g.fa.gz", "--chromosomes", ","],
            ["ref.fa", "selection is empty"])


@case
def window_longer_than_every_chromosome(i):
    args = _reference_windows(i)
    args[args.index("--length") + 1] = "5000"
    return args, ["shards", "no rows", "chromosome_shorter_than_window"]


@case
def anchors_on_chromosomes_the_reference_lacks(i):
    anchors = pl.read_parquet(i.anchors).with_columns(pl.lit("chr5").alias("chrom"))
    path = i.root / "in" / "other.parquet"
    anchors.write_parquet(path)
    return _mutate_windows(i, anchors=path), ["shards", "no rows", "chromosome_not_in_reference"]


@case
def no_mutation_passes(i):
    return _prepare_mutations(i, None, None)[:-2] + ["--qc", i.out / "qc.tsv", "--chromosomes", "chrM"], \
        ["mutations.csv", "no mutation passed", "chromosome_not_selected"]


@case
def unknown_chromosome_name(i):
    return _reference_windows(i)[:-2] + ["--chromosomes", "chr5"], ["chr5", "not in the reference"]


# -- the last write fails


@case
def unwritable_qc_path(i):
    blocker = i.write("a_file", "not a directory")
    return _reference_windows(i)[:-4] + ["--qc", blocker / "qc.tsv", "--chromosomes", "all"], \
        ["qc.tsv", "choose a writable location"]


@case
def unwritable_qc_path_prepare_mutations(i):
    blocker = i.write("a_file", "not a directory")
    args = _prepare_mutations(i)
    args[args.index("--qc") + 1] = blocker / "qc.tsv"
    return args, ["qc.tsv", "choose a writable location"]


@case
def output_directory_is_a_file(i):
    blocker = i.write("a_file", "not a directory")
    args = _reference_windows(i)
    args[args.index("--out") + 1] = blocker / "shards"
    return args, ["shards", "writable"]


# -- arguments


@case
def negative_seed(i):
    args = _reference_windows(i)
    args[args.index("--seed") + 1] = "-3"
    return args, ["--seed", "non-negative"]


@case
def zero_window_length(i):
    args = _mutate_windows(i)
    args[args.index("--length") + 1] = "0"
    return args, ["--length", "positive"]


@case
def n_fraction_out_of_range(i):
    return _reference_windows(i, "--max-n-fraction", "1.5"), ["--max-n-fraction", "between 0 and 1"]


@case
def mismatch_fraction_out_of_range(i):
    return _prepare_mutations(i, None, None, "--max-ref-mismatch-fraction", "-1"), ["--max-ref-mismatch-fraction"]


@case
def split_by_chromosome_without_split(i):
    return _reference_windows(i, "--split-by-chromosome", "chr22"), ["--split-by-chromosome", "SPLIT=CHROM"]


@case
def split_by_chromosome_in_two_splits(i):
    return _reference_windows(i, "--split-by-chromosome", "val=chr22", "test=22"), ["chr22", "two splits"]


@case
def provenance_json_not_json(i):
    return _reference_windows(i, "--provenance-json", "{oops"), ["--provenance-json", "not valid JSON"]


@case
def missing_spec_file(i):
    return (["train", "--spec", f"@{i.root / 'in' / 'nope.yaml'}", "--shards", i.out, "--seed", "1", "--out",
             i.out / "job", "--study", "s", "--task", "t", "--experiment", "e"], ["nope.yaml", "cannot read"])


@case
def spec_file_not_yaml(i):
    spec = i.write("spec.yaml", "tokenizer: [unclosed\n")
    return (["train", "--spec", f"@{spec}", "--shards", i.out, "--seed", "1", "--out", i.out / "job", "--study", "s",
             "--task", "t", "--experiment", "e"], ["spec.yaml", "not valid"])


@case
def split_fractions_not_summing_to_one(i):
    return (["select-cell-lines", "--mutations", i.anchors, "--samples", i.anchors, "--lineages", "Lung", "Lymphoid",
             "--split", "train=0.8", "val=0.3", "--seed", "1", "--out-cell-lines", i.out / "c.parquet",
             "--out-anchors", i.out / "a.parquet", "--qc", i.out / "qc.tsv"], ["--split", "sum to 1"])


@case
def rows_per_shard_zero(i):
    return _reference_windows(i, "--rows-per-shard", "0"), ["--rows-per-shard", "positive integer"]


@case
def negative_window_count(i):
    return _reference_windows(i, "--max-windows", "-1"), ["--max-windows", "positive integer"]


@case
def negative_retries(i):
    return (["download", "--url", i.samples, "--out", i.out / "x.csv", "--retries", "-1"],
            ["--retries", "non-negative"])


@case
def zero_timeout(i):
    return ["download", "--url", i.samples, "--out", i.out / "x.csv", "--timeout", "0"], ["--timeout", "positive"]


@case
def selection_given_the_wrong_table(i):
    return (["select-cell-lines", "--mutations", i.anchors, "--samples", i.anchors, "--lineages", "Lung", "Lymphoid",
             "--split", "train=0.5", "val=0.25", "test=0.25", "--seed", "1", "--out-cell-lines", i.out / "c.parquet",
             "--out-anchors", i.out / "a.parquet", "--qc", i.out / "qc.tsv"], ["anchors.parquet", "lineage"])


@case
def prepare_mito_without_input(i):
    return ["prepare-mito", "--out", i.out / "12s.parquet"], ["no input"]


# -- unusable paths


@case
def reference_path_missing(i):
    return _reference_windows(i, reference=i.root / "in" / "nope.fa.gz"), ["nope.fa.gz", "not found"]


@case
def reference_path_is_a_directory(i):
    return _reference_windows(i, reference=i.root / "in"), ["in"]


@case
def mutations_path_missing(i):
    return _prepare_mutations(i, i.root / "in" / "nope.csv"), ["nope.csv", "not found"]


@case
def samples_path_missing(i):
    return _prepare_mutations(i, None, i.root / "in" / "nope.csv"), ["nope.csv", "not found"]


# -- FASTA content


@case
def fasta_text_before_first_header(i):
    source = i.write("x.fa", "hello\n>chr1\nACGT\n")
    return ["prepare-reference", "--source", source, "--out", i.out / "g.fa"], ["x.fa", "line 1", "not a FASTA"]


@case
def fasta_invalid_character(i):
    source = i.write("x.fa", ">chr1\nACGT\nAC!T\n")
    return ["prepare-reference", "--source", source, "--out", i.out / "g.fa"], ["x.fa", "chr1", "invalid character"]


@case
def fasta_duplicate_names(i):
    source = i.write("x.fa", ">chr1\nACGT\n>1\nACGT\n")
    return ["prepare-reference", "--source", source, "--out", i.out / "g.fa"], ["x.fa", "duplicate sequence name"]


@case
def fasta_empty(i):
    source = i.write("x.fa", "")
    return ["prepare-reference", "--source", source, "--out", i.out / "g.fa"], ["x.fa", "no FASTA records"]


@case
def fasta_empty_sequence(i):
    source = i.write("x.fa", ">chr1\n>chr2\nACGT\n")
    return ["prepare-reference", "--source", source, "--out", i.out / "g.fa"], ["x.fa", "chr1", "empty sequence"]


@case
def viral_fasta_invalid_character(i):
    source = i.write("v.fna", ">NC_1.1 x\nACGU\n")
    return (["prepare-viral", "--fasta", source, "--out-genomes", i.out / "g.parquet", "--out-labels",
             i.out / "l.parquet"], ["v.fna", "NC_1.1", "invalid character"])


# -- mutation tables


LAST_ROW = f"line {len(_mutation_rows(_sequences())) + 1}"  # the header is line 1


def _rows_with(i: Inputs, **change) -> list:
    rows = [list(r) for r in _mutation_rows(i.sequences)]
    columns = {"sample": 0, "chrom": 1, "pos": 2, "ref": 3, "alt": 4}
    for key, value in change.items():
        rows[-1][columns[key]] = value
    return rows


@case
def mutation_position_not_a_number(i):
    source = i.write("m.csv", depmap_csv(_rows_with(i, pos="12x")))
    return _prepare_mutations(i, source), ["m.csv", LAST_ROW, "not a positive integer"]


@case
def mutation_position_beyond_chromosome(i):
    source = i.write("m.csv", depmap_csv(_rows_with(i, pos=LENGTHS["chr22"] + 5)))
    return _prepare_mutations(i, source), ["m.csv", LAST_ROW, "beyond the end of chr22"]


@case
def mutation_unknown_chromosome(i):
    source = i.write("m.csv", depmap_csv(_rows_with(i, chrom="chrUn_KI270302v1")))
    return _prepare_mutations(i, source), ["m.csv", LAST_ROW, "chrUn_KI270302v1"]


@case
def mutation_invalid_allele(i):
    source = i.write("m.csv", depmap_csv(_rows_with(i, alt="X")))
    return _prepare_mutations(i, source), ["m.csv", LAST_ROW, "invalid ALT allele"]


@case
def mutation_ref_disagrees_with_reference(i):
    rows = [list(r) for r in _mutation_rows(i.sequences)]
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    for row in rows[: len(rows) // 2]:
        row[3], row[4] = complement[row[3]], row[3]
    source = i.write("m.csv", depmap_csv(rows))
    return _prepare_mutations(i, source), ["m.csv", "disagrees", "wrong assembly"]


@case
def mutation_empty_sample(i):
    source = i.write("m.csv", depmap_csv(_rows_with(i, sample="")))
    return _prepare_mutations(i, source), ["m.csv", LAST_ROW, "empty value in column ModelID"]


@case
def mutation_table_missing_column(i):
    source = i.write("m.csv", i.mutations.read_text().replace("Alt,", "Alternative,", 1))
    return _prepare_mutations(i, source), ["m.csv", "missing required column(s) Alt"]


@case
def mutation_row_with_extra_fields(i):
    lines = i.mutations.read_text().splitlines()
    lines[5] += ",extra,fields"
    source = i.write("m.csv", "\n".join(lines) + "\n")
    return _prepare_mutations(i, source), ["m.csv", "line 6", "malformed table"]


@case
def maf_both_alleles_gap(i):
    lines = ["Chromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\tTumor_Sample_Barcode",
             "chr22\t100\t-\t-\tACH-1"]
    source = i.write("cells.maf", "\n".join(lines) + "\n")
    return _prepare_mutations(i, source, None, "--format", "maf"), ["cells.maf", "line 2", "both alleles"]


@case
def vcf_position_not_a_number(i):
    vcf = i.write("cells.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr22>\n"
                               '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tACH-1\n"
                               "chr22\tnot_a_number\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\n")
    return _prepare_mutations(i, vcf, None, "--format", "vcf"), ["cells.vcf"]


@case
def vcf_without_samples(i):
    vcf = i.write("cells.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr22>\n"
                               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                               "chr22\t10\t.\tA\tC\t.\tPASS\t.\n")
    return _prepare_mutations(i, vcf, None, "--format", "vcf"), ["cells.vcf", "no sample columns"]


@case
def mutations_parquet_not_parquet(i):
    source = i.write("m.parquet", "PAR1 but not really")
    return _prepare_mutations(i, source, None, "--format", "parquet"), ["m.parquet", "parquet"]


@case
def samples_duplicate_model_id(i):
    source = i.write("Model.csv", i.samples.read_text() + "ACH-1,LINE-X,Lung,disease\n")
    return _prepare_mutations(i, None, source), ["Model.csv", "duplicate ModelID 'ACH-1'"]


@case
def samples_missing_lineage_column(i):
    source = i.write("Model.csv", i.samples.read_text().replace("OncotreeLineage", "Lineage"))
    return _prepare_mutations(i, None, source), ["Model.csv", "OncotreeLineage"]


@case
def anchors_missing_columns(i):
    path = i.root / "in" / "a.parquet"
    pl.read_parquet(i.anchors).drop("split").write_parquet(path)
    return _mutate_windows(i, anchors=path), ["a.parquet", "split"]


@case
def anchors_not_parquet(i):
    path = i.write("a.parquet", "hello")
    return _mutate_windows(i, anchors=path), ["a.parquet", "cannot read"]


# -- archives


def _zip(i: Inputs, name: str, members: dict[str, bytes], symlink: str | None = None) -> Path:
    path = i.root / "in" / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, "/etc/passwd")
    return path


def _benchmark(i: Inputs, archive: Path) -> list:
    return ["prepare-benchmark", "--format", "nucleotide-transformer", "--input", archive, "--out",
            i.out / "b.parquet", "--qc", i.out / "qc.tsv"]


@case
def zip_member_escapes(i):
    return _benchmark(i, _zip(i, "b.zip", {"task/../../evil.txt": b"x"})), ["b.zip", "evil.txt", ".."]


@case
def zip_member_absolute(i):
    return _benchmark(i, _zip(i, "b.zip", {"/tmp/evil.txt": b"x"})), ["b.zip", "absolute"]


@case
def zip_member_symlink(i):
    return _benchmark(i, _zip(i, "b.zip", {"task/a.txt": b"x"}, symlink="task/link")), ["b.zip", "symbolic link"]


@case
def zip_not_a_zip(i):
    return _benchmark(i, i.write("b.zip", "PK but no")), ["b.zip", "not a readable zip"]


@case
def zip_with_two_top_directories(i):
    return _benchmark(i, _zip(i, "b.zip", {"a/x.txt": b"x", "b/y.txt": b"y"})), ["b.zip", "one top-level directory"]


@case
def zip_bomb_ratio(i):
    archive = _zip(i, "b.zip", {"task/train.fna": b">a|0\n" + b"A" * (8 << 20) + b"\n"})
    return _benchmark(i, archive), ["b.zip", "task/train.fna", "compression ratio", "archives.max_ratio"]


@case
def zip_over_total_size(i):
    archive = _zip(i, "b.zip", {"task/train.fna": b">a|0\nACGT\n" * 1000})
    return _benchmark(i, archive) + ["--zip-max-bytes", "1000"], ["b.zip", "archives.max_total_bytes"]


@case
def zip_too_many_members(i):
    archive = _zip(i, "b.zip", {f"task/{n}.txt": b"x" for n in range(20)})
    return _benchmark(i, archive) + ["--zip-max-members", "10"], ["b.zip", "20 members", "archives.max_members"]


@case
def zip_limits_from_the_command_line_checked(i):
    archive = _zip(i, "b.zip", {"task/a.txt": b"x"})
    return _benchmark(i, archive) + ["--zip-max-ratio", "0.5"], ["--zip-max-*", "max_ratio"]


# -- results


@case
def collect_metrics_on_a_missing_file(i):
    return (["collect-metrics", i.root / "in" / "nope.parquet", "--out", i.out / "metrics.parquet"],
            ["nope.parquet", "cannot read"])


@case
def collect_metrics_on_a_foreign_table(i):
    return (["collect-metrics", i.anchors, "--out", i.out / "metrics.parquet", "--tsv", i.out / "metrics.tsv"],
            ["anchors.parquet", "not a genolm metrics table"])


# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_refused_cleanly(name, inputs, capsys):
    argv, fragments = CASES[name](inputs)
    before = snapshot(inputs.root)
    code, stderr = run_cli(argv, capsys)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert lines, "no message"
    message = lines[-1]
    command = str(argv[0])
    assert message.startswith(f"genolm {command}: error: "), message
    for fragment in fragments:
        assert str(fragment) in message, f"{fragment!r} not in: {message}"
    assert snapshot(inputs.root) == before, "the command changed the directory it ran in"


def test_there_are_at_least_sixty_classes():
    assert len(CASES) >= 60, len(CASES)


# ---------------------------------------------------------------------------------------------------------------
# Careless input that is accepted, but never silently changes the data.


def test_metadata_whitespace_is_trimmed_and_counted(inputs, capsys):
    """'Lung ' is the lineage Lung: no sample is lost, and the trimmed values are counted in the QC table."""
    text = inputs.samples.read_text().replace(",Lung,", ",Lung ,", 1).replace(",Lymphoid,", ", Lymphoid,", 1)
    samples = inputs.write("Model_spaces.csv", text)
    code, stderr = run_cli(_prepare_mutations(inputs, None, samples), capsys)
    assert code == 0, stderr
    table = pl.read_parquet(inputs.out / "s.parquet")
    assert sorted(table["lineage"].unique().to_list()) == ["Lung", "Lymphoid"]
    qc = pl.read_csv(inputs.out / "qc.tsv", separator="\t")
    assert qc.filter(pl.col("reason") == "sample_value_whitespace_trimmed")["count"].sum() == 2


def test_anchor_chromosomes_in_another_naming_meet_the_reference(inputs, capsys):
    """Anchors written `22`/`NC_000021.9` give the same windows as anchors written `chr22`/`chr21`."""
    code, stderr = run_cli(_mutate_windows(inputs), capsys)
    assert code == 0, stderr
    expected = pl.read_parquet(inputs.out / "shards" / "train").sort("window_id")
    renamed = pl.read_parquet(inputs.anchors).with_columns(
        pl.col("chrom").replace({"chr22": "22", "chr21": "NC_000021.9"}))
    path = inputs.root / "in" / "renamed.parquet"
    renamed.write_parquet(path)
    args = _mutate_windows(inputs, anchors=path)
    args[args.index("--out") + 1] = inputs.out / "renamed"
    code, stderr = run_cli(args, capsys)
    assert code == 0, stderr
    got = pl.read_parquet(inputs.out / "renamed" / "train").sort("window_id")
    assert got.height == expected.height > 0
    assert got["sequence"].to_list() == expected["sequence"].to_list()
    assert got["chrom"].to_list() == expected["chrom"].to_list()


def test_an_empty_dataset_only_when_asked_for(inputs, capsys):
    args = _reference_windows(inputs, "--allow-empty")
    args[args.index("--length") + 1] = "5000"
    code, stderr = run_cli(args, capsys)
    assert code == 0, stderr
    manifest = json.loads((inputs.out / "shards" / "manifest.json").read_text())
    assert manifest["splits"] == {}


def test_a_failed_command_keeps_the_previous_outputs(inputs, capsys):
    """A rerun that fails leaves the outputs of the last successful run as they were."""
    code, stderr = run_cli(_reference_windows(inputs), capsys)
    assert code == 0, stderr
    before = snapshot(inputs.out)
    code, _ = run_cli(_reference_windows(inputs, "--chromosomes", "chr5"), capsys)
    assert code == 2
    assert snapshot(inputs.out) == before


def test_an_internal_error_says_it_is_a_bug(inputs, capsys, monkeypatch):
    import genolm.commands.reference_windows as command

    def broken(*args, **kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(command, "reference_windows", broken)
    before = snapshot(inputs.root)
    code, stderr = run_cli(_reference_windows(inputs), capsys)
    assert code == 1
    assert "bug in genolm" in stderr and "Traceback" in stderr and "ZeroDivisionError: planted" in stderr
    assert snapshot(inputs.root) == before


def test_a_failed_release_set_keeps_its_verified_files_but_writes_no_manifest(inputs, capsys):
    """download-listed: the manifest is the stage's output (none on failure); each file already verified stays,
    with its provenance, so that a rerun after a network failure fetches only what is missing."""
    release = inputs.root / "in" / "release"
    release.mkdir()
    (release / "viral.1.fna.gz").write_bytes(gzip.compress(b">a\nACGT\n"))
    (release / "viral.2.fna.gz").write_bytes(gzip.compress(b">b\nACGT\n")[:-6])  # cut short
    out = inputs.out / "listed"
    argv = ["download-listed", "--listing", release, "--pattern", r"viral\.\d\.fna\.gz", "--out-dir", out]
    code, stderr = run_cli(argv, capsys)
    assert code == 2 and "viral.2.fna.gz" in stderr.splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == ["viral.1.fna.gz", "viral.1.fna.gz.provenance.json"]
    (release / "viral.2.fna.gz").write_bytes(gzip.compress(b">b\nACGT\n"))
    code, stderr = run_cli(argv, capsys)
    assert code == 0, stderr
    assert "viral.1.fna.gz: already downloaded" in stderr
    assert (out / "files.tsv").is_file()
