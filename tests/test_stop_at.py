"""`training.stop_at`: a job stops at the first validation where a metric reaches its threshold (a rule chosen on
validation, not a step count); a metric the job does not log fails before training, in one line."""

from __future__ import annotations

import polars as pl

from conftest import hyenadna_spec, run_genolm, train_args


def history_steps(job) -> int:
    history = pl.read_csv(job / "history.tsv", separator="\t")
    return int(history.filter(pl.col("metric") == "train/loss")["step"].max())


def test_a_threshold_reached_at_the_first_validation_stops_the_job_there(tiny_shards, tmp_path):
    stopped, full = tmp_path / "stopped", tmp_path / "full"
    for job, stop_at in ((stopped, {"metric": "val/loss", "at_most": 1.0e6}), (full, {"metric": "val/loss", "at_most": -1.0})):
        spec = hyenadna_spec(steps=8, val_every_n_steps=2, checkpoint_every_n_steps=2, stop_at=stop_at)
        run_genolm(*train_args(spec, tiny_shards, job, tmp_path / "results"))
    # Every val/loss is below 1e6: stopped after the first validation (step 2); none is below -1: all 8 steps.
    assert history_steps(stopped) == 1 and history_steps(full) == 7
    assert (stopped / "metrics.parquet").exists() and (stopped / "model" / "model.safetensors").exists()


def test_a_metric_the_job_does_not_log_fails_before_training_in_one_line(tiny_shards, tmp_path):
    spec = hyenadna_spec(steps=4, stop_at={"metric": "val/token_accuracy", "at_least": 0.9})
    result = run_genolm(*train_args(spec, tiny_shards, tmp_path / "job", tmp_path / "results"), check=False)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "training.stop_at.metric: 'val/token_accuracy' is not a validation metric" in errors[0]
    assert "val/loss" in errors[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "job" / "metrics.parquet").exists()
