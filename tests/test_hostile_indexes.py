""".fai and .gzi indexes are checked against their FASTA's content, not modification times (issue #21, item 1).

A FASTA rewritten with other line lengths and its old index copied back (newer, as `cp` and `rsync` leave it) used
to be trusted: every window held wrong bases. Now a stale index is rebuilt where its directory is writable and
refused with one line naming it where not; a good index older than its FASTA is used as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from Bio import bgzf as bio_bgzf

from genolm.errors import GenolmInputError
from genolm.datasets.shards import read_shards
from genolm.sources import fasta_index
from genolm.sources.bgzf import BgzfWriter, gzi_entries, read_gzi, walk_blocks
from genolm.sources.fasta_index import build_fai, ensure_fasta_indexes
from genolm.sources.reference import ReferenceGenome, prepare_reference
from test_hostile_input import run_cli, snapshot

# Long enough for several BGZF blocks (65,280 bytes each) and many lines per record.
LENGTHS = {"chr1": 150_000, "chr2": 999, "chrM": 61}


@pytest.fixture(scope="module")
def sequences() -> dict[str, str]:
    rng = np.random.default_rng(21)
    return {name: "".join(rng.choice(list("ACGT"), size=n)) for name, n in LENGTHS.items()}


def fasta_text(sequences: dict[str, str], width: int, extra: str = "") -> bytes:
    lines = []
    for name, sequence in sequences.items():
        lines.append(f">{name} description\n")
        lines += [sequence[i:i + width] + "\n" for i in range(0, len(sequence), width)]
    return ("".join(lines) + extra).encode()


def write_bgzf(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        writer = BgzfWriter(handle)
        writer.write(data)
        writer.close()


def indexed(directory: Path, sequences: dict[str, str], *, bgzip: bool, width: int = 60) -> Path:
    """A FASTA with `width`-base lines and its indexes (as ReferenceGenome builds them when missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ("genome.fa.gz" if bgzip else "genome.fa")
    data = fasta_text(sequences, width)
    write_bgzf(path, data) if bgzip else path.write_bytes(data)
    ensure_fasta_indexes(path)
    return path


def rewrite_keeping_old_indexes(path: Path, data: bytes, *, bgzip: bool) -> None:
    """Rewrite the FASTA, then put its old indexes back, newer than it (what `cp`/`rsync` of a stale set do)."""
    indexes = [Path(f"{path}{suffix}") for suffix in (".fai", ".gzi") if Path(f"{path}{suffix}").exists()]
    saved = {index: index.read_bytes() for index in indexes}
    write_bgzf(path, data) if bgzip else path.write_bytes(data)
    later = path.stat().st_mtime + 60
    for index, content in saved.items():
        index.write_bytes(content)
        os.utime(index, (later, later))


def assert_reads_right(path: Path, sequences: dict[str, str]) -> None:
    reference = ReferenceGenome(path)
    assert reference.lengths == {name: len(s) for name, s in sequences.items()}
    for name, sequence in sequences.items():
        assert reference.fetch(name, 0, len(sequence)) == sequence
        middle = slice(len(sequence) // 3, min(len(sequence), len(sequence) // 3 + 50))
        assert reference.fetch(name, middle.start, middle.stop) == sequence[middle]
        assert reference.array(name).tobytes().decode() == sequence


@pytest.mark.parametrize("bgzip", [False, True], ids=["plain", "bgzf"])
def test_reference_windows_after_a_rewrite_with_other_line_lengths(tmp_path, capsys, sequences, bgzip):
    """The issue's case: rewritten with 70-base lines, the 60-base index copied back; windows must be right."""
    path = indexed(tmp_path / "in", sequences, bgzip=bgzip)
    rewrite_keeping_old_indexes(path, fasta_text(sequences, 70), bgzip=bgzip)
    out = tmp_path / "out"
    code, stderr = run_cli(["reference-windows", "--reference", path, "--length", "500", "--seed", "1",
                            "--max-windows", "20", "--out", out / "shards", "--qc", out / "qc.tsv",
                            "--chromosomes", "all"], capsys)
    assert code == 0, stderr
    assert "does not describe genome.fa" in stderr  # the rebuild is logged
    windows = read_shards(out / "shards", "train", columns=["sequence", "chrom", "ref_start"]).to_pylist()
    assert len(windows) == 20
    wrong = [w for w in windows if w["sequence"] != sequences[w["chrom"]][w["ref_start"]:w["ref_start"] + 500]]
    assert wrong == []
    assert Path(f"{path}.fai").read_text().splitlines()[0].split("\t")[3:] == ["70", "71"]
    assert [p.name for p in path.parent.iterdir() if ".tmp-" in p.name] == []


# Ways a FASTA changes under an index that described it; each must be noticed (refused when read-only).
def _wider_lines(sequences):
    return fasta_text(sequences, 61)


def _one_line_longer(sequences):  # chrM gains exactly one full line: every line still ends where it did
    return fasta_text({**sequences, "chrM": sequences["chrM"] + "A" * 60}, 60)


def _one_base_shorter(sequences):
    return fasta_text({**sequences, "chr2": sequences["chr2"][:-1]}, 60)


def _record_appended(sequences):
    return fasta_text(sequences, 60, extra=">chrX\nACGT\n")


def _record_renamed(sequences):
    return fasta_text({("chr3" if name == "chr2" else name): s for name, s in sequences.items()}, 60)


def _cut_short(sequences):
    return fasta_text(sequences, 60)[:-200]


def _windows_line_ends(sequences):
    return fasta_text(sequences, 60).replace(b"\n", b"\r\n")


CHANGES = [_wider_lines, _one_line_longer, _one_base_shorter, _record_appended, _record_renamed, _cut_short,
           _windows_line_ends]


@pytest.mark.parametrize("bgzip", [False, True], ids=["plain", "bgzf"])
@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_a_stale_index_is_refused_where_it_cannot_be_rebuilt(tmp_path, monkeypatch, sequences, change, bgzip):
    path = indexed(tmp_path, sequences, bgzip=bgzip)
    rewrite_keeping_old_indexes(path, change(sequences), bgzip=bgzip)
    monkeypatch.setattr(fasta_index, "_directory_writable", lambda directory: False)  # root ignores chmod
    before = snapshot(tmp_path)
    with pytest.raises(GenolmInputError) as refused:
        ReferenceGenome(path)
    message = str(refused.value)
    assert refused.value.path.endswith((".fai", ".gzi")) and "does not describe genome.fa" in message
    assert "not writable" in message and "\n" not in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("bgzip", [False, True], ids=["plain", "bgzf"])
@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_a_stale_index_is_rebuilt_where_it_can_be(tmp_path, sequences, change, bgzip):
    path = indexed(tmp_path, sequences, bgzip=bgzip)
    data = change(sequences)
    rewrite_keeping_old_indexes(path, data, bgzip=bgzip)
    expected = {}
    for line in data.decode().replace("\r", "").split(">")[1:]:
        header, *rows = line.split("\n")
        expected[header.split()[0]] = "".join(rows)
    assert_reads_right(path, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["genome.fa.gz", "genome.fa.gz.fai", "genome.fa.gz.gzi"] if bgzip else ["genome.fa", "genome.fa.fai"])


def test_a_good_index_older_than_its_fasta_is_used_as_it_is(tmp_path, sequences):
    """`cp genome.fa.fai` before `cp genome.fa`: the index is older but right, and must not be rebuilt."""
    path = indexed(tmp_path, sequences, bgzip=True)
    later = Path(f"{path}.fai").stat().st_mtime + 60
    os.utime(path, (later, later))
    before = snapshot(tmp_path)
    assert_reads_right(path, sequences)
    assert snapshot(tmp_path) == before


def test_a_gzi_of_another_compression_is_rebuilt(tmp_path, sequences):
    """Same text recompressed with other block boundaries: the .fai still fits, the .gzi offsets do not."""
    path = indexed(tmp_path, sequences, bgzip=True)
    fai = Path(f"{path}.fai").read_bytes()
    gzi = Path(f"{path}.gzi").read_bytes()
    with bio_bgzf.BgzfWriter(str(path), "wb", compresslevel=1) as writer:  # 64 KiB blocks, not 65,280 bytes
        writer.write(fasta_text(sequences, 60))
    Path(f"{path}.gzi").write_bytes(gzi)
    blocks, total = walk_blocks(path)
    assert read_gzi(Path(f"{path}.gzi"))[1:] != blocks[1:]
    assert_reads_right(path, sequences)
    assert read_gzi(Path(f"{path}.gzi"))[1:] == gzi_entries(blocks, total)
    assert Path(f"{path}.fai").read_bytes() == fai  # untouched: it was right


def test_missing_indexes_are_built_as_prepare_reference_writes_them(tmp_path, sequences):
    source = tmp_path / "source.fa"
    source.write_bytes(fasta_text(sequences, 80))
    prepared = tmp_path / "genome.fa.gz"
    prepare_reference(source, prepared)
    written = {suffix: Path(f"{prepared}{suffix}").read_bytes() for suffix in (".fai", ".gzi")}
    for suffix in written:
        Path(f"{prepared}{suffix}").unlink()
    ensure_fasta_indexes(prepared)
    assert {suffix: Path(f"{prepared}{suffix}").read_bytes() for suffix in written} == written
    assert build_fai(source, False).splitlines()[0] == f"chr1\t150000\t{len('>chr1 description') + 1}\t80\t81"


def test_an_unindexable_fasta_is_refused_naming_its_record(tmp_path, sequences):
    path = indexed(tmp_path, sequences, bgzip=False)
    ragged = fasta_text(sequences, 60).split(b"\n")
    ragged[5] = ragged[5][:30]  # one short line in the middle of chr1
    rewrite_keeping_old_indexes(path, b"\n".join(ragged), bgzip=False)
    with pytest.raises(GenolmInputError, match=r"genome\.fa: record 'chr1', line 7: a sequence line after a shorter"):
        ReferenceGenome(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genome.fa", "genome.fa.fai"]


def test_the_check_reads_a_few_bytes_per_record(tmp_path, sequences, monkeypatch):
    """No full read: the bytes the .fai check asks for are bounded by a few lines per record."""
    path = indexed(tmp_path, sequences, bgzip=False)
    asked = []
    original = fasta_index._Content.read

    def counting(self, start, length):
        asked.append(length)
        return original(self, start, length)

    monkeypatch.setattr(fasta_index._Content, "read", counting)
    ensure_fasta_indexes(path)
    assert sum(asked) < 2000 and path.stat().st_size > 150_000


def test_a_refused_index_on_the_command_line_is_one_line(tmp_path, capsys, monkeypatch, sequences):
    path = indexed(tmp_path / "in", sequences, bgzip=True)
    rewrite_keeping_old_indexes(path, fasta_text(sequences, 70), bgzip=True)
    monkeypatch.setattr(fasta_index, "_directory_writable", lambda directory: False)
    before = snapshot(tmp_path)
    code, stderr = run_cli(["reference-windows", "--reference", path, "--length", "500", "--seed", "1",
                            "--out", tmp_path / "out" / "shards", "--qc", tmp_path / "out" / "qc.tsv",
                            "--chromosomes", "all"], capsys)
    assert code == 2
    assert stderr.count("\n") == 1 and "genome.fa.gz.gzi: does not describe genome.fa.gz" in stderr
    assert snapshot(tmp_path) == before
