"""The sources in the workflow: a new release of one source reruns that source and what depends on it, only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

TARGETS = ["resources/refseq/assemblies.parquet", "resources/mito/12s.parquet", "resources/viral/labels.parquet",
           "resources/benchmarks/demo_promoter.parquet"]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(REPO / "config.yaml"), "--cores", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)


def scheduled(result: subprocess.CompletedProcess) -> set[str]:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {line.split()[1].rstrip(":") for line in result.stdout.splitlines() if line.startswith(("rule ", "localrule "))}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("sources")
    result = snakemake(workdir, *TARGETS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir


def test_every_source_is_built_from_the_mirror(built):
    import polars as pl

    assert len(pl.read_parquet(built / "resources/refseq/assemblies.parquet")) == 3
    assert pl.read_parquet(built / "resources/viral/labels.parquet")["is_phage"].sum() == 2
    provenance = built / "resources/downloads/mito_refseq/demo/listed/mitochondrion.2.genomic.gbff.gz.provenance.json"
    assert '"verified": true' in provenance.read_text()
    assert "Nothing to be done" in snakemake(built, "-n", *TARGETS).stdout


def test_new_viral_release_reruns_viral_only(built):
    result = snakemake(built, "-n", *TARGETS, "--config",
                       "sources={'viral_refseq': {'release': '2', 'listing': {'url': 'data/demo/mirror/refseq/release/viral',"
                       " 'pattern': 'viral[.][0-9]+[.]1[.]genomic[.]fna[.]gz'}}}")
    assert scheduled(result) == {"download_listed", "prepare_viral"}
    assert "resources/downloads/viral_refseq/2/listed/files.tsv" in result.stdout


def test_changed_assembly_choice_reruns_refseq_only(built):
    result = snakemake(built, "-n", *TARGETS, "--config", "datasets={'refseq': {'organisms': ['Escherichia coli']}}")
    assert scheduled(result) == {"download_assemblies", "prepare_assemblies"}


def test_new_mitofish_url_reruns_mito_only(built):
    # The same release from another mirror (a file:// URL instead of the relative path): the URL is a parameter.
    url = (REPO / "data/demo/mirror/mitofish/mitoannotations.zip").as_uri()
    result = snakemake(built, "-n", *TARGETS, "--config",
                       "sources={'mitofish': {'release': 'demo', 'files': {'complete_partial_mitogenomes.zip': "
                       "{'url': 'data/demo/mirror/mitofish/complete_partial_mitogenomes.zip', 'expect': 'zip'}, "
                       f"'mitoannotations.zip': {{'url': '{url}', 'expect': 'zip'}}}}}}}}")
    assert scheduled(result) == {"download", "prepare_mito"}
    assert result.stdout.count("output: resources/downloads/") == 1
    assert "output: resources/downloads/mitofish/demo/mitoannotations.zip" in result.stdout
