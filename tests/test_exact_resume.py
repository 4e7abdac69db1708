"""A job resumed from its checkpoint ends where the uninterrupted job ends (issue #28.2): the same weights and the
same metrics, bit for bit on CPU, whether it was stopped by SIGTERM (a walltime's warning: last.ckpt saved at the
step it reached, mid-epoch) or killed outright after a periodic checkpoint (a node failure). Without the resumable
train loader a resumed epoch started over, and without the restored random state dropout drew other masks."""

from __future__ import annotations

import os
import signal
import time

import polars as pl
import pytest
from safetensors.torch import load_file

from conftest import hyenadna_spec, run_genolm, train_args
from test_hostile_training import start_training, step_of, stop_after_first_validation

# Validation every 4 steps, a periodic last.ckpt every 3, 24 steps: an epoch of the tiny shards is longer than 4
# steps, so both stops below fall inside an epoch.
SPEC = hyenadna_spec(steps=24, val_every_n_steps=4, checkpoint_every_n_steps=3)


def result(job) -> tuple[dict, pl.DataFrame]:
    metrics = pl.read_parquet(job / "metrics.parquet").drop("mlflow_run_id")
    return load_file(job / "model" / "model.safetensors"), metrics


def kill_after_periodic_checkpoint(process, checkpoints) -> None:
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        last = checkpoints / "last.ckpt"
        if last.exists() and step_of(last) >= 3:
            break
        time.sleep(0.2)
    assert process.poll() is None, "the job ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_a_resumed_job_ends_with_the_uninterrupted_jobs_weights_and_metrics(tiny_shards, tmp_path, stop):
    uninterrupted = tmp_path / "uninterrupted"
    run_genolm(*train_args(SPEC, tiny_shards, uninterrupted, tmp_path / "results-a"))

    resumed = tmp_path / "resumed"
    args = train_args(SPEC, tiny_shards, resumed, tmp_path / "results-b")
    process = start_training(args, tmp_path / "stderr.txt")
    if stop == "sigterm":
        stop_after_first_validation(process, resumed / "checkpoints", signal.SIGTERM)
        assert process.returncode == 143
    else:
        kill_after_periodic_checkpoint(process, resumed / "checkpoints")
    assert 3 <= step_of(resumed / "checkpoints" / "last.ckpt") < 24
    assert "resuming from" in run_genolm(*args).stderr

    (weights, metrics), (expected_weights, expected_metrics) = result(resumed), result(uninterrupted)
    assert weights.keys() == expected_weights.keys()
    assert all(weights[name].equal(expected_weights[name]) for name in weights)
    assert metrics.equals(expected_metrics)


def test_a_job_stopped_after_an_epochs_last_batch_resumes_with_the_next_epoch_whole(tiny_shards, tmp_path,
                                                                                   monkeypatch):
    """A signal at an epoch's last batch: Lightning resumes with the next epoch, which must run all its batches
    (Lightning carried the finished epoch's count into it and ended it after one)."""
    from genolm import cli
    from genolm.training.checkpoints import InterruptHandling
    from genolm.training.data import WindowDataset

    spec = hyenadna_spec(steps=16, batch_size=32, val_every_n_steps=4, checkpoint_every_n_steps=3)
    epoch = len(WindowDataset(tiny_shards, "train", with_labels=True)) // 32
    assert 2 <= epoch < 16 // 2

    def signal_at_the_epochs_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == epoch:
            os.kill(os.getpid(), signal.SIGTERM)  # Lightning's handler: the loop stops after this step

    uninterrupted, resumed = tmp_path / "uninterrupted", tmp_path / "resumed"
    assert cli.main(train_args(spec, tiny_shards, uninterrupted, tmp_path / "results-a")) == 0
    args = train_args(spec, tiny_shards, resumed, tmp_path / "results-b")
    with monkeypatch.context() as patch:
        patch.setattr(InterruptHandling, "on_train_batch_end", signal_at_the_epochs_end, raising=False)
        with pytest.raises(SystemExit) as stopped:
            cli.main(args)
    assert stopped.value.code == 143
    assert step_of(resumed / "checkpoints" / "last.ckpt") == epoch
    assert cli.main(args) == 0

    (weights, metrics), (expected_weights, expected_metrics) = result(resumed), result(uninterrupted)
    assert all(weights[name].equal(expected_weights[name]) for name in expected_weights)
    assert metrics.equals(expected_metrics)


# Masked-LM pretraining: the masks are drawn while batches are collated, which the resumed run does before its
# first step (and the loader one batch ahead of training), so they must not come from the generator dropout uses.
TINY_BERT_MLM = {
    "tokenizer": {"name": "character"},
    "model": {"name": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "intermediate_size": 64, "max_position_embeddings": 66},
    "objective": {"name": "mlm"},
    "init": "random",
    "context_length": 66,
    "training": {"max_steps": 12, "batch_size": 8, "warmup_steps": 2, "val_every_n_steps": 6,
                 "checkpoint_every_n_steps": 3},
}


def test_a_masked_lm_resumed_mid_epoch_ends_with_the_uninterrupted_weights(tiny_shards, tmp_path, monkeypatch):
    from genolm import cli
    from genolm.training.checkpoints import InterruptHandling

    def signal_at_step_5(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == 5:
            os.kill(os.getpid(), signal.SIGTERM)

    uninterrupted, resumed = tmp_path / "uninterrupted", tmp_path / "resumed"
    assert cli.main(train_args(TINY_BERT_MLM, tiny_shards, uninterrupted, tmp_path / "results-a")) == 0
    args = train_args(TINY_BERT_MLM, tiny_shards, resumed, tmp_path / "results-b")
    with monkeypatch.context() as patch:
        patch.setattr(InterruptHandling, "on_train_batch_end", signal_at_step_5, raising=False)
        with pytest.raises(SystemExit) as stopped:
            cli.main(args)
    assert stopped.value.code == 143 and step_of(resumed / "checkpoints" / "last.ckpt") == 5
    assert cli.main(args) == 0

    (weights, metrics), (expected_weights, expected_metrics) = result(resumed), result(uninterrupted)
    assert all(weights[name].equal(expected_weights[name]) for name in expected_weights)
    assert metrics.equals(expected_metrics)
