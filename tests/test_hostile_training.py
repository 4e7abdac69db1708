"""Training under hostile conditions (issue #21 items 3 and 5, #25 item 5): a job stopped by a signal fails and
resumes, an unreadable last.ckpt is set aside, bad training input is refused before a run or any job state is
created, and `train()` itself keeps a job from resuming another job's state."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import torch

from conftest import REPO, TINY_HYENADNA, hyenadna_spec, run_genolm, train_args
from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter
from genolm.training.trainer import prepare, train, validate_spec


def step_of(checkpoint: Path) -> int:
    return torch.load(checkpoint, weights_only=False, map_location="cpu")["global_step"]


def start_training(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen([sys.executable, "-m", "genolm", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), start_new_session=True)


def stop_after_first_validation(process: subprocess.Popen, checkpoints: Path, signum: int) -> None:
    """Send `signum` once training has passed its first validation (best.ckpt written at step 4)."""
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not (checkpoints / "best.ckpt").exists():
        time.sleep(0.2)
    assert process.poll() is None, "the job ended before it could be interrupted"
    os.kill(process.pid, signum)
    process.wait(timeout=300)


# Periodic last.ckpt only every 1000 steps: any last.ckpt before that was saved because of the signal.
SIGNALLED = dict(steps=60, val_every_n_steps=4, checkpoint_every_n_steps=1000)


def test_sigterm_fails_the_job_with_its_state_saved_and_the_rerun_resumes(tiny_shards, tmp_path):
    out = tmp_path / "job"
    args = train_args(hyenadna_spec(**SIGNALLED), tiny_shards, out, tmp_path / "results")
    process = start_training(args, tmp_path / "stderr.txt")
    stop_after_first_validation(process, out / "checkpoints", signal.SIGTERM)
    stderr = (tmp_path / "stderr.txt").read_text()

    assert process.returncode == 143, stderr[-3000:]
    assert "interrupted: stopped by SIGTERM" in stderr
    last = out / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=False, map_location="cpu")
    assert 4 <= state["global_step"] < 60
    assert state["optimizer_states"] and state["lr_schedulers"]  # the exact state, not the weights alone
    assert not (out / "metrics.parquet").exists() and not (out / "model").exists()

    result = run_genolm(*args)
    assert f"resuming from {last}" in result.stderr
    assert step_of(last) == 60
    assert (out / "metrics.parquet").exists() and (out / "model" / "config.json").exists()


def test_sigint_fails_the_job_with_status_130_and_its_state_saved(tiny_shards, tmp_path):
    out = tmp_path / "job"
    process = start_training(train_args(hyenadna_spec(**SIGNALLED), tiny_shards, out, tmp_path / "results"),
                             tmp_path / "stderr.txt")
    stop_after_first_validation(process, out / "checkpoints", signal.SIGINT)
    stderr = (tmp_path / "stderr.txt").read_text()

    assert process.returncode == 130, stderr[-3000:]
    assert "stopped by SIGINT" in stderr
    assert 4 <= step_of(out / "checkpoints" / "last.ckpt") < 60
    assert not (out / "metrics.parquet").exists() and not (out / "model").exists()


def test_a_truncated_last_checkpoint_is_set_aside_and_the_job_resumes_from_the_previous(tiny_shards, tmp_path):
    out = tmp_path / "job"
    checkpoints = out / "checkpoints"
    args = train_args(hyenadna_spec(steps=4, checkpoint_every_n_steps=2), tiny_shards, out, tmp_path / "results")
    run_genolm(*args)
    assert step_of(checkpoints / "last.ckpt") == 4 and step_of(checkpoints / "last-prev.ckpt") == 2

    data = (checkpoints / "last.ckpt").read_bytes()
    (checkpoints / "last.ckpt").write_bytes(data[: len(data) // 2])  # a node crash on a network file system
    result = run_genolm(*args)
    warnings = [line for line in result.stderr.splitlines() if "cannot be resumed from" in line]
    assert len(warnings) == 1 and "last.ckpt" in warnings[0], result.stderr[-3000:]
    assert len(list(checkpoints.glob("last.ckpt.corrupt-*"))) == 1
    assert f"resuming from {checkpoints / 'last-prev.ckpt'}" in result.stderr
    assert step_of(checkpoints / "last.ckpt") == 4  # steps 3 and 4 trained again

    # Nothing readable left: the job starts from scratch instead of failing.
    (checkpoints / "last.ckpt").write_bytes(b"")
    (checkpoints / "last-prev.ckpt").unlink()
    result = run_genolm(*args)
    assert "resuming from" not in result.stderr and step_of(checkpoints / "last.ckpt") == 4
    assert len(list(checkpoints.glob("last.ckpt.corrupt-*"))) == 2


def test_train_itself_discards_the_state_of_another_job(tiny_shards, tmp_path, caplog):
    """The documented entry point, not only the command, refuses to resume a job directory whose spec differs."""
    context = {"study": "s", "task": "t", "experiment": "e", "model": "m", "tokenizer": "t", "context_length": 65,
               "init": "random", "seed": 1}
    job = tmp_path / "job"
    train(validate_spec(hyenadna_spec(steps=2)), shards=tiny_shards, job_dir=job, seed=1, plots=tmp_path,
          context=context)
    wider = validate_spec(hyenadna_spec(steps=2, architecture={**TINY_HYENADNA, "d_model": 24}))
    with caplog.at_level(logging.WARNING):
        model_dir = train(wider, shards=tiny_shards, job_dir=job, seed=1, plots=tmp_path, context=context)
    assert "holds the state of another job" in caplog.text
    assert json.loads((model_dir / "config.json").read_text())["config"]["d_model"] == 24
    assert json.loads((job / "checkpoints" / "job.json").read_text())["spec"]["model"]["d_model"] == 24


# ---- training input refused before a run is opened ---------------------------------------------------------------
def write_shards(out: Path, labels: dict[str, list[int]], sequence=None) -> Path:
    """Shards with the given labels per split; random 64-bp windows (or `sequence(split, index)`)."""
    rng = random.Random(0)
    rows = []
    for split, split_labels in labels.items():
        for index, label in enumerate(split_labels):
            text = sequence(split, index) if sequence else "".join(rng.choice("ACGT") for _ in range(64))
            rows.append({"sequence": text, "label": label, "sample": f"{split}{index}", "split": split,
                         "window_id": len(rows)})
    with ShardWriter(out, dataset="hostile", provenance={"test": "hostile"}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=SEQUENCE_SCHEMA))
    return out


BALANCED = {"train": [0, 1] * 8, "val": [0, 1] * 2, "test": [0, 1] * 2}


def assert_refused_before_anything_was_created(result: subprocess.CompletedProcess, tmp_path: Path) -> str:
    """Exit status 2, one error line (no traceback), and neither a job directory nor an MLflow store."""
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("genolm train: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert not (tmp_path / "job").exists() and not (tmp_path / "results").exists()
    return errors[0]


def refused(shards: Path, tmp_path: Path, **spec) -> str:
    result = run_genolm(*train_args(hyenadna_spec(**{"steps": 2, **spec}), shards, tmp_path / "job",
                                    tmp_path / "results"), check=False)
    return assert_refused_before_anything_was_created(result, tmp_path)


def test_a_label_beyond_the_heads_label_names_is_refused_naming_its_file_and_row(tmp_path):
    shards = write_shards(tmp_path / "shards", {**BALANCED, "val": [0, 1, 2, 1]})
    line = refused(shards, tmp_path)
    assert "val/part-00000.parquet: row 2:" in line and "label 2 is not a class of the head" in line


def test_a_batch_larger_than_the_train_split_is_refused_with_the_numbers(tiny_shards, tmp_path):
    line = refused(tiny_shards, tmp_path, batch_size=100_000)
    assert str(tiny_shards) in line and "training.batch_size 100000" in line and "fewer than one batch" in line


def test_a_split_without_examples_is_refused(tmp_path):
    shards = write_shards(tmp_path / "shards", BALANCED)
    manifest = json.loads((shards / "manifest.json").read_text())
    manifest["splits"]["test"] = {"files": [], "rows": 0, "bytes": 0}
    (shards / "manifest.json").write_text(json.dumps(manifest))
    line = refused(shards, tmp_path)
    assert "manifest.json" in line and "split 'test' has no examples" in line


def test_a_train_split_of_one_class_is_refused_and_a_one_class_val_split_is_not(tmp_path):
    line = refused(write_shards(tmp_path / "one_class_train", {**BALANCED, "train": [1] * 16}), tmp_path)
    assert "one_class_train" in line and "all of class 'Lymphoid'" in line

    one_class_val = write_shards(tmp_path / "one_class_val", {**BALANCED, "val": [0, 0, 0, 0]})
    job = prepare(validate_spec(hyenadna_spec(steps=2)), shards=one_class_val, seed=1)
    assert job.eval_splits == ("val", "test")


def test_masked_lm_validation_without_a_maskable_token_is_skipped_and_counted(tmp_path):
    """All-N validation windows: k-mer masking finds no token to mask; the job finishes and says how many batches it
    skipped, instead of a traceback in the token metrics."""
    shards = write_shards(tmp_path / "shards", {"train": [0] * 16, "val": [0] * 4, "test": [0] * 4},
                          sequence=lambda split, i: "N" * 64 if split == "val" else
                          "".join(random.Random(i).choice("ACGT") for _ in range(64)))
    spec = {"tokenizer": {"name": "kmer", "k": 3},
            "model": {"name": "bert", "preset": "bert-tiny", "hidden_size": 16, "num_attention_heads": 2,
                      "intermediate_size": 32, "max_position_embeddings": 64},
            "objective": {"name": "kmer_mlm"}, "context_length": 64,
            "training": {"max_steps": 2, "batch_size": 8, "warmup_steps": 1, "val_every_n_steps": 2,
                         "checkpoint_every_n_steps": 2}}
    result = run_genolm(*train_args(spec, shards, tmp_path / "job", tmp_path / "results"), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "without a maskable token" in result.stderr
    metrics = pl.read_parquet(tmp_path / "job" / "metrics.parquet")
    val = dict(metrics.filter(pl.col("split") == "val").select("metric", "value").iter_rows())
    assert val == {"skipped_batches": 1.0}
    test = dict(metrics.filter(pl.col("split") == "test").select("metric", "value").iter_rows())
    assert {"loss", "masked_accuracy", "perplexity"} <= set(test)
