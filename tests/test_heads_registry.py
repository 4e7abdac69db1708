"""Heads as registered objects (genolm.heads): the schema's head names are the registry's, a head defined and
registered outside the package trains through the normal entry point, the job's own state check runs in
`run_job` whatever the entry point, and a saved model loads for inference without the training stack."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from conftest import REPO
from genolm import heads, models, tokenizers
from genolm.config import check_registry_names, load_schema, registry_names
from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter
from genolm.errors import GenolmInputError
from genolm.heads.base import Head
from genolm.models.heads import ClassificationHead, pool_hidden_states
from genolm.objectives.base import encode
from genolm.training.trainer import prepare, run_job, train, validate_spec

TRAINING = {"max_steps": 4, "batch_size": 8, "warmup_steps": 1, "val_every_n_steps": 2, "checkpoint_every_n_steps": 2}
BERT = {"name": "bert", "preset": "bert-tiny", "hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32,
        "max_position_embeddings": 40}
CONTEXT = {"study": "s", "task": "t", "experiment": "e", "model": "m", "tokenizer": "t", "context_length": 32,
           "init": "random", "seed": 1}


def write_shards(out: Path, n: int = 60) -> Path:
    """Random 30-bp windows, 60/20/20 % train/val/test; labels alternate (the heads below may ignore them)."""
    rng = random.Random(0)
    rows = [{"sequence": "".join(rng.choice("ACGT") for _ in range(30)), "label": i % 2, "sample": f"s{i % 6}",
             "split": "train" if i < n * 0.6 else "val" if i < n * 0.8 else "test", "window_id": i} for i in range(n)]
    with ShardWriter(out, dataset="t", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=SEQUENCE_SCHEMA))
    return out


# ---- a head from outside the package ------------------------------------------------------------------------------
class GCRichLayer(nn.Module):
    """Mean-pooled states -> two classes (GC content at most / above one half)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.out = nn.Linear(d_model, 2)

    def forward(self, output) -> Tensor:
        return self.out(pool_hidden_states(output.hidden, output.mask, "mean"))

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(logits.float(), labels)


class GCRich(Head):
    """Targets computed from the sequence itself in collation (the shards' label column is ignored)."""

    name = "gc_rich"
    monitor = "val/accuracy"
    history_metrics = ("val/accuracy",)

    def build(self, backbone) -> nn.Module:
        return GCRichLayer(backbone.d_model)

    def collate(self, tokenizer, sequences, targets, max_length):
        ids, mask = encode(tokenizer, sequences, max_length)
        rich = [sum(base in "GC" for base in s) * 2 > len(s) for s in sequences]
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor(rich, dtype=torch.long)}

    def metrics(self, context_length):
        from genolm.metrics import classification_metrics

        return classification_metrics(2, (), ["at_most_half", "above_half"])


@pytest.fixture
def gc_rich_head():
    heads.register(GCRich)
    yield GCRich
    del heads.HEADS[GCRich.name]


def test_a_head_registered_from_outside_the_package_trains_through_the_entry_point(gc_rich_head, tmp_path):
    shards = write_shards(tmp_path / "shards")
    spec = validate_spec({"tokenizer": {"name": "character"}, "model": BERT, "head": {"name": "gc_rich"},
                          "context_length": 32, "training": TRAINING})
    model_dir = train(spec, shards=shards, job_dir=tmp_path / "job", seed=1, plots=tmp_path, context=CONTEXT)
    rows = pl.read_parquet(tmp_path / "job" / "metrics.parquet")
    test = rows.filter(pl.col("split") == "test")
    assert {"accuracy", "balanced_accuracy", "loss"} <= set(test["metric"])
    # its monitored metric chose a best checkpoint, evaluated beside the final step
    assert set(test["checkpoint"]) == {"best", "last"} and (tmp_path / "job" / "checkpoints" / "best.ckpt").exists()
    assert json.loads((model_dir / "head.json").read_text())["name"] == "gc_rich"
    task, _, head_spec = heads.load_task_model(model_dir)  # rebuilt through the registry
    assert isinstance(task.head, GCRichLayer) and head_spec["name"] == "gc_rich"


def test_a_head_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        heads.register(type("Another", (Head,), {"name": "classification"}))


# ---- the schema's head names are the registry's -----------------------------------------------------------------
def test_the_schema_lists_no_head_names_of_its_own():
    head_name = load_schema()["$defs"]["train_spec"]["properties"]["head"]["properties"]["name"]
    assert "enum" not in head_name and head_name["type"] == "string"
    assert registry_names("head") == sorted(heads.HEADS) == ["classification", "generation", "localization",
                                                             "multilabel", "split_concat"]


def test_an_unknown_head_name_fails_validation_with_the_close_matches(tmp_path):
    spec = {"tokenizer": {"name": "character"}, "model": BERT, "head": {"name": "multi_label"}, "context_length": 32}
    with pytest.raises(GenolmInputError, match=r"key head.name: no head named 'multi_label' \(did you mean "
                                               r"'multilabel'\?"):
        validate_spec(spec)
    with pytest.raises(GenolmInputError, match=r"jobs.0.head.name: no head named 'multi_label'"):
        check_registry_names({"jobs": [spec]})


# ---- the job's state check belongs to the job ---------------------------------------------------------------------
def test_run_job_discards_another_jobs_state_whichever_entry_point(tmp_path, caplog):
    """prepare + run_job (not only train() and the command) keep a job directory's state only if it is this job's."""
    shards = write_shards(tmp_path / "shards")
    spec = validate_spec({"tokenizer": {"name": "character"}, "model": BERT,
                          "head": {"name": "classification", "label_names": ["a", "b"]}, "context_length": 32,
                          "training": {**TRAINING, "max_steps": 2}})
    checkpoints = tmp_path / "job" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "job.json").write_text(json.dumps({"spec": {"another": "job"}, "seed": 1, "inputs": []}))
    (checkpoints / "last.ckpt").write_bytes(b"another job's checkpoint")
    job = prepare(spec, shards=shards, seed=1)
    with caplog.at_level(logging.WARNING):
        run_job(job, job_dir=tmp_path / "job", plots=tmp_path, context=CONTEXT)
    assert "holds the state of another job" in caplog.text and "resuming from" not in caplog.text
    assert json.loads((checkpoints / "job.json").read_text())["spec"] == json.loads(json.dumps(spec))


# ---- inference without the training stack -------------------------------------------------------------------------
def test_inference_loads_a_fine_tuned_model_without_the_training_stack(tmp_path):
    tokenizer = tokenizers.build("character")
    backbone = models.build("bert", {k: v for k, v in BERT.items() if k != "name"}, tokenizer=tokenizer)
    head_spec = {"name": "classification", "pooling": "mean", "hidden_size": None, "dropout": 0.1,
                 "label_names": ["a", "b"], "top_k": [2]}
    heads.save_model_dir(tmp_path / "model", backbone, tokenizer,
                         ClassificationHead(backbone.d_model, 2, pooling="mean"), head_spec)
    script = f"""
import sys
from genolm.inference.loading import load_model
from genolm.inference.embedding import embed_sequences  # noqa: F401
from genolm.heads import load_task_model
import genolm.inference.variants, genolm.studies.cancer_type.embeddings  # scoring, UMAP's embeddings
model, tokenizer = load_model({str(tmp_path / 'model')!r})
task, tokenizer, head = load_task_model({str(tmp_path / 'model')!r})
assert head["label_names"] == ["a", "b"] and type(task.head).__name__ == "ClassificationHead"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("lightning", "pytorch_lightning")
                or m.startswith("genolm.training"))
print("loaded:", loaded)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "loaded: []"
