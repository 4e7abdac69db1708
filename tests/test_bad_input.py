"""The bad-input contract, through the commands a rule runs: a clear message naming the file and the record,
exit status 2, and no output left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DEMO_MIRROR, run_genolm

DEPMAP = DEMO_MIRROR / "depmap"
HEADER = (DEPMAP / "OmicsSomaticMutations.csv").read_text().splitlines()[0]


def assert_refused(result, *fragments: str, absent: list[Path]):
    assert result.returncode == 2, result.stderr[-2000:]
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in result.stderr
    for path in absent:
        assert not path.exists(), f"{path} left behind"


def test_truncated_gzip_download(tmp_path):
    data = (DEMO_MIRROR / "goldenPath/hg38/bigZips/hg38.fa.gz").read_bytes()
    source = tmp_path / "hg38.fa.gz"
    source.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out" / "hg38.fa.gz"
    result = run_genolm("download", "--url", str(source), "--out", str(out), "--expect", "gzip", check=False)
    assert_refused(result, str(source), "gzip", absent=[out, out.with_name(out.name + ".part")])


def test_checksum_mismatch(tmp_path):
    out = tmp_path / "Model.csv"
    result = run_genolm("download", "--url", str(DEPMAP / "Model.csv"), "--out", str(out), "--md5", "0" * 32, check=False)
    assert_refused(result, "Model.csv", "md5", absent=[out])


def test_not_gzip_reference(tmp_path):
    fake = tmp_path / "hg38.fa.gz"
    fake.write_text("<!DOCTYPE html><html>Service unavailable</html>")
    out = tmp_path / "ref" / "genome.fa"
    result = run_genolm("prepare-reference", "--source", str(fake), "--out", str(out), check=False)
    assert_refused(result, str(fake), absent=[out, Path(str(out) + ".fai")])


def mutations_file(tmp_path: Path, rows: list[str]) -> Path:
    """A DepMap-layout CSV with the demo header and the given rows (columns as in the real file)."""
    path = tmp_path / "OmicsSomaticMutations.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def demo_row(**changes: str) -> str:
    """The first demo mutation row with some columns changed (by header name)."""
    import csv
    import io

    lines = (DEPMAP / "OmicsSomaticMutations.csv").read_text().splitlines()
    names = next(csv.reader([lines[0]]))
    row = dict(zip(names, next(csv.reader([lines[1]]))))
    row.update(changes)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([row[n] for n in names])
    return buffer.getvalue()


def prepare(demo_inputs, mutations: Path, tmp_path: Path, *extra: str):
    outs = [tmp_path / "m.parquet", tmp_path / "s.parquet", tmp_path / "qc.tsv"]
    result = run_genolm("prepare-mutations", "--mutations", str(mutations), "--samples", str(DEPMAP / "Model.csv"),
                        "--reference", str(demo_inputs["reference"]), "--out-mutations", str(outs[0]),
                        "--out-samples", str(outs[1]), "--qc", str(outs[2]), *extra, check=False)
    return result, outs


def test_ref_mismatch_names_file_and_record(demo_inputs, tmp_path):
    """One REF of two disagrees with the reference: far above the 1% a right assembly allows."""
    first = (DEPMAP / "OmicsSomaticMutations.csv").read_text().splitlines()[1]
    import csv

    row = dict(zip(next(csv.reader([HEADER])), next(csv.reader([first]))))
    complement = {"A": "T", "C": "G", "G": "C", "T": "A"}
    wrong_ref = "".join(complement[b] for b in row["Ref"])
    wrong_alt = row["Alt"] if row["Alt"] != wrong_ref else "N"
    path = mutations_file(tmp_path, [first, demo_row(Ref=wrong_ref, Alt=wrong_alt)])
    result, outs = prepare(demo_inputs, path, tmp_path)
    assert_refused(result, "OmicsSomaticMutations.csv", "line 3", absent=outs)


def test_unknown_chromosome(demo_inputs, tmp_path):
    path = mutations_file(tmp_path, [demo_row(), demo_row(Chrom="chrUn_KI270302v1")])
    result, outs = prepare(demo_inputs, path, tmp_path)
    assert_refused(result, "OmicsSomaticMutations.csv", "line 3", "chrUn_KI270302v1", absent=outs)


def test_malformed_csv(demo_inputs, tmp_path):
    path = mutations_file(tmp_path, [demo_row(), demo_row(Pos="12x45")])
    result, outs = prepare(demo_inputs, path, tmp_path)
    assert_refused(result, "OmicsSomaticMutations.csv", "line 3", absent=outs)


def test_malformed_vcf(demo_inputs, tmp_path):
    vcf = tmp_path / "cells.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tACH-1\n"
        "chr1\tnot_a_number\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\n"
    )
    result, outs = prepare(demo_inputs, vcf, tmp_path, "--format", "vcf")
    assert_refused(result, "cells.vcf", absent=outs)


def test_mutate_windows_leaves_no_partial_shards(demo_inputs, tmp_path):
    path = mutations_file(tmp_path, [demo_row(), demo_row(Chrom="chrUn_KI270302v1")])
    out = tmp_path / "shards"
    result = run_genolm("mutate-windows", "--reference", str(demo_inputs["reference"]), "--mutations", str(path),
                        "--samples", str(DEPMAP / "Model.csv"), "--length", "64", "--seed", "1", "--out", str(out),
                        check=False)
    assert_refused(result, "OmicsSomaticMutations.csv", "chrUn_KI270302v1", absent=[out])
    assert not list(tmp_path.glob(".shards*"))
