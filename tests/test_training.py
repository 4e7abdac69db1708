"""Training through Lightning: fine-tuning writes its result rows, and a killed job resumes from its checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch

from conftest import REPO, run_genolm
from genolm.models.heads import pool_hidden_states
from genolm.results import METRICS_SCHEMA, read_metrics
from genolm.training.optim import warmup_cosine_factor

TRAINING = '{"max_steps": %d, "batch_size": 8, "warmup_steps": 2, "val_every_n_steps": 4, "checkpoint_every_n_steps": 2}'
TINY = '{"d_model": 16, "n_layer": 1, "d_inner": 32, "filter_order": 16}'


def finetune_args(shards: Path, out: Path, results: Path, steps: int, init: str = "random") -> list[str]:
    return ["finetune", "--shards", str(shards), "--init", init, "--preset", "tiny-1k", "--overrides", TINY,
            "--context-length", "64", "--label-names", "Lung", "Lymphoid", "--training", TRAINING % steps,
            "--out", str(out), "--results-dir", str(results), "--study", "cancer_type", "--task", "t",
            "--experiment", "e", "--tag", "rule=test"]


def test_warmup_cosine_schedule_matches_its_definition():
    kw = dict(lr=6e-4, min_lr=6e-5, warmup_lr_init=1e-6, warmup_steps=10, total_steps=100)
    assert warmup_cosine_factor(0, **kw) * 6e-4 == pytest.approx(1e-6)
    assert warmup_cosine_factor(10, **kw) * 6e-4 == pytest.approx(6e-4 * (6e-5 / 6e-4 + 0.5 * (1 - 6e-5 / 6e-4) * (1 + torch.cos(torch.tensor(torch.pi * 0.1)).item())))
    assert warmup_cosine_factor(100, **kw) * 6e-4 == pytest.approx(6e-5)


def test_pooling_ignores_padding():
    hidden = torch.arange(12, dtype=torch.float32).reshape(1, 4, 3).repeat(2, 1, 1)
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]])
    assert torch.equal(pool_hidden_states(hidden, mask, "last"), torch.stack([hidden[0, 3], hidden[1, 2]]))
    assert torch.allclose(pool_hidden_states(hidden, mask, "mean"), torch.stack([hidden[0, 2:].mean(0), hidden[1, :3].mean(0)]))


def test_finetune_writes_tidy_metrics_model_and_mlflow_run(tiny_shards, tmp_path):
    out = tmp_path / "job"
    run_genolm(*finetune_args(tiny_shards, out, tmp_path / "results", steps=4), "--plots", str(tmp_path / "plots"))
    metrics = read_metrics(out / "metrics.parquet")
    assert list(metrics.columns) == list(METRICS_SCHEMA)
    test_rows = metrics.filter(pl.col("split") == "test")
    assert {"accuracy", "balanced_accuracy", "loss", "f1_macro", "mcc"} <= set(test_rows["metric"])
    accuracy = test_rows.filter(pl.col("metric") == "accuracy")["value"].item()
    assert 0.0 <= accuracy <= 1.0
    assert metrics["init"].unique().to_list() == ["random"]
    assert (out / "model" / "head.json").exists() and (out / "model" / "backbone" / "weights.ckpt").exists()
    assert (tmp_path / "plots" / "loss.png").stat().st_size > 1000

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow' / 'mlflow.db'}")
    run = client.get_run((out / "mlflow_run_id").read_text())
    assert run.data.tags["rule"] == "test"
    assert run.data.params["training.max_steps"] == "4"
    assert "final_test_accuracy" in run.data.metrics
    assert run.info.status == "FINISHED"


def test_frozen_init_leaves_the_backbone_unchanged(tiny_shards, tmp_path):
    pretrained = tmp_path / "pretrained"
    from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig

    config = HyenaDNAConfig(d_model=16, n_layer=1, d_inner=32, filter_order=16).with_context(64)
    HyenaDNA(config).save_released(pretrained)
    out = tmp_path / "job"
    args = finetune_args(tiny_shards, out, tmp_path / "results", steps=3, init="frozen")
    args[args.index("--preset"): args.index("--preset") + 4] = ["--backbone", str(pretrained)]
    run_genolm(*args)
    before = torch.load(pretrained / "weights.ckpt", weights_only=True)["state_dict"]
    after = torch.load(out / "model" / "backbone" / "weights.ckpt", weights_only=True)["state_dict"]
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_killed_job_resumes_from_its_last_checkpoint(tiny_shards, tmp_path):
    out = tmp_path / "job"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    args = finetune_args(tiny_shards, out, tmp_path / "results", steps=24)
    process = subprocess.Popen([sys.executable, "-m", "genolm", *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    last = out / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if last.exists() and torch.load(last, weights_only=False, map_location="cpu")["global_step"] >= 4:
            break
        time.sleep(0.5)
    assert process.poll() is None, "the job finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    step_at_kill = torch.load(last, weights_only=False, map_location="cpu")["global_step"]
    assert 4 <= step_at_kill < 24
    assert not (out / "metrics.parquet").exists()
    run_id = (out / "mlflow_run_id").read_text()

    result = run_genolm(*args)
    assert f"resuming from {last}" in result.stderr
    assert (out / "mlflow_run_id").read_text() == run_id  # the same MLflow run continues
    assert torch.load(last, weights_only=False, map_location="cpu")["global_step"] == 24
    history = pl.read_csv(out / "history.tsv", separator="\t").filter(pl.col("metric") == "train/loss")
    assert history["step"].max() >= 20
    assert (out / "metrics.parquet").exists()
