"""End to end: the real Snakemake workflow on the embedded demo data, shrunk to tiny models and a few steps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from conftest import REPO
from genolm.results import METRICS_SCHEMA

pytestmark = pytest.mark.slow

CONFIG = REPO / "tests" / "e2e" / "config.yaml"


def snakemake(workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(CONFIG), "--cores", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def workflow_run(e2e_local_run) -> Path:
    return e2e_local_run


def test_results_table_has_every_experiment(workflow_run):
    table = pl.read_parquet(workflow_run / "results" / "tables" / "metrics.parquet")
    assert list(table.columns) == list(METRICS_SCHEMA)
    accuracy = table.filter((pl.col("study") == "cancer_type") & (pl.col("split") == "test")
                            & (pl.col("metric") == "unit_balanced_accuracy"))
    # Each experiment over both seeds of the e2e config; the baseline and its two controls (reference-only windows,
    # shuffled labels) beside the models; the zero-shot arm (no training: one row per backbone).
    assert sorted(accuracy["experiment"]) == sorted(
        ["1K-main", "32K-main", "32K-random", "32K-frozen", "kmer-LR", "kmer-LR-reference-only", "kmer-LR-shuffled",
         "oracle"] * 2 + ["1K-main", "32K-main", "32K-random", "32K-frozen"] * 2 + ["zero-shot-tiny-1k"])
    assert set(zip(accuracy["experiment"], accuracy["seed"])) >= {("1K-main", 7), ("1K-main", 8), ("kmer-LR", 8)}
    assert accuracy.filter(pl.col("ci_low").is_null()).is_empty()
    init = dict(zip(accuracy["experiment"], accuracy["init"]))
    assert init == {"1K-main": "pretrained", "32K-main": "pretrained", "32K-random": "random", "32K-frozen": "frozen",
                    "kmer-LR": "random", "kmer-LR-reference-only": "random", "kmer-LR-shuffled": "random",
                    "oracle": "none", "zero-shot-tiny-1k": "pretrained"}
    assert set(accuracy["context_length"]) == {64, 128}  # bases, for models and baselines alike
    knn = table.filter((pl.col("study") == "cancer_type") & (pl.col("metric") == "knn_accuracy_cancer_type"))
    # the fine-tuned 1K-main's embeddings and the pretrained tiny-1k's (umap.backbones: no fine-tuning)
    assert sorted(knn["experiment"].to_list()) == ["1K-main", "pretrained-tiny-1k"]
    assert set(knn["split"]) == {"test"}
    assert knn.filter(pl.col("experiment") == "pretrained-tiny-1k")["init"].to_list() == ["pretrained"]
    tsv = pl.read_csv(workflow_run / "results" / "tables" / "metrics.tsv", separator="\t")
    assert len(tsv) == len(table)


def test_figures_qc_and_provenance(workflow_run):
    plots = workflow_run / "results" / "plots"
    for name in ("umap_chromosome", "umap_position_bin", "umap_cancer_type", "loss"):
        assert (plots / "cancer_type" / "1K-main" / "seed7" / f"{name}.png").exists()
    for name in ("umap_chromosome", "umap_position_bin", "umap_cancer_type"):
        assert (plots / "cancer_type" / "pretrained-tiny-1k" / "seed7" / f"{name}.png").exists()
    assert (plots / "metrics_summary.png").exists()
    qc = pl.read_csv(workflow_run / "resources" / "depmap" / "qc.tsv", separator="\t")
    assert qc.filter(pl.col("reason") == "not_default_entry_for_model")["count"].sum() > 0
    provenance = workflow_run / "resources" / "downloads" / "grch38" / "hg38-demo" / "hg38.fa.gz.provenance.json"
    assert '"verified": true' in provenance.read_text()


def test_every_job_is_an_mlflow_run(workflow_run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{workflow_run / 'results' / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("genolm-e2e")
    runs = client.search_runs([experiment.experiment_id])
    cancer_type = {"cancer_type_finetune", "cancer_type_oracle", "cancer_type_plot_umap", "cancer_type_pretrain"}
    rules = sorted(r.data.tags["rule"] for r in runs if r.data.tags["rule"] in cancer_type)
    # 7 arms x 2 seeds; each replicate pretrains its own backbones (2 backbones x 2 pretraining seeds)
    assert rules == (["cancer_type_finetune"] * 14 + ["cancer_type_oracle"] * 2 + ["cancer_type_plot_umap"] * 2
                     + ["cancer_type_pretrain"] * 4)
    assert all(r.info.status == "FINISHED" for r in runs)
    assert all(r.data.tags.get("git_commit") for r in runs)


def test_nothing_to_do_on_rerun_and_a_new_release_reruns_only_its_source(workflow_run):
    result = snakemake(workflow_run, "-n")
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-2000:]

    result = snakemake(workflow_run, "-n", "--config", "sources={'depmap': {'release': 'demo2', 'files': "
                       "{'OmicsSomaticMutations.csv': {'url': 'data/demo/mirror/depmap/OmicsSomaticMutations.csv'}, "
                       "'Model.csv': {'url': 'data/demo/mirror/depmap/Model.csv'}}}}")
    out = result.stdout
    assert result.returncode == 0, out[-2000:] + result.stderr[-2000:]
    assert "prepare_mutations" in out and "cancer_type_finetune" in out
    # The reference is untouched by a DepMap release: it is neither downloaded nor prepared again.
    assert "resources/downloads/grch38" not in out
    assert "rule prepare_reference" not in out
