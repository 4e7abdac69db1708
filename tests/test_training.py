"""The one trainer through Lightning: fine-tuning HyenaDNA writes its result rows, frozen init keeps the backbone, and a
killed job resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch

from conftest import REPO, TINY_HYENADNA, hyenadna_spec, run_genolm, train_args
from genolm.models.heads import pool_hidden_states
from genolm.results import METRICS_SCHEMA, read_metrics
from genolm.training.optim import warmup_cosine_factor

def finetune_args(shards: Path, out: Path, results: Path, steps: int, **spec) -> list[str]:
    return train_args(hyenadna_spec(steps=steps, **spec), shards, out, results)


def test_warmup_cosine_schedule_matches_its_definition():
    kw = dict(lr=6e-4, min_lr=6e-5, warmup_lr_init=1e-6, warmup_steps=10, total_steps=100)
    assert warmup_cosine_factor(0, **kw) * 6e-4 == pytest.approx(1e-6)
    assert warmup_cosine_factor(10, **kw) * 6e-4 == pytest.approx(6e-4 * (6e-5 / 6e-4 + 0.5 * (1 - 6e-5 / 6e-4) * (1 + torch.cos(torch.tensor(torch.pi * 0.1)).item())))
    assert warmup_cosine_factor(100, **kw) * 6e-4 == pytest.approx(6e-5)


def test_pooling_ignores_padding():
    hidden = torch.arange(12, dtype=torch.float32).reshape(1, 4, 3).repeat(2, 1, 1)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    assert torch.equal(pool_hidden_states(hidden, mask, "last"), torch.stack([hidden[0, 3], hidden[1, 2]]))
    assert torch.allclose(pool_hidden_states(hidden, mask, "mean"), torch.stack([hidden[0].mean(0), hidden[1, :3].mean(0)]))


def test_right_padding_leaves_a_causal_models_states_at_real_tokens_unchanged():
    """The reason for the one padding convention: HyenaDNA's long convolution is causal, so pads after the
    sequence cannot reach its real tokens (pads before it would)."""
    from genolm import models, tokenizers
    from genolm.objectives.base import encode

    torch.manual_seed(0)
    tokenizer = tokenizers.build("character")
    model = models.build("hyenadna", {"preset": "tiny-1k", "d_model": 16, "n_layer": 2, "d_inner": 32, "l_max": 34},
                         tokenizer=tokenizer).eval()
    ids, mask = encode(tokenizer, ["ACGTACGTAC", "ACGTACGTACGTACGTACGTACGTACGTAC"], 32)
    alone, alone_mask = encode(tokenizer, ["ACGTACGTAC"], 32)
    alone = alone[:, : int(alone_mask.sum())]
    with torch.no_grad():
        batched = model(ids, mask, with_logits=False).hidden[0, : alone.shape[1]]
        single = model(alone, torch.ones_like(alone), with_logits=False).hidden[0]
    assert torch.allclose(batched, single, atol=1e-5)


def test_finetune_writes_tidy_metrics_model_and_mlflow_run(tiny_shards, tmp_path):
    out = tmp_path / "job"
    run_genolm(*finetune_args(tiny_shards, out, tmp_path / "results", steps=4), "--plots", str(tmp_path / "plots"))
    metrics = read_metrics(out / "metrics.parquet")
    assert list(metrics.columns) == list(METRICS_SCHEMA)
    # Test is reported at the checkpoint chosen on validation and at the final step.
    assert set(metrics.filter(pl.col("split") == "test")["checkpoint"]) == {"best", "last"}
    test_rows = metrics.filter((pl.col("split") == "test") & (pl.col("checkpoint") == "best"))
    assert {"accuracy", "balanced_accuracy", "loss", "f1_macro", "mcc", "unit_balanced_accuracy", "units"} <= set(test_rows["metric"])
    unit = test_rows.filter(pl.col("metric") == "unit_balanced_accuracy").row(0, named=True)
    assert unit["ci_low"] <= unit["value"] <= unit["ci_high"]
    assert metrics["init"].unique().to_list() == ["random"]
    assert metrics["label_fraction"].unique().to_list() == [1.0]
    assert (out / "model" / "head.json").exists() and (out / "model" / "model.safetensors").exists()
    predictions = pl.read_parquet(out / "predictions.parquet")
    assert predictions.filter((pl.col("split") == "test") & (pl.col("checkpoint") == "best"))["group"].null_count() == 0
    assert (tmp_path / "plots" / "loss.png").exists()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow' / 'mlflow.db'}")
    run = client.get_run((out / "mlflow_run_id").read_text())
    assert run.data.tags["rule"] == "test"
    assert run.data.params["spec.training.max_steps"] == "4"
    assert "final/best/test/accuracy" in run.data.metrics
    assert run.info.status == "FINISHED"


def test_frozen_init_leaves_the_backbone_unchanged(tiny_shards, tmp_path):
    from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig
    from genolm.heads import load_task_model

    pretrained = tmp_path / "pretrained"
    config = HyenaDNAConfig(d_model=16, n_layer=1, d_inner=32, filter_order=16).with_context(64)
    HyenaDNA(config).save_released(pretrained)  # the released layout, as a real checkpoint comes
    out = tmp_path / "job"
    run_genolm(*finetune_args(tiny_shards, out, tmp_path / "results", steps=3, init="frozen", checkpoint=str(pretrained)))
    before = HyenaDNA.from_released(pretrained).state_dict()
    after = load_task_model(out / "model")[0].backbone.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


STEPS_KILLED = 240


def test_killed_job_resumes_from_its_last_checkpoint(tiny_shards, tmp_path):
    out = tmp_path / "job"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    # Enough steps that the kill lands inside training: at 24 a fast machine finished training (and was still
    # evaluating) between the checkpoint poll and the kill.
    args = finetune_args(tiny_shards, out, tmp_path / "results", steps=STEPS_KILLED)
    process = subprocess.Popen([sys.executable, "-m", "genolm", *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    last = out / "checkpoints" / "last.ckpt"
    deadline = time.time() + 900  # the job's first steps under a loaded `make test` (two workers, e2e runs)
    while time.time() < deadline and process.poll() is None:
        if last.exists() and torch.load(last, weights_only=False, map_location="cpu")["global_step"] >= 4:
            break
        time.sleep(0.5)
    assert process.poll() is None, "the job finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    step_at_kill = torch.load(last, weights_only=False, map_location="cpu")["global_step"]
    assert 4 <= step_at_kill < STEPS_KILLED
    assert not (out / "metrics.parquet").exists()
    run_id = (out / "mlflow_run_id").read_text()

    result = run_genolm(*args)
    assert f"resuming from {last}" in result.stderr
    assert (out / "mlflow_run_id").read_text() == run_id  # the same MLflow run continues
    assert torch.load(last, weights_only=False, map_location="cpu")["global_step"] == STEPS_KILLED
    history = pl.read_csv(out / "history.tsv", separator="\t").filter(pl.col("metric") == "train/loss")
    assert history["step"].max() >= 20
    assert (out / "metrics.parquet").exists()


def test_a_job_rerun_with_another_spec_starts_over_instead_of_resuming(tiny_shards, tmp_path):
    """Snakemake reruns a rule whose params changed: the job directory still holds the old model's checkpoints and
    MLflow run, which the new job (here a wider model) must not resume."""
    out = tmp_path / "job"
    run_genolm(*finetune_args(tiny_shards, out, tmp_path / "results", steps=4))
    old_run = (out / "mlflow_run_id").read_text()
    assert (out / "checkpoints" / "last.ckpt").exists()

    wider = {**TINY_HYENADNA, "d_model": 24}
    result = run_genolm(*finetune_args(tiny_shards, out, tmp_path / "results", steps=4, architecture=wider))
    assert "holds the state of another job" in result.stderr and "resuming from" not in result.stderr
    assert (out / "mlflow_run_id").read_text() != old_run
    assert json.loads((out / "model" / "config.json").read_text())["config"]["d_model"] == 24

    # The same job again resumes (nothing left to train) and keeps its run.
    run_id = (out / "mlflow_run_id").read_text()
    again = run_genolm(*finetune_args(tiny_shards, out, tmp_path / "results", steps=4, architecture=wider))
    assert "resuming from" in again.stderr and "another job" not in again.stderr
    assert (out / "mlflow_run_id").read_text() == run_id


def test_a_job_rerun_after_its_backbone_was_pretrained_again_starts_over(tiny_shards, tmp_path):
    """Same spec (the backbone's path), new backbone weights: resuming would re-evaluate the model fine-tuned from
    the old weights, so the job starts over."""
    from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig

    pretrained = tmp_path / "pretrained"
    config = HyenaDNAConfig(d_model=16, n_layer=1, d_inner=32, filter_order=16).with_context(64)
    HyenaDNA(config).save_released(pretrained)
    args = finetune_args(tiny_shards, tmp_path / "job", tmp_path / "results", steps=2, checkpoint=str(pretrained))
    run_genolm(*args)
    assert "resuming from" in run_genolm(*args).stderr  # unchanged: a restart resumes

    time.sleep(0.01)
    HyenaDNA(config).save_released(pretrained)  # pretrained again
    result = run_genolm(*args)
    assert "holds the state of another job" in result.stderr and "resuming from" not in result.stderr
