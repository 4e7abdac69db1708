"""Shared fixtures: the repository root, the embedded demo data, small prepared inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_MIRROR = REPO / "data" / "demo" / "mirror"


def run_genolm(*args: str, cwd: Path | None = None, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m genolm ...` as a user would, capturing output."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-m", "genolm", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"genolm {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory) -> dict[str, Path]:
    """The demo reference prepared and the demo mutations validated, once per test session."""
    out = tmp_path_factory.mktemp("demo_inputs")
    reference = out / "genome.fa"
    run_genolm("prepare-reference", "--source", str(DEMO_MIRROR / "goldenPath/hg38/bigZips/hg38.fa.gz"),
               "--out", str(reference))
    run_genolm("prepare-mutations", "--mutations", str(DEMO_MIRROR / "depmap/OmicsSomaticMutations.csv"),
               "--samples", str(DEMO_MIRROR / "depmap/Model.csv"), "--reference", str(reference),
               "--out-mutations", str(out / "mutations.parquet"), "--out-samples", str(out / "samples.parquet"),
               "--qc", str(out / "qc.tsv"))
    return {"reference": reference, "mutations": out / "mutations.parquet", "samples": out / "samples.parquet",
            "dir": out}


@pytest.fixture(scope="session")
def tiny_shards(demo_inputs, tmp_path_factory) -> Path:
    """Labelled mutated windows of length 64 from a few demo cell lines (train/val/test)."""
    out = tmp_path_factory.mktemp("tiny_shards")
    run_genolm("select-cell-lines", "--mutations", str(demo_inputs["mutations"]), "--samples", str(demo_inputs["samples"]),
               "--seed", "1", "--max-anchors-per-cell-line", "6", "--out-cell-lines", str(out / "cell_lines.parquet"),
               "--out-anchors", str(out / "anchors.parquet"), "--qc", str(out / "qc.tsv"))
    run_genolm("mutate-windows", "--reference", str(demo_inputs["reference"]), "--mutations", str(demo_inputs["mutations"]),
               "--format", "parquet", "--anchors", str(out / "anchors.parquet"), "--chromosomes", "all",
               "--length", "64", "--seed", "1", "--out", str(out / "shards"))
    return out / "shards"


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
