"""genolm.sources.download against a real loopback HTTP server with injected faults."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from http_mirror import Fault, HttpMirror, http_mirror  # noqa: F401  (http_mirror is a fixture)

from genolm.cli import main
from genolm.sources.checksums import new_hasher, normalise_checksum, parse_checksum_listing
from genolm.sources.download import ZipLimits, download, provenance_path, read_provenance, safe_extract_zip
from genolm.errors import GenolmInputError

FAST = {"timeout": 1.0, "backoff": 0.0, "progress": False}


LIMITS = ZipLimits(max_total_bytes=1 << 30, max_ratio=200, max_members=1000)


def _fasta_gz(n_records: int = 200) -> bytes:
    # Random sequence compresses poorly, so the gzip is large enough to be cut in the middle of a block.
    rng = __import__("random").Random(n_records)
    text = "".join(
        f">seq{i}\n" + "".join(rng.choice("ACGT") for _ in range(300)) + "\n" for i in range(n_records)
    )
    return gzip.compress(text.encode(), mtime=0)


def _serve(mirror: HttpMirror, name: str, data: bytes) -> str:
    (mirror.root / name).write_bytes(data)
    return mirror.url(name)


def _assert_nothing_left(dest: Path) -> None:
    assert not dest.exists()
    assert not dest.with_name(dest.name + ".part").exists()
    assert not provenance_path(dest).exists()


def _bsd_sum_command(path: Path) -> str:
    printed = subprocess.run(["sum", "-r", str(path)], check=True, capture_output=True, text=True).stdout
    checksum, blocks = printed.split()[:2]
    return f"{int(checksum)} {int(blocks)}"


# --- checksums -------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("sum") is None, reason="coreutils `sum` not installed")
@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 70_001])
def test_bsd_sum_matches_coreutils_sum(tmp_path, size):
    data = os.urandom(size) if size != 70_001 else b"\xff" * size  # all-0xff drives every carry
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    hasher = new_hasher("bsdsum")
    for start in range(0, size, 4096):  # in pieces, as a download feeds it
        hasher.update(data[start : start + 4096])
    assert hasher.hexdigest() == _bsd_sum_command(path)


def test_listing_formats_parse_to_algorithm_and_checksum():
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    listing = f"{md5.upper()}  ./a.fa.gz\n{sha} *b.txt\n01234    17 c.fa.gz\n\n"
    assert parse_checksum_listing(listing, "L") == {
        "a.fa.gz": ("md5", md5), "b.txt": ("sha256", sha), "c.fa.gz": ("bsdsum", "1234 17"),
    }
    with pytest.raises(GenolmInputError, match="line 2"):
        parse_checksum_listing(f"{md5}  a\nnot a checksum line\n", "L")
    with pytest.raises(GenolmInputError, match="hex digits"):
        normalise_checksum("md5", "abc", "--md5")


# --- successful downloads --------------------------------------------------------------------------------


def test_gzip_with_md5_from_ucsc_md5sum_txt(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "hg38.fa.gz", data)
    md5 = hashlib.md5(data).hexdigest()
    listing = _serve(http_mirror, "md5sum.txt", f"{'0' * 32}  hg38.2bit\n{md5}  hg38.fa.gz\n".encode())
    dest = tmp_path / "out" / "hg38.fa.gz"

    record = download(url, dest, checksum_listing=listing, expect="gzip", **FAST)

    assert dest.read_bytes() == data
    assert (record.algorithm, record.checksum, record.verified, record.size) == ("md5", md5, True, len(data))
    assert read_provenance(dest) == record
    assert json.loads(provenance_path(dest).read_text())["url"] == url
    assert not dest.with_name(dest.name + ".part").exists()


def test_md5_from_ncbi_md5checksums_txt(http_mirror, tmp_path):
    data = _fasta_gz()
    name = "GCF_000001405.40_GRCh38.p14_genomic.fna.gz"
    url = _serve(http_mirror, name, data)
    listing = _serve(
        http_mirror, "md5checksums.txt",
        f"{'1' * 32}  ./README.txt\n{hashlib.md5(data).hexdigest()}  ./{name}\n".encode(),
    )
    record = download(url, tmp_path / name, checksum_listing=listing, expect="gzip", **FAST)
    assert record.verified and record.checksum == hashlib.md5(data).hexdigest()


def test_sha256_given_directly(http_mirror, tmp_path):
    data = b"ACH-000001,Lung\n"
    url = _serve(http_mirror, "Model.csv", data)
    record = download(url, tmp_path / "Model.csv", checksum=hashlib.sha256(data).hexdigest().upper(),
                      algorithm="sha256", expect="text", **FAST)
    assert (record.algorithm, record.checksum) == ("sha256", hashlib.sha256(data).hexdigest())


def test_bsd_sum_from_ensembl_checksums(http_mirror, tmp_path):
    data = _fasta_gz()
    name = "Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz"
    url = _serve(http_mirror, name, data)
    expected = _bsd_sum_command(http_mirror.root / name)
    checksum, blocks = expected.split()
    listing = _serve(
        http_mirror, "CHECKSUMS", f"12345 7 Homo_sapiens.GRCh38.dna.alt.fa.gz\n{checksum} {blocks} {name}\n".encode()
    )

    record = download(url, tmp_path / name, checksum_listing=listing, expect="gzip", **FAST)

    assert (record.algorithm, record.checksum, record.verified) == ("bsdsum", expected, True)


def test_multi_member_gzip_is_accepted(http_mirror, tmp_path):
    # bgzip writes many members and an empty one at the end; all must be read.
    data = gzip.compress(b"A" * 5_000_000, mtime=0) + _fasta_gz() + gzip.compress(b"", mtime=0)
    url = _serve(http_mirror, "x.fa.gz", data)
    assert download(url, tmp_path / "x.fa.gz", expect="gzip", **FAST).size == len(data)


def test_file_url_and_local_path_use_the_same_code(tmp_path):
    data = _fasta_gz()
    source = tmp_path / "lab mirror" / "hg38.fa.gz"
    source.parent.mkdir()
    source.write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()

    by_url = download(source.as_uri(), tmp_path / "a.fa.gz", checksum=md5, expect="gzip", **FAST)
    by_path = download(str(source), tmp_path / "b.fa.gz", checksum=md5, expect="gzip", **FAST)

    assert by_url.verified and by_path.verified
    assert (tmp_path / "b.fa.gz").read_bytes() == data
    with pytest.raises(GenolmInputError, match="cannot open"):
        download(str(tmp_path / "missing.fa.gz"), tmp_path / "c.fa.gz", **FAST)
    _assert_nothing_left(tmp_path / "c.fa.gz")


def test_second_call_is_a_cache_hit_and_a_new_checksum_is_not(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    dest = tmp_path / "g.fa.gz"
    md5 = hashlib.md5(data).hexdigest()
    first = download(url, dest, checksum=md5, **FAST)
    mtime = dest.stat().st_mtime_ns

    assert download(url, dest, checksum=md5, **FAST) == first
    assert download(url, dest, **FAST) == first  # no checksum asked for: any verified copy of the URL will do
    assert len(http_mirror.requests_for("g.fa.gz")) == 1
    assert dest.stat().st_mtime_ns == mtime

    sha = hashlib.sha256(data).hexdigest()
    assert download(url, dest, checksum=sha, algorithm="sha256", **FAST).checksum == sha
    assert len(http_mirror.requests_for("g.fa.gz")) == 2


# --- transfer failures -----------------------------------------------------------------------------------


def test_404_fails_at_once_with_status_and_url(http_mirror, tmp_path):
    dest = tmp_path / "missing.fa.gz"
    url = http_mirror.url("missing.fa.gz")
    with pytest.raises(GenolmInputError, match="HTTP 404") as error:
        download(url, dest, retries=3, **FAST)
    assert error.value.path == url
    assert len(http_mirror.requests_for("missing.fa.gz")) == 1  # no retry
    _assert_nothing_left(dest)


def test_5xx_is_retried(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    http_mirror.fault("g.fa.gz", Fault(status=503, times=2))
    download(url, tmp_path / "g.fa.gz", checksum=hashlib.md5(data).hexdigest(), retries=2, **FAST)
    assert [r.status for r in http_mirror.requests_for("g.fa.gz")] == [503, 503, 200]


def test_truncated_body_resumes_with_range(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    http_mirror.fault("g.fa.gz", Fault(truncate_at=len(data) // 3, times=1))
    dest = tmp_path / "g.fa.gz"

    download(url, dest, checksum=hashlib.md5(data).hexdigest(), expect="gzip", retries=1, **FAST)

    assert dest.read_bytes() == data
    requests = http_mirror.requests_for("g.fa.gz")
    assert [(r.status, r.range) for r in requests] == [(200, None), (206, f"bytes={len(data) // 3}-")]


def test_truncated_body_restarts_when_server_ignores_range(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    http_mirror.ranges = False
    http_mirror.fault("g.fa.gz", Fault(truncate_at=1000, times=1))
    dest = tmp_path / "g.fa.gz"

    download(url, dest, checksum=hashlib.md5(data).hexdigest(), expect="gzip", retries=1, **FAST)

    assert dest.read_bytes() == data
    assert [(r.status, r.range) for r in http_mirror.requests_for("g.fa.gz")] == [(200, None), (200, "bytes=1000-")]


def test_every_attempt_truncated_fails_cleanly(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    http_mirror.fault("g.fa.gz", Fault(truncate_at=500))
    dest = tmp_path / "g.fa.gz"
    with pytest.raises(GenolmInputError, match=r"after 3 attempt\(s\).*of %d bytes" % len(data)):
        download(url, dest, retries=2, **FAST)
    assert len(http_mirror.requests_for("g.fa.gz")) == 3
    _assert_nothing_left(dest)


def test_slow_server_times_out_then_retry_succeeds(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    http_mirror.fault("g.fa.gz", Fault(delay=0.6, times=1))
    dest = tmp_path / "g.fa.gz"
    download(url, dest, checksum=hashlib.md5(data).hexdigest(), retries=1, timeout=0.2, backoff=0.0, progress=False)
    assert dest.read_bytes() == data
    assert len(http_mirror.requests_for("g.fa.gz")) == 2


def test_slow_server_every_time_fails_with_timeout(http_mirror, tmp_path):
    url = _serve(http_mirror, "g.fa.gz", _fasta_gz())
    http_mirror.fault("g.fa.gz", Fault(delay=0.4))
    dest = tmp_path / "g.fa.gz"
    with pytest.raises(GenolmInputError, match="timed out after 0.2 s"):
        download(url, dest, retries=1, timeout=0.2, backoff=0.0, progress=False)
    _assert_nothing_left(dest)


# --- content failures ------------------------------------------------------------------------------------


def test_html_page_instead_of_gzip_is_refused(http_mirror, tmp_path):
    url = _serve(http_mirror, "g.fa.gz", _fasta_gz())
    http_mirror.fault("g.fa.gz", Fault(html=True))
    dest = tmp_path / "g.fa.gz"
    with pytest.raises(GenolmInputError, match="server returned an HTML page instead of gzip data"):
        download(url, dest, expect="gzip", **FAST)
    _assert_nothing_left(dest)


def test_wrong_checksum_is_refused(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    dest = tmp_path / "g.fa.gz"
    message = f"md5 checksum mismatch: expected {'0' * 32}, got {hashlib.md5(data).hexdigest()}"
    with pytest.raises(GenolmInputError, match=message):
        download(url, dest, checksum="0" * 32, **FAST)
    _assert_nothing_left(dest)


def test_truncated_gzip_served_completely_fails_the_gzip_check(http_mirror, tmp_path):
    data = _fasta_gz()
    cut = data[: len(data) - 100]
    url = _serve(http_mirror, "g.fa.gz", cut)
    dest = tmp_path / "g.fa.gz"
    # The md5 matches what was served: only decompressing to the end can tell the file is incomplete.
    with pytest.raises(GenolmInputError, match="gzip data is truncated"):
        download(url, dest, checksum=hashlib.md5(cut).hexdigest(), expect="gzip", **FAST)
    _assert_nothing_left(dest)


def test_checksum_missing_from_listing(http_mirror, tmp_path):
    url = _serve(http_mirror, "g.fa.gz", _fasta_gz())
    listing = _serve(http_mirror, "md5sum.txt", f"{'0' * 32}  other.fa.gz\n".encode())
    with pytest.raises(GenolmInputError, match="no checksum listed for 'g.fa.gz'") as error:
        download(url, tmp_path / "g.fa.gz", checksum_listing=listing, **FAST)
    assert error.value.path == listing
    assert http_mirror.requests_for("g.fa.gz") == []


def test_failed_redownload_leaves_no_stale_file(http_mirror, tmp_path):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    dest = tmp_path / "g.fa.gz"
    download(url, dest, **FAST)
    with pytest.raises(GenolmInputError, match="checksum mismatch"):
        download(url, dest, checksum="f" * 32, **FAST)
    _assert_nothing_left(dest)


# --- zip -------------------------------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_download_and_extraction(http_mirror, tmp_path):
    archive = _zip(http_mirror.root / "depmap.zip", {"a/Model.csv": b"x\n", "b.txt": b"y\n"})
    dest = tmp_path / "depmap.zip"
    download(http_mirror.url("depmap.zip"), dest, expect="zip", **FAST)
    assert dest.read_bytes() == archive.read_bytes()
    out = tmp_path / "unpacked"
    assert sorted(safe_extract_zip(dest, out, LIMITS)) == [out / "a" / "Model.csv", out / "b.txt"]
    assert (out / "a" / "Model.csv").read_bytes() == b"x\n"


def test_corrupt_zip_download_is_refused(http_mirror, tmp_path):
    data = _zip(tmp_path / "ok.zip", {"big.txt": os.urandom(5000)}).read_bytes()
    url = _serve(http_mirror, "bad.zip", data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:])
    dest = tmp_path / "bad.zip"
    with pytest.raises(GenolmInputError, match="zip"):
        download(url, dest, expect="zip", **FAST)
    _assert_nothing_left(dest)


@pytest.mark.parametrize("member", ["../escape.txt", "a/../../escape.txt", "/etc/escape.txt"])
def test_zip_member_escaping_destination_is_refused(tmp_path, member):
    archive = _zip(tmp_path / "evil.zip", {"fine.txt": b"ok", member: b"pwned"})
    out = tmp_path / "out"
    with pytest.raises(GenolmInputError) as error:
        safe_extract_zip(archive, out, LIMITS)
    assert error.value.record == member
    assert not (tmp_path / "escape.txt").exists()
    assert not (out / "fine.txt").exists()  # refused before anything is written


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../outside")
    with pytest.raises(GenolmInputError, match="symbolic link") as error:
        safe_extract_zip(archive, tmp_path / "out", LIMITS)
    assert error.value.record == "link"


# --- command ---------------------------------------------------------------------------------------------


def test_download_command(http_mirror, tmp_path, capsys):
    data = _fasta_gz()
    url = _serve(http_mirror, "g.fa.gz", data)
    dest = tmp_path / "g.fa.gz"
    assert main(["download", "--url", url, "--out", str(dest), "--md5", hashlib.md5(data).hexdigest(),
                 "--expect", "gzip", "--retries", "0", "--timeout", "1"]) == 0
    assert read_provenance(dest).verified

    bad = tmp_path / "bad.fa.gz"
    assert main(["download", "--url", url, "--out", str(bad), "--bsdsum", "1 1", "--retries", "0"]) == 2
    _assert_nothing_left(bad)
