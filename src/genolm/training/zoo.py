"""One training entry point for the model zoo (`genolm train`): any tokenizer, any model and either a pretraining
objective or a task head, from one spec (schema: workflow/schemas/config.schema.yaml, `$defs/zoo_spec`):

    tokenizer: {name: kmer, k: 6}                      # or {pretrained: <dir>}; kmer_bpe is learnt on the train split
    model: {name: bert, preset: bert-mini}             # and/or checkpoint: <dir> (genolm, DNABERT, HyenaDNA)
    objective: {name: kmer_mlm, k: 6}                  # pretraining ... or
    head: {name: classification, pooling: cls, label_names: [Lung, Lymphoid]}   # fine-tuning
    init: pretrained | random | frozen | gradual       # fine-tuning (genolm.training.init_modes)
    context_length: 512                                # tokens per input, special tokens included
    training: {max_steps: 1000, batch_size: 32, ...}   # $defs/training

Inputs are window shards (docs/data_contracts.md): pretraining reads `sequence`; classification heads also
`label`, the localization head `anchor_offset` (the site's token is the token that holds that base).
The job directory is laid out like the HyenaDNA jobs' (genolm.training.run), resumes the same way, and its
`model/` holds the model (config.json + model.safetensors), its tokenizer and, after fine-tuning, `head.json` +
`head.safetensors`: `genolm.models.from_pretrained` and `genolm.tokenizers.from_pretrained` read it, and
`load_task_model` reads the whole classifier.

The k-mer spectrum baseline (`kmer-logreg`) is fitted with scikit-learn instead of Lightning and writes the same
metrics and model directory.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torchmetrics
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor, nn

from genolm import models, tokenizers
from genolm.config import load_schema, validate_config
from genolm.datasets.shards import read_manifest
from genolm.errors import GenolmInputError
from genolm.metrics import classification_metrics, localization_metrics, token_metrics
from genolm.models.heads import ClassificationHead, SplitConcatHead, TaskModel, TokenLocalizationHead
from genolm.objectives import Objective
from genolm.objectives import build as build_objective
from genolm.objectives.base import encode
from genolm.results import metric_rows, write_table
from genolm.training.data import WindowDataModule, WindowDataset
from genolm.training.init_modes import GradualUnfreezing, load_backbone, prepare_for_finetuning
from genolm.training.modules import _OptimizedModule
from genolm.training.run import build_trainer, fit_resuming, write_history
from genolm.training.tracking import TrackedRun

HEAD_FILE, HEAD_WEIGHTS = "head.json", "head.safetensors"


# ---- the spec ---------------------------------------------------------------------------------------------------
def validate_spec(spec: dict, source: str = "spec") -> dict:
    """The spec with the schema's defaults filled in; GenolmInputError names the first bad key."""
    schema = load_schema()
    return validate_config(dict(spec), schema={"$defs": schema["$defs"], **schema["$defs"]["zoo_spec"]}, source=source)


def build_tokenizer(spec: dict, train_sequences: list[str], seed: int) -> Any:
    args = {k: v for k, v in spec.items() if k not in ("name", "pretrained")}
    if "pretrained" in spec:
        return tokenizers.from_pretrained(spec["pretrained"])
    try:
        if spec["name"] == "kmer_bpe":
            if "vocab_size" not in args:
                raise ValueError("a kmer_bpe tokenizer is learnt on the train split and needs a target vocab_size")
            # A BPE vocabulary is learnt from the corpus: here, the training split's windows.
            return tokenizers.KmerBPETokenizer.train(train_sequences, args.pop("k", None), args.pop("vocab_size"),
                                                     seed=args.pop("seed", seed), **args)
        return tokenizers.build(spec["name"], **args)
    except (TypeError, ValueError) as error:
        raise GenolmInputError("spec", f"key tokenizer: {error}") from None


def build_backbone(spec: dict, init: str, tokenizer: Any, seed: int) -> Any:
    model = dict(spec)
    name, checkpoint = model.pop("name", None), model.pop("checkpoint", None)
    # Fresh weights are drawn from the job's seed, so a rerun starts from the same model.
    L.seed_everything(seed, workers=True)
    try:
        backbone = load_backbone(init, checkpoint=checkpoint, name=name, config=model, tokenizer=tokenizer)
    except (TypeError, ValueError) as error:
        raise GenolmInputError("spec", f"key model: {error}") from None
    if checkpoint is not None and name is not None and backbone.name != name:
        raise GenolmInputError(checkpoint, f"holds a {backbone.name!r} model, the spec names {name!r}")
    if getattr(backbone, "family", None) != "sklearn" and backbone.config.vocab_size < tokenizer.vocab_size:
        raise GenolmInputError("spec", f"the model's vocabulary ({backbone.config.vocab_size}) is smaller than the "
                                       f"tokenizer's ({tokenizer.vocab_size})")
    return backbone


def build_head(spec: dict, d_model: int) -> nn.Module:
    name = spec["name"]
    if name == "localization":
        return TokenLocalizationHead(d_model, dropout=spec["dropout"])
    labels = spec.get("label_names")
    if not labels:
        raise GenolmInputError("spec", f"key head: a {name} head needs label_names")
    if name == "split_concat":
        return SplitConcatHead(d_model, len(labels), pooling=spec["pooling"], hidden_size=spec["hidden_size"] or 512,
                               dropout=spec["dropout"])
    return ClassificationHead(d_model, len(labels), pooling=spec["pooling"], hidden_size=spec["hidden_size"],
                              dropout=spec["dropout"])


# ---- batches ----------------------------------------------------------------------------------------------------
def site_token_index(tokenizer: Any, sequence: str, offset: int) -> int:
    """Index, in the encoded sequence, of the token that holds base `offset`: the last ordinary token of the
    encoded prefix ending at that base (exact for one-token-per-base and k-mer tokenizers)."""
    ids = tokenizer.encode(sequence[: offset + 1], add_special_tokens=True)
    ordinary = np.flatnonzero(~np.isin(ids, np.asarray(tokenizer.special_ids)))
    if not len(ordinary):
        raise ValueError(f"no token holds base {offset}")
    return int(ordinary[-1])


class ZooCollator:
    """(sequence, target) pairs -> a batch: through the objective when pretraining, else ids + head targets."""

    def __init__(self, tokenizer: Any, max_length: int, objective: Objective | None = None, head: str | None = None):
        self.tokenizer, self.max_length, self.objective, self.head = tokenizer, max_length, objective, head

    def __call__(self, batch: list[tuple[str, int]]) -> dict[str, Tensor]:
        sequences, targets = (list(x) for x in zip(*batch))
        if self.objective is not None:
            return self.objective.collate(sequences, self.max_length)
        if self.head == "split_concat":
            halves = [part for s in sequences for part in (s[: len(s) // 2], s[len(s) // 2:])]
            ids, mask = encode(self.tokenizer, halves, self.max_length)
            ids, mask = ids.view(len(sequences), 2, -1), mask.view(len(sequences), 2, -1)
        else:
            ids, mask = encode(self.tokenizer, sequences, self.max_length)
        if self.head == "localization":
            targets = [site_token_index(self.tokenizer, s, t) for s, t in zip(sequences, targets)]
            if max(targets) >= self.max_length:
                raise GenolmInputError("shards", f"a site lies beyond the first {self.max_length} tokens")
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor(targets, dtype=torch.long)}


# ---- Lightning modules ------------------------------------------------------------------------------------------
class PretrainModule(_OptimizedModule):
    def __init__(self, model: nn.Module, objective: Objective, training: dict):
        super().__init__(training)
        self.model = model
        self.objective = objective
        self.val_metrics = token_metrics(model.output_vocab_size).clone(prefix="val/")
        self.test_metrics = token_metrics(model.output_vocab_size).clone(prefix="test/")

    def training_step(self, batch, batch_idx):
        result = self.objective(self.model, batch)
        self.log("train/loss", result.loss, prog_bar=True)
        self.log_dict({f"train/{k}": v for k, v in result.extra.items()})
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return result.loss

    def _evaluate(self, batch, split: str, metrics: torchmetrics.MetricCollection) -> None:
        result = self.objective(self.model, batch)
        self.log(f"{split}/loss", result.loss, prog_bar=split == "val", sync_dist=True)
        self.log_dict({f"{split}/{k}": v for k, v in result.extra.items()}, sync_dist=True)
        if result.token_logits is not None:
            metrics.update(result.token_logits, result.token_labels)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_metrics)

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute(), sync_dist=True)
        self.val_metrics.reset()

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute(), sync_dist=True)
        self.test_metrics.reset()


class FinetuneModule(_OptimizedModule):
    def __init__(self, task: TaskModel, metrics: torchmetrics.MetricCollection, training: dict, frozen: bool):
        super().__init__(training)
        self.task = task
        self.frozen = frozen
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def on_train_epoch_start(self) -> None:
        if self.frozen:
            # A frozen backbone also keeps its dropout off: it is a fixed feature extractor.
            self.task.backbone.eval()

    def _step(self, batch) -> tuple[Tensor, Tensor]:
        logits = self.task(batch["input_ids"], batch["attention_mask"])
        return logits, self.task.loss(logits, batch["labels"])

    def training_step(self, batch, batch_idx):
        logits, loss = self._step(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/accuracy", (logits.argmax(-1) == batch["labels"]).float().mean())
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def _evaluate(self, batch, split: str, metrics: torchmetrics.MetricCollection) -> None:
        logits, loss = self._step(batch)
        metrics.update(logits.float().softmax(-1), batch["labels"])
        self.log(f"{split}/loss", loss, prog_bar=split == "val", sync_dist=True)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_metrics)

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute(), prog_bar=True, sync_dist=True)
        self.val_metrics.reset()

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute(), sync_dist=True)
        self.test_metrics.reset()


# ---- saving and loading -----------------------------------------------------------------------------------------
def save_model_dir(directory: Path, backbone: Any, tokenizer: Any, head: nn.Module | None = None,
                   head_spec: dict | None = None) -> None:
    """Model, tokenizer (and head) written into a temporary sibling, then renamed onto `directory`."""
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    backbone.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if head is not None:
        from safetensors.torch import save_model

        save_model(head, str(tmp / HEAD_WEIGHTS))
        (tmp / HEAD_FILE).write_text(json.dumps(head_spec, indent=2) + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    tmp.replace(directory)


def load_task_model(directory: str | Path) -> tuple[TaskModel, Any, dict]:
    """(backbone + head, tokenizer, head spec) of a fine-tuned model directory."""
    from safetensors.torch import load_model

    directory = Path(directory)
    try:
        head_spec = json.loads((directory / HEAD_FILE).read_text())
    except (OSError, ValueError) as error:
        raise GenolmInputError(directory / HEAD_FILE, f"not a fine-tuned model directory: {error}") from None
    backbone = models.from_pretrained(directory)
    head = build_head(head_spec, backbone.d_model)
    load_model(head, str(directory / HEAD_WEIGHTS))
    return TaskModel(backbone, head).eval(), tokenizers.from_pretrained(directory), head_spec


# ---- the job ----------------------------------------------------------------------------------------------------
def _require_splits(shards: Path, needed: tuple[str, ...]) -> dict:
    splits = read_manifest(shards)["splits"]
    for split in needed:
        if split not in splits:
            raise GenolmInputError(shards, f"no {split!r} split in the shards (have: {', '.join(splits)})")
    return splits


@dataclass
class ZooJob:
    """Everything a job needs before training starts: built (and so checked) before any run is opened."""

    spec: dict
    shards: Path
    seed: int
    tokenizer: Any
    backbone: Any
    train_windows: WindowDataset
    eval_splits: tuple[str, ...]
    objective: Objective | None = None
    head: nn.Module | None = None

    @property
    def head_name(self) -> str | None:
        return None if self.objective is not None or "head" not in self.spec else self.spec["head"]["name"]


def prepare(spec: dict, *, shards: Path, seed: int) -> ZooJob:
    """Read the train split, build tokenizer, model and objective or head; bad input fails here."""
    L.seed_everything(seed, workers=True)
    pretraining = "objective" in spec
    if pretraining and spec["init"] not in ("pretrained", "random"):
        raise GenolmInputError("spec", f"key init: {spec['init']!r} is a fine-tuning mode; pretraining starts "
                                       "'random' or from a checkpoint ('pretrained')")
    splits = _require_splits(shards, ("train",) if pretraining else ("train", "test"))
    head_name = None if pretraining else spec["head"]["name"]
    train_windows = WindowDataset(shards, "train", with_labels=not pretraining, label_column=_label_column(head_name))
    tokenizer = build_tokenizer(spec["tokenizer"], train_windows.sequences, seed)
    backbone = build_backbone(spec["model"], spec["init"], tokenizer, seed)
    job = ZooJob(spec, shards, seed, tokenizer, backbone, train_windows, tuple(s for s in ("val", "test") if s in splits))
    if backbone.family == "sklearn":
        if pretraining or head_name != "classification":
            raise GenolmInputError("spec", "the k-mer logistic regression only fits a classification head")
    elif pretraining:
        job.objective = _build_objective(spec["objective"], tokenizer, backbone)
    else:
        if head_name == "localization" and backbone.family == "none":
            raise GenolmInputError("spec", f"{backbone.name} downsamples its input, so it cannot localize a token")
        job.head = build_head(spec["head"], backbone.d_model)
    return job


def _label_column(head_name: str | None) -> str:
    return "anchor_offset" if head_name == "localization" else "label"


def train(spec: dict, *, shards: Path, job_dir: Path, seed: int, run: TrackedRun | None, plots: Path,
          context: dict) -> Path:
    """prepare + run_job; returns the model directory."""
    return run_job(prepare(spec, shards=shards, seed=seed), job_dir=job_dir, run=run, plots=plots, context=context)


def run_job(job: ZooJob, *, job_dir: Path, run: TrackedRun | None, plots: Path, context: dict) -> Path:
    """Train (resuming from `job_dir` if it holds a checkpoint), evaluate, save; returns the model directory."""
    spec, backbone, tokenizer = job.spec, job.backbone, job.tokenizer
    if backbone.family == "sklearn":
        return _fit_sklearn(job, job_dir, run, context)
    if run:
        run.log_params({"spec": spec, "seed": job.seed, "model_parameters": backbone.num_parameters(), **context})
    callbacks: list[L.Callback] = []
    if job.objective is not None:
        module: L.LightningModule = PretrainModule(backbone, job.objective, spec["training"])
        collate = ZooCollator(tokenizer, spec["context_length"], objective=job.objective)
    else:
        prepare_for_finetuning(backbone, spec["init"])
        if spec["init"] == "gradual":
            callbacks.append(GradualUnfreezing(backbone, spec["unfreeze_every_n_steps"]))
        localization = job.head_name == "localization"
        metrics = (localization_metrics(spec["context_length"], spec["head"]["top_k"]) if localization
                   else classification_metrics(len(spec["head"]["label_names"]), spec["head"]["top_k"]))
        module = FinetuneModule(TaskModel(backbone, job.head), metrics, spec["training"], frozen=spec["init"] == "frozen")
        collate = ZooCollator(tokenizer, spec["context_length"], head=job.head_name)
        if "val" in job.eval_splits:
            callbacks.append(ModelCheckpoint(dirpath=job_dir / "checkpoints", filename="best", mode="max",
                                             monitor="val/accuracy" if localization else "val/balanced_accuracy",
                                             save_top_k=1, save_on_train_epoch_end=False, enable_version_counter=False))

    data = WindowDataModule(job.shards, context_length=spec["context_length"], batch_size=spec["training"]["batch_size"],
                            with_labels=job.objective is None, seed=job.seed, num_workers=spec["training"]["num_workers"],
                            eval_splits=job.eval_splits, collate=collate, label_column=_label_column(job.head_name))
    data.datasets["train"] = job.train_windows
    trainer = build_trainer(job_dir, spec["training"], run, callbacks=callbacks)
    if "val" not in job.eval_splits:
        trainer.limit_val_batches = 0  # no validation split: Lightning then never asks for its loader
    fit_resuming(trainer, module, data, job_dir)

    # Evaluated (and saved) at the checkpoint selected on validation, when there is one.
    best = job_dir / "checkpoints" / "best.ckpt"
    ckpt = str(best) if best.exists() else None
    values = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
    if "val" in job.eval_splits:
        values.update({k: float(v) for k, v in trainer.validate(module, datamodule=data, ckpt_path=ckpt, verbose=False)[0].items()})
    if "test" in job.eval_splits:
        values.update({k: float(v) for k, v in trainer.test(module, datamodule=data, ckpt_path=ckpt, verbose=False)[0].items()})

    model_dir = job_dir / "model"
    if trainer.is_global_zero:
        save_model_dir(model_dir, backbone, tokenizer, job.head, None if job.head is None else spec["head"])
        _finish(run, values, job_dir, plots, context, model_dir)
    return model_dir


def _build_objective(spec: dict, tokenizer: Any, backbone: Any) -> Objective:
    params = {k: v for k, v in spec.items() if k != "name"}
    try:
        return build_objective(spec["name"], tokenizer, backbone, **params)
    except (TypeError, ValueError) as error:
        raise GenolmInputError("spec", f"key objective: {error}") from None


def _finish(run: TrackedRun | None, values: dict[str, float], job_dir: Path, plots: Path, context: dict,
            model_dir: Path, history: bool = True) -> None:
    run_id = run.run_id if run else ""
    write_table(metric_rows(context, values, run_id), job_dir / "metrics.parquet")
    if run:
        run.log_metrics({f"final_{k.replace('/', '_')}": v for k, v in values.items()})
        if history:
            write_history(run, job_dir, plots, title=f"{context.get('experiment', '')}: {context.get('model', '')}")
        run.log_artifact(model_dir, "model")
        run.finish()


def _fit_sklearn(job: ZooJob, job_dir: Path, run: TrackedRun | None, context: dict) -> Path:
    spec, model = job.spec, job.backbone
    labels = spec["head"]["label_names"]
    model.fit(job.train_windows.sequences, job.train_windows.labels)
    if run:
        run.log_params({"spec": spec, "seed": job.seed, **context})
    values: dict[str, float] = {}
    for split in job.eval_splits:
        windows = WindowDataset(job.shards, split, with_labels=True)
        proba = np.zeros((len(windows), len(labels)), dtype=np.float32)
        # Classes absent from the training split get probability 0.
        proba[:, model.estimator.classes_] = model.predict_proba(windows.sequences)
        metrics = classification_metrics(len(labels), spec["head"]["top_k"])
        metrics.update(torch.from_numpy(proba), torch.from_numpy(windows.labels))
        values.update({f"{split}/{k}": float(v) for k, v in metrics.compute().items()})
    model_dir = job_dir / "model"
    save_model_dir(model_dir, model, job.tokenizer)
    _finish(run, values, job_dir, job_dir, context, model_dir, history=False)
    return model_dir
