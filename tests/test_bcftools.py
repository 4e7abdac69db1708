"""Mutated windows agree with `bcftools consensus` applying the same mutations to the same reference span."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from genolm.datasets.windows import materialize_windows
from genolm.qc import QCCounts
from test_windows import random_case

TOOLS = ("bcftools", "bgzip", "tabix")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason=f"needs {', '.join(TOOLS)} on PATH (Debian packages bcftools and tabix)",
)
LENGTH = 120


def read_fasta(path: Path) -> dict[str, str]:
    sequences: dict[str, list[str]] = {}
    current: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            current = sequences.setdefault(line[1:].split()[0], [])
        else:
            current.append(line.strip())
    return {name: "".join(parts) for name, parts in sequences.items()}


def test_windows_equal_bcftools_consensus(tmp_path):
    reference, sequences, mutations, anchors = random_case(tmp_path, seed=21, n_anchors=200)
    qc = QCCounts("test")
    windows = pa.Table.from_batches(
        list(materialize_windows(reference, mutations, anchors, length=LENGTH, seed=1, qc=qc, batch_size=64))
    ).to_pylist()
    assert len(windows) >= 190
    # The random case must exercise the hard paths, or this test proves little.
    assert qc.get("overlap_skipped") > 0 and qc.get("extended_right") > 0 and qc.get("extended_left") > 0
    assert any(len(m["alt"]) > len(m["ref"]) for w in windows for m in w["mutations"])

    # One contig per window, holding the reference span [ref_start, ref_end) of that window; its mutations
    # are written against that contig, so one bcftools run checks every window.
    regions = tmp_path / "regions.fa"
    vcf = tmp_path / "windows.vcf"
    with open(regions, "w") as fasta, open(vcf, "w") as calls:
        calls.write("##fileformat=VCFv4.2\n")
        for w in windows:
            calls.write(f"##contig=<ID=w{w['window_id']},length={w['ref_end'] - w['ref_start']}>\n")
        calls.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for w in windows:
            span = sequences[w["chrom"]][w["ref_start"]:w["ref_end"]]
            fasta.write(f">w{w['window_id']}\n{span}\n")
            for m in w["mutations"]:
                calls.write(f"w{w['window_id']}\t{m['pos'] - w['ref_start']}\t.\t{m['ref']}\t{m['alt']}\t.\tPASS\t.\n")
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    subprocess.run(["tabix", "-p", "vcf", f"{vcf}.gz"], check=True)
    consensus = tmp_path / "consensus.fa"
    result = subprocess.run(
        ["bcftools", "consensus", "-f", str(regions), "-o", str(consensus), f"{vcf}.gz"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    # bcftools warns when it skips an overlapping variant; the windows list only the applied ones.
    assert "overlap" not in result.stderr.lower(), result.stderr

    expected = read_fasta(consensus)
    assert len(expected) == len(windows)
    mismatches = [w["window_id"] for w in windows if expected[f"w{w['window_id']}"][:LENGTH] != w["sequence"]]
    assert mismatches == []
    assert all(len(expected[f"w{w['window_id']}"]) >= LENGTH for w in windows)
