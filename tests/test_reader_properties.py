"""Property tests of the readers and of mutation injection (issue #14).

Readers: a valid file cut short at any byte gives a clear error (GenolmInputError) or, where the cut leaves a
file no reader can tell from a genuine shorter one (a plain-text table cut exactly at a line end), exactly the
records before the cut: never a different result. Compressed files are refused at every cut, BGZF ones cut at a
block boundary included.

Mutation injection: for random valid mutations, every window equals an independent, naive implementation of the
contract in docs/data_contracts.md applied to the window's reported reference span.
"""

from __future__ import annotations

import gzip
import os
import io
import re
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from genolm.datasets.windows import materialize_windows
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.bgzf import BgzfWriter
from genolm.sources.fasta import read_fasta
from genolm.sources.genbank import genbank_records
from genolm.sources.mutations import read_mutations
from genolm.sources.reference import ReferenceGenome

SETTINGS = settings(max_examples=int(os.environ.get("GENOLM_PROPERTY_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
bases = st.text("ACGT", min_size=1, max_size=150)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,8}", fullmatch=True)


def _bgzf(data: bytes, block: int | None = None) -> bytes:
    buffer = io.BytesIO()
    writer = BgzfWriter(buffer)
    if block:  # small blocks, so that a cut can fall on a block boundary
        for start in range(0, len(data), block):
            writer.write(data[start:start + block])
            writer._flush_block(bytes(writer._buffer))
            writer._buffer.clear()
    else:
        writer.write(data)
    writer.close()
    return buffer.getvalue()


def _outcome(read, path: Path):
    """('ok', result) or ('error', message)."""
    try:
        return "ok", read(path)
    except GenolmInputError as error:
        return "error", str(error)


# ----------------------------------------------------------------------------------------------------- FASTA


fasta_records = st.lists(st.tuples(names, bases), min_size=1, max_size=5, unique_by=lambda r: r[0])


def _fasta_text(records) -> bytes:
    return "".join(f">{name}\n{seq}\n" for name, seq in records).encode()


@SETTINGS
@given(records=fasta_records, compression=st.sampled_from(["gzip", "bgzf", "bgzf-small-blocks"]), data=st.data())
def test_a_cut_compressed_fasta_is_refused(tmp_path, records, compression, data):
    text = _fasta_text(records)
    blob = {"gzip": lambda: gzip.compress(text), "bgzf": lambda: _bgzf(text),
            "bgzf-small-blocks": lambda: _bgzf(text, block=16)}[compression]()
    cut = data.draw(st.integers(1, len(blob) - 1), label="cut")
    path = tmp_path / "x.fa.gz"
    path.write_bytes(blob)
    assert list(read_fasta(path)) == records
    path.write_bytes(blob[:cut])
    kind, result = _outcome(lambda p: list(read_fasta(p)), path)
    assert kind == "error", f"cut at {cut} of {len(blob)} read as {result}"


# ------------------------------------------------------------------------------------------ mutation tables

rows = st.lists(st.tuples(st.sampled_from(["ACH-1", "ACH-2"]), st.sampled_from(["chr1", "chr2", "22"]),
                          st.integers(2, 10_000), st.sampled_from(["A", "C", "G", "T", "AC"]),
                          st.sampled_from(["T", "G", "CA"])), min_size=1, max_size=8)


def _depmap(table) -> str:
    return "Chrom,Pos,Ref,Alt,ModelID\n" + "".join(f"{c},{p},{r},{a},{s}\n" for s, c, p, r, a in table)


def _maf(table) -> str:
    return ("Chromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\tTumor_Sample_Barcode\n"
            + "".join(f"{c}\t{p}\t{r}\t{a}\t{s}\n" for s, c, p, r, a in table))


def _vcf(table) -> str:
    header = ("##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##contig=<ID=chr2>\n##contig=<ID=22>\n"
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tACH-1\tACH-2\n")
    body = "".join(f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t{'0/1' if s == 'ACH-1' else '0/0'}\t"
                   f"{'0/1' if s == 'ACH-2' else '0/0'}\n" for s, c, p, r, a in table)
    return header + body


FORMATS = {"depmap": (_depmap, "m.csv"), "maf": (_maf, "m.maf"), "vcf": (_vcf, "m.vcf")}


def _read_rows(fmt: str):
    def read(path: Path) -> list[tuple]:
        table = read_mutations(path, fmt, qc=QCCounts("test"))
        return table.select("sample", "chrom", "pos", "ref", "alt").rows()
    return read


@SETTINGS
@given(table=rows, fmt=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_a_cut_mutation_table_gives_an_error_or_exactly_the_rows_before_the_cut(tmp_path, table, fmt, data):
    write, name = FORMATS[fmt]
    text = write(table).encode()
    path = tmp_path / name
    path.write_bytes(text)
    read = _read_rows(fmt)
    whole = read(path)
    cut = data.draw(st.integers(1, len(text) - 1), label="cut")
    path.write_bytes(text[:cut])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, result = _outcome(read, path)
    if kind == "ok":
        # Only a cut at a line end leaves a valid file: it reads as the file of the rows before the cut.
        assert text[cut - 1:cut] == b"\n", f"cut at {cut} inside a line read as {result}"
        complete = text[:cut].count(b"\n") - (text.count(b"\n") - len(table))  # data lines before the cut
        if complete <= 0:
            assert result == []
        else:
            path.write_text(write(table[:complete]))
            assert result == read(path), f"cut at {cut}"


@SETTINGS
@given(table=rows, fmt=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_a_cut_gzip_mutation_table_is_refused(tmp_path, table, fmt, data):
    write, name = FORMATS[fmt]
    blob = _bgzf(write(table).encode(), block=32) if fmt == "vcf" else gzip.compress(write(table).encode())
    path = tmp_path / (name + ".gz")
    path.write_bytes(blob)
    read = _read_rows(fmt)
    read(path)
    path.write_bytes(blob[:data.draw(st.integers(1, len(blob) - 1), label="cut")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, result = _outcome(read, path)
    assert kind == "error", result


# ---------------------------------------------------------------------------------------------------- GenBank


def _genbank(accession: str, sequence: str) -> str:
    lines = [f"LOCUS       {accession:<16}{len(sequence):>11} bp    DNA     linear   VRL 01-JAN-2024",
             f"DEFINITION  virus {accession}.", f"ACCESSION   {accession}", f"VERSION     {accession}.1",
             "FEATURES             Location/Qualifiers",
             f"     source          1..{len(sequence)}", '                     /db_xref="taxon:10"', "ORIGIN"]
    for start in range(0, len(sequence), 60):
        chunk = sequence[start:start + 60].lower()
        lines.append(f"{start + 1:>9} " + " ".join(chunk[i:i + 10] for i in range(0, len(chunk), 10)))
    return "\n".join(lines) + "\n//\n"


@SETTINGS
@given(records=st.lists(st.tuples(st.from_regex(r"NC_00[0-9]{4}", fullmatch=True), bases), min_size=1, max_size=3,
                        unique_by=lambda r: r[0]), compressed=st.booleans(), data=st.data())
def test_a_cut_genbank_file_gives_an_error_or_exactly_the_records_before_the_cut(tmp_path, records, compressed, data):
    text = "".join(_genbank(a, s) for a, s in records).encode()
    blob = gzip.compress(text) if compressed else text
    path = tmp_path / ("x.gbff.gz" if compressed else "x.gbff")
    path.write_bytes(blob)

    def read(p: Path):
        return [(r.id, str(r.seq)) for r in genbank_records(p)]

    whole = read(path)
    assert whole == [(f"{a}.1", s) for a, s in records]
    cut = data.draw(st.integers(1, len(blob) - 1), label="cut")
    path.write_bytes(blob[:cut])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, result = _outcome(read, path)
    if kind == "ok":
        assert not compressed, f"cut gzip at {cut} read as {result}"
        assert result == whole[:len(result)], f"cut at {cut} read as {result}"
        assert len(re.findall(rb"^//$", text[:cut], re.M)) == len(result), f"cut at {cut} read as {result}"


# ------------------------------------------------------------------------------------------ mutation injection

CHROM = "".join(np.random.default_rng(7).choice(list("ACGT"), size=240))


@pytest.fixture(scope="module")
def chromosome(tmp_path_factory) -> ReferenceGenome:
    path = tmp_path_factory.mktemp("ref") / "ref.fa"
    path.write_text(">chr1\n" + "\n".join(CHROM[i:i + 60] for i in range(0, len(CHROM), 60)) + "\n")
    return ReferenceGenome(path)


@st.composite
def mutation_sets(draw):
    """Valid mutations of one cell line on CHROM (REF matches the reference), and anchors among them."""
    count = draw(st.integers(1, 12))
    mutations = set()
    for _ in range(count):
        pos = draw(st.integers(1, len(CHROM) - 4))
        ref = CHROM[pos - 1:pos - 1 + draw(st.integers(1, 4))]
        alt = draw(st.text("ACGT", min_size=1, max_size=5).filter(lambda a, r=ref: a != r))
        mutations.add((pos, ref, alt))
    mutations = sorted(mutations)
    anchors = draw(st.lists(st.sampled_from(mutations), min_size=1, max_size=3, unique=True))
    return mutations, anchors


def naive_window(start: int, end: int, mutations: list[tuple], anchor: tuple, length: int) -> tuple[str, list]:
    """The contract, written as plainly as possible: the mutations whose REF lies inside [start, end), the
    anchor first and then in (pos, ref, alt) order, an overlapping one not applied; REF replaced by ALT from
    the right; the result cut to `length` bases."""
    accepted: list[tuple] = []
    for pos, ref, alt in [anchor] + [m for m in sorted(mutations) if m != anchor]:
        lo, hi = pos - 1, pos - 1 + len(ref)
        if lo < start or hi > end:
            continue
        if any(lo < a_pos - 1 + len(a_ref) and a_pos - 1 < hi for a_pos, a_ref, _ in accepted):
            continue
        accepted.append((pos, ref, alt))
    sequence = CHROM[start:end]
    for pos, ref, alt in sorted(accepted, reverse=True):
        offset = pos - 1 - start
        assert sequence[offset:offset + len(ref)] == ref
        sequence = sequence[:offset] + alt + sequence[offset + len(ref):]
    return sequence[:length], sorted(accepted)


@SETTINGS
@given(case=mutation_sets(), length=st.integers(12, 60), seed=st.integers(0, 2**32 - 1))
def test_injected_windows_equal_a_naive_implementation(chromosome, case, length, seed):
    mutations, anchors = case
    table = pl.DataFrame([{"sample": "S", "chrom": "chr1", "pos": p, "ref": r, "alt": a} for p, r, a in mutations])
    anchor_table = pl.DataFrame([{"sample": "S", "label": 0, "split": "train", "chrom": "chr1", "pos": p, "ref": r,
                                  "alt": a, "anchor_id": i} for i, (p, r, a) in enumerate(anchors)])
    qc = QCCounts("test")
    batches = list(materialize_windows(chromosome, table, anchor_table, length=length, seed=seed, qc=qc))
    rows = pa.Table.from_batches(batches).to_pylist() if batches else []
    assume(rows)
    assert len(rows) + sum(qc.total(r) for r in ("anchor_longer_than_window", "anchor_pushed_out",
                                                   "too_short_after_deletions")) == len(anchors)
    for row in rows:
        anchor = anchors[row["window_id"]]
        expected, applied = naive_window(row["ref_start"], row["ref_end"], mutations, anchor, length)
        assert len(row["sequence"]) == length
        assert row["sequence"] == expected
        assert sorted((m["pos"], m["ref"], m["alt"]) for m in row["mutations"]) == applied
        assert anchor in applied
        assert row["ref_start"] <= anchor[0] - 1 and anchor[0] - 1 + len(anchor[1]) <= row["ref_end"]
