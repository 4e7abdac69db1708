"""The one FASTA reader (genolm.sources.fasta): property-based round trips, and clear errors on bad input."""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genolm.errors import GenolmInputError
from genolm.sources.fasta import FastaRecord, fasta_records, is_gzip, read_fasta

# A title is any single line of text (without surrounding whitespace, which the reader strips); a sequence any
# run of IUPAC codes, gaps and stops in either case, empty included.
titles = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40).map(str.strip)
sequences = st.text(alphabet="ACGTNRYKMSWBDHVacgtnrykmswbdhv-*", max_size=300)
records = st.lists(st.tuples(titles, sequences), max_size=8)
widths = st.integers(min_value=1, max_value=100)
line_ends = st.sampled_from(["\n", "\r\n"])

PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fasta_text(recs: list[tuple[str, str]], width: int, newline: str = "\n",
               blank_lines: bool = False) -> tuple[str, list[int]]:
    """The FASTA text of `recs` wrapped at `width`, and the line number of each header."""
    lines: list[str] = []
    header_lines = []
    for title, sequence in recs:
        if blank_lines:
            lines.append("")
        lines.append(f">{title}")
        header_lines.append(len(lines))
        lines += [sequence[i:i + width] for i in range(0, len(sequence), width)]
        if blank_lines:
            lines.append("   ")
    return "".join(line + newline for line in lines), header_lines


@PROPERTIES
@given(recs=records, width=widths, newline=line_ends, blank_lines=st.booleans())
def test_round_trip(recs, width, newline, blank_lines):
    text, header_lines = fasta_text(recs, width, newline, blank_lines)
    read = list(fasta_records(io.BytesIO(text.encode("utf-8")), name="mem.fa"))
    assert read == [FastaRecord(t, s, n) for (t, s), n in zip(recs, header_lines)]
    assert list(read_fasta(io.BytesIO(text.encode("utf-8")))) == recs


@PROPERTIES
@given(recs=records, first=widths, second=widths)
def test_line_wrapping_does_not_change_the_records(recs, first, second):
    def parse(width):
        return list(read_fasta(io.StringIO(fasta_text(recs, width)[0])))

    assert parse(first) == parse(second) == recs


@PROPERTIES
@given(recs=records, width=widths, members=st.integers(min_value=1, max_value=4))
def test_gzip_and_multi_member_gzip_read_like_plain_text(recs, width, members):
    raw = fasta_text(recs, width)[0].encode("utf-8")
    # bgzip writes many concatenated gzip members: the reader must read them all.
    cut = [len(raw) * i // members for i in range(members + 1)]
    compressed = b"".join(gzip.compress(raw[a:b], mtime=0) for a, b in zip(cut, cut[1:]))
    with tempfile.TemporaryDirectory() as tmp:
        plain, packed = Path(tmp) / "plain.fa", Path(tmp) / "packed.fa"  # the content decides, not the name
        plain.write_bytes(raw)
        expected = list(fasta_records(plain))
        packed.write_bytes(compressed)
        assert is_gzip(packed)
        assert list(fasta_records(packed)) == expected
        assert list(fasta_records(str(packed))) == expected
        with open(packed, "rb") as handle:
            assert list(fasta_records(handle)) == expected
            assert not handle.closed  # a caller's handle stays open
        assert [r.line for r in fasta_records(packed, name="named.fa")] == [r.line for r in expected]
    assert [(r.title, r.sequence) for r in expected] == recs


@PROPERTIES
@given(recs=records.filter(bool), width=widths,
       junk=st.text(st.characters(codec="utf-8", exclude_characters="\r\n>"), min_size=1).filter(str.strip),
       blank=st.integers(min_value=0, max_value=3))
def test_text_before_the_first_header_is_refused_with_its_line(recs, width, junk, blank):
    text = "\n" * blank + junk + "\n" + fasta_text(recs, width)[0]
    with pytest.raises(GenolmInputError, match="not a FASTA file") as error:
        list(fasta_records(io.StringIO(text), name="junk.fa"))
    assert error.value.path == "junk.fa" and error.value.record == f"line {blank + 1}"


@PROPERTIES
@given(title=titles.filter(bool), left=sequences.filter(bool), right=sequences.filter(bool),
       gap=st.sampled_from([" ", "\t", "  "]))
def test_whitespace_inside_a_sequence_line_names_the_record(title, left, right, gap):
    text = f">first\nACGT\n>{title}\nACGT\n{left}{gap}{right}\n"
    with pytest.raises(GenolmInputError, match="invalid character") as error:
        list(fasta_records(io.StringIO(text), name="gap.fa"))
    assert error.value.path == "gap.fa"
    assert error.value.record == f"record '{title}', line 5"


def test_empty_and_blank_files_have_no_records(tmp_path):
    for content in (b"", b"\n\n  \n"):
        path = tmp_path / "empty.fa"
        path.write_bytes(content)
        assert list(read_fasta(path)) == []


def test_truncated_gzip_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "cut.fa.gz"
    data = gzip.compress((">chr1\n" + "ACGT" * 50_000 + "\n").encode(), mtime=0)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GenolmInputError, match="truncated") as error:
        list(read_fasta(path))
    assert error.value.path == str(path)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(GenolmInputError, match="cannot read"):
        list(read_fasta(tmp_path / "absent.fa"))


def test_undecodable_bytes_survive_as_replacement_characters():
    (record,) = fasta_records(io.BytesIO(b">bad\xff name\nAC\xfeGT\n"))
    assert record == FastaRecord("bad\ufffd name", "AC\ufffdGT", 1)
    assert record.name == "bad\ufffd"
