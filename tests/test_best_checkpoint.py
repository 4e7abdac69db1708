"""The checkpoint chosen on validation is evaluated once per job: where it was saved at the final step its weights
are the final weights, and its rows are the final weights' rows relabelled (genolm.training.evaluation.as_best),
equal to what evaluating it again gives."""

from __future__ import annotations

import polars as pl

from genolm.training import evaluation, trainer
from genolm.training.checkpoints import checkpoint_step
from genolm.training.trainer import train, validate_spec
from test_heads_registry import BERT, CONTEXT, write_shards


def _train(tmp_path, name: str, training: dict, monkeypatch, *, force_second_pass: bool = False) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    passes = []
    real_evaluate = evaluation.evaluate

    def counted(trainer_, module, data, job, best, predictions):
        passes.append("last" if best is None else "best")
        return real_evaluate(trainer_, module, data, job, best, predictions)

    monkeypatch.setattr(trainer, "evaluate", counted)
    if force_second_pass:
        monkeypatch.setattr(trainer, "checkpoint_step", lambda path: -1)
    spec = validate_spec({"tokenizer": {"name": "character"}, "model": BERT, "head": {"name": "classification", "label_names": ["even", "odd"]},
                          "context_length": 32, "training": training})
    job = tmp_path / name
    train(spec, shards=tmp_path / "shards", job_dir=job, seed=1, plots=tmp_path / "plots", context=CONTEXT)
    monkeypatch.undo()
    metrics = pl.read_parquet(job / "metrics.parquet").drop("run_id", strict=False)
    return metrics, pl.read_parquet(job / "predictions.parquet"), passes


def test_a_best_checkpoint_saved_at_the_final_step_is_not_evaluated_twice(tmp_path, monkeypatch):
    write_shards(tmp_path / "shards")
    # validation only at the last step: the best checkpoint is that step's
    training = {"max_steps": 4, "batch_size": 8, "warmup_steps": 1, "val_every_n_steps": 4, "checkpoint_every_n_steps": 4}
    once, once_predictions, passes = _train(tmp_path, "once", training, monkeypatch)
    assert passes == ["last"] and checkpoint_step(tmp_path / "once" / "checkpoints" / "best.ckpt") == 4
    twice, twice_predictions, passes = _train(tmp_path, "twice", training, monkeypatch, force_second_pass=True)
    assert passes == ["last", "best"]
    assert set(once["checkpoint"]) == {"best", "last"}
    key = ["split", "checkpoint", "metric"]
    assert once.sort(key).equals(twice.sort(key))
    assert once_predictions.sort("split", "checkpoint").equals(twice_predictions.sort("split", "checkpoint"))

