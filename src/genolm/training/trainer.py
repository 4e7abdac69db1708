"""The one trainer: every model, objective and head of genolm, HyenaDNA included, trains through `train(spec)`.

A job is one spec (schema: `$defs/train_spec` in genolm/schemas/config.schema.yaml), e.g.

    tokenizer: {name: kmer, k: 6}                      # or {pretrained: <dir>}; kmer_bpe is learnt on the train split
    model: {name: bert, preset: bert-mini}             # and/or checkpoint: <dir> (genolm, DNABERT, released HyenaDNA)
    objective: {name: kmer_mlm, k: 6}                  # pretraining ... or
    head: {name: classification, pooling: mean, label_names: [Lung, Lymphoid]}   # fine-tuning, or
    head: {name: generation, num_beams: 5, top_k: [5]}  # sequence-to-sequence (`target_sequence` column)
    head: {name: multilabel, label_names: [...], label_groups: {DNase: [...]}, pos_weight: 8}  # `targets` vectors
    init: pretrained | random | frozen | gradual       # genolm.training.init_modes
    context_length: 512                                # tokens per input, special tokens included
    label_fraction: 0.01                               # scarce labels (genolm.datasets.labels)
    group_column: sample                               # the unit a label belongs to (cell line, genome)
    training: {max_steps: 1000, batch_size: 32, ...}   # $defs/training

Read top to bottom, a job is: `prepare` (check the shards against the spec, read the train split, subsample its
labels, build tokenizer, model and objective or head: any bad input fails here, before a run is opened or any job
state written), then `run_job`: `discard_stale_state` (so every entry point keeps only this job's state), the
MLflow run opened, fit through Lightning with resume from `<job_dir>/checkpoints/last.ckpt`, choose the
checkpoint on validation, evaluate it, and the final step, on validation and test, save, track.

Everything task-specific is the head's (genolm.heads: its layer, collation, label column, metrics, monitored
metric, backbone needs and evaluation) or the objective's (genolm.objectives); the trainer's parts, by concern:

    training/spec.py             validate_spec; the shards and training examples checked against the spec
    training/builders.py         tokenizer and backbone
    training/collation.py        batches through the objective or the head
    training/lightning_setup.py  the task's LightningModule and callbacks, the Lightning Trainer, history.tsv
    training/evaluation.py       the evaluation splits after fitting, with the head's own results
    training/direct.py           models fitted or scored without Lightning (kmer-logreg, copy-parent)
    training/resume.py           resume identity: job.json, discard_stale_state
    heads/model_dir.py           the model directory: save_model_dir, load_task_model
    heads/generation.py          teacher-forced pairs and beam-search generation
    heads/backbone.py            the one place that asks a backbone what it can do

One padding convention: sequences are padded on the right, and every pooling reads the attention mask. Right
padding leaves a causal model's states at the real tokens exactly those of the unpadded sequence (a long
convolution such as HyenaDNA's would otherwise mix the left pads into every position), and a bidirectional model
masks pads either way. One place sets pooling: the head spec.

The job directory:

    <job_dir>/checkpoints/last.ckpt   resumed from when the job is restarted (also after SIGKILL); saved at the
                                      current step when SIGTERM or SIGINT stops the job, which then fails
                                      (TrainingInterrupted; `genolm train` exits 143 or 130)
    <job_dir>/checkpoints/last-prev.ckpt  the last.ckpt before it: resumed from when last.ckpt is unreadable (set
                                      aside as last.ckpt.corrupt-<time>; genolm.training.checkpoints)
    <job_dir>/checkpoints/best.ckpt   the step with the best validation score (fine-tuning with a val split)
    <job_dir>/checkpoints/job.json    what the checkpoints belong to (spec, seed, versions of the shards and
                                      backbone): a restart resumes only the same job (training/resume.py)
    <job_dir>/mlflow_run_id           the MLflow run continued on restart
    <job_dir>/model/                  model (config.json + model.safetensors), tokenizer and, after fine-tuning,
                                      head.json + head.safetensors: `load_task_model` reads it back
    <job_dir>/predictions.parquet     fine-tuning: per-example test/val probabilities with their group
    <job_dir>/metrics.parquet         result rows (genolm.results.METRICS_SCHEMA)
    <job_dir>/history.tsv             per-step loss/metric history, plotted as <plots>/loss.png

The k-mer spectrum baseline (`kmer-logreg`) is fitted with scikit-learn instead of Lightning, and the
copy-the-parent baseline (`copy-parent`) predicts each input unchanged (training/direct.py); both write the same
metrics, predictions and model directory.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import polars as pl
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import nn

from genolm.atomic import termination_handled_by_caller
from genolm.datasets.labels import labelled_subset, shuffled_labels
from genolm.datasets.shards import read_manifest
from genolm.errors import GenolmInputError
from genolm.heads import head as build_task_head
from genolm.heads import save_model_dir
from genolm.heads.backbone import check_task, fitted_whole
from genolm.heads.base import Head
from genolm.models.gemm import linear_routing
from genolm.objectives import Objective
from genolm.objectives import build as build_objective
from genolm.results import metric_rows, write_table
from genolm.training.builders import build_backbone, build_tokenizer
from genolm.training.checkpoints import (LAST, InterruptHandling, RandomStateResume, TrainingInterrupted,
                                         checkpoint_step, resume_checkpoint)
from genolm.training.data import WindowDataModule, WindowDataset
from genolm.training.direct import fit_and_evaluate
from genolm.training.evaluation import as_best, evaluate
from genolm.training.lightning_setup import (build_lightning_trainer, history_metrics, resolve_precision, task_module,
                                             write_history)
from genolm.training.resume import discard_stale_state, job_inputs
from genolm.training.spec import check_shards, check_training_examples, validate_spec  # noqa: F401 (validate_spec: the spec's entry point beside train)
from genolm.training.tracking import TrackedRun

log = logging.getLogger(__name__)


# ---- the job ----------------------------------------------------------------------------------------------------
@dataclass
class TrainingJob:
    """Everything a job needs before training starts: built (and so checked) before any run is opened."""

    spec: dict
    shards: Path
    seed: int
    tokenizer: Any
    backbone: Any
    train_windows: WindowDataset
    eval_splits: tuple[str, ...]
    train_available: int  # training examples before label subsampling
    objective: Objective | None = None
    head: Head | None = None  # the task (genolm.heads), when fine-tuning
    head_module: nn.Module | None = None  # its layer on the backbone (None when the backbone's own LM head serves)

    @property
    def labels_used(self) -> dict:
        """What the results table says about the labels this job really trained on."""
        if self.objective is not None:
            return {}
        used = len(self.train_windows)
        # The configured fraction, so a consumer can group by it; the realized count is train_labelled.
        return {"label_fraction": float(self.spec["label_fraction"]), "train_labelled": used}


def prepare(spec: dict, *, shards: Path, seed: int) -> TrainingJob:
    """Read the train split (subsampled to the label fraction), build tokenizer, model and objective or head."""
    L.seed_everything(seed, workers=True)
    pretraining = "objective" in spec
    if pretraining and spec["init"] not in ("pretrained", "random"):
        raise GenolmInputError("spec", f"key init: {spec['init']!r} is a fine-tuning mode; pretraining starts "
                                       "'random' or from a checkpoint ('pretrained')")
    splits = read_manifest(shards)["splits"]
    for split in ("train",) if pretraining else ("train", "test"):
        if split not in splits:
            raise GenolmInputError(shards, f"no {split!r} split in the shards (have: {', '.join(splits)})")
    try:
        head = None if pretraining else build_task_head(spec["head"])
    except ValueError as error:
        raise GenolmInputError("spec", f"key head.name: {error}") from None
    check_shards(head, shards, ("train",) + tuple(s for s in ("val", "test") if s in splits))
    train_windows = WindowDataset(shards, "train", with_labels=not pretraining,
                                  label_column="label" if head is None else head.label_column,
                                  group_column=spec["group_column"])
    available = len(train_windows)
    if head is not None and not head.scarce_labels and spec["label_fraction"] < 1:
        raise GenolmInputError("spec", f"key label_fraction: scarce labels are a classification setting, not "
                                       f"{head.name}")
    if not pretraining and spec["label_fraction"] < 1:
        try:
            keep = labelled_subset(train_windows.labels, spec["label_fraction"], seed, train_windows.groups)
        except ValueError as error:
            raise GenolmInputError(shards, f"train split: {error}") from None
        train_windows = train_windows.subset(keep)
        log.info("label fraction %s: %d of %d training examples keep their label", spec["label_fraction"],
                 len(keep), available)
    if spec["shuffle_labels"]:
        if head is None or not head.scarce_labels:
            raise GenolmInputError("spec", "key shuffle_labels: the shuffled-label control needs a fine-tuning head "
                                           "with a label per example")
        try:
            train_windows.labels = shuffled_labels(train_windows.labels, seed, train_windows.groups)
        except ValueError as error:
            raise GenolmInputError(shards, f"train split: {error}") from None
        log.info("shuffled-label control: %d training labels permuted among their units", len(train_windows))
    tokenizer = build_tokenizer(spec["tokenizer"], train_windows.sequences, seed)
    backbone = build_backbone(spec["model"], spec["init"], tokenizer, seed)
    job = TrainingJob(spec, shards, seed, tokenizer, backbone, train_windows,
                      tuple(s for s in ("val", "test") if s in splits), available, head=head)
    check_task(backbone, None if head is None else head.name)
    if head is not None:
        head.check_backbone(backbone)
    # A model fitted or scored outside Lightning (training/direct.py) needs no objective and no head layer.
    if pretraining and not fitted_whole(backbone):
        params = {k: v for k, v in spec["objective"].items() if k != "name"}
        try:
            job.objective = build_objective(spec["objective"]["name"], tokenizer, backbone, **params)
        except (TypeError, ValueError) as error:
            raise GenolmInputError("spec", f"key objective: {error}") from None
    elif head is not None and not fitted_whole(backbone):
        job.head_module = head.build(backbone)
    check_training_examples(job)
    stop_at = spec["training"].get("stop_at")
    if stop_at and not fitted_whole(backbone) and stop_at["metric"] not in history_metrics(job):
        logged = ", ".join(k for k in history_metrics(job) if k.startswith("val/"))
        raise GenolmInputError("spec", f"key training.stop_at.metric: {stop_at['metric']!r} is not a validation "
                                       f"metric of this job (it logs {logged})")
    return job


def train(spec: dict, *, shards: Path, job_dir: Path, seed: int, plots: Path, context: dict,
          open_run: Callable[[list[Path]], TrackedRun | None] | None = None) -> Path:
    """The job from a validated spec; returns the model directory.

    `prepare` (bad input fails here, before anything is written), then `run_job`. Raises TrainingInterrupted when
    a signal stopped it (its last.ckpt saved: calling train again resumes)."""
    job = prepare(spec, shards=shards, seed=seed)
    return run_job(job, job_dir=job_dir, plots=plots, context=context, open_run=open_run)


def run_job(job: TrainingJob, *, job_dir: Path, plots: Path, context: dict,
            open_run: Callable[[list[Path]], TrackedRun | None] | None = None) -> Path:
    """Train (resuming from `job_dir` if it holds this job's checkpoint), evaluate, save; returns the model directory.

    In this order: `discard_stale_state` (the job directory's checkpoints and MLflow run are kept only if they
    belong to this job), `open_run(inputs)` (the MLflow run, or None: opened only now, so that another job's run
    is never continued), then fit, evaluate, save and track."""
    spec, backbone, tokenizer = job.spec, job.backbone, job.tokenizer
    inputs = job_inputs(spec, job.shards)
    if rank_zero_only.rank == 0:  # one process decides (under DDP the others would race it for the same files)
        discard_stale_state(job_dir, spec, seed=job.seed, inputs=inputs)
    run = open_run(inputs) if open_run is not None else None
    context = {**context, **job.labels_used}
    model_dir = job_dir / "model"
    if fitted_whole(backbone):
        if run:
            run.log_params({"spec": spec, "seed": job.seed, **context})
        values, predictions = fit_and_evaluate(job)
        save_model_dir(model_dir, backbone, tokenizer)
        write_table(pl.concat(predictions), job_dir / "predictions.parquet")
        _finish(run, values, job_dir, plots, context, model_dir, history=None)
        return model_dir
    if run:
        run.log_params({"spec": spec, "seed": job.seed, "model_parameters": backbone.num_parameters(), **context})
    module, collate, callbacks = task_module(job, job_dir)
    data = WindowDataModule(job.shards, collate=collate, batch_size=spec["training"]["batch_size"],
                            with_labels=job.objective is None, seed=job.seed, num_workers=spec["training"]["num_workers"],
                            eval_splits=job.eval_splits,
                            label_column="label" if job.head is None else job.head.label_column)
    data.datasets["train"] = job.train_windows
    interrupts = InterruptHandling(job_dir / "checkpoints" / LAST)
    trainer = build_lightning_trainer(job_dir, spec["training"], run,
                                      callbacks=[*callbacks, interrupts, RandomStateResume()])
    if "val" not in job.eval_splits:
        trainer.limit_val_batches = 0  # no validation split: Lightning then never asks for its loader
    resume = resume_checkpoint(job_dir / "checkpoints")
    if resume is not None:
        log.info("resuming from %s", resume)
    interrupts.install(trainer)
    # genolm.atomic's SIGTERM handler would raise mid-step; Lightning's stops at a step boundary and saves last.ckpt
    routing = linear_routing(module, resolve_precision(spec["training"]["precision"]),
                             rows=spec["training"]["batch_size"] * spec["context_length"])
    with termination_handled_by_caller(), routing:
        try:
            started = time.monotonic()
            trainer.fit(module, datamodule=data, ckpt_path=None if resume is None else str(resume))
            log.info("fitted to step %d in %.1f s", trainer.global_step, time.monotonic() - started)

            # The checkpoint is chosen on validation alone; test is reported at it (and, for fine-tuning, at the final
            # step too, so a reader sees what selection bought).
            values: dict[str, float] = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
            predictions: list[pl.DataFrame] = []
            started = time.monotonic()
            values.update(evaluate(trainer, module, data, job, None, predictions))
            log.info("evaluated the final weights in %.1f s", time.monotonic() - started)
            best = job_dir / "checkpoints" / "best.ckpt"
            best_step = checkpoint_step(best) if best.exists() else None
            if best_step == trainer.global_step:
                log.info("the checkpoint chosen on validation is the final step's: its results are the final weights'")
                best_values, best_predictions = as_best(values, predictions)
                values.update(best_values)
                predictions.extend(best_predictions)
            elif best_step is not None:
                started = time.monotonic()
                values.update(evaluate(trainer, module, data, job, best, predictions))
                log.info("evaluated the checkpoint chosen on validation (step %d) in %.1f s", best_step,
                         time.monotonic() - started)
        except SIGTERMException:
            # Lightning ends a run stopped by a signal with SIGTERMException, a SystemExit without a status (a process
            # that exits 0): the job must fail, so that a scheduler or Snakemake reruns it.
            raise TrainingInterrupted(interrupts.signum or signal.SIGTERM, trainer.global_step,
                                      job_dir / "checkpoints" / LAST) from None
        finally:
            interrupts.uninstall()

    if trainer.is_global_zero:
        save_model_dir(model_dir, backbone, tokenizer, job.head_module, None if job.head_module is None else spec["head"])
        if predictions:
            write_table(pl.concat(predictions), job_dir / "predictions.parquet")
        _finish(run, values, job_dir, plots, context, model_dir, history=history_metrics(job))
    return model_dir


def _finish(run: TrackedRun | None, values: dict[str, float], job_dir: Path, plots: Path, context: dict,
            model_dir: Path, history: tuple[str, ...] | None) -> None:
    """The result rows written; with a run, the results, tables, training curve (`history` keys) and model logged."""
    run_id = run.run_id if run else ""
    write_table(metric_rows(context, values, run_id), job_dir / "metrics.parquet")
    if run:
        run.log_results(values)
        run.log_artifact(job_dir / "metrics.parquet", "tables")
        if history:
            write_history(run, job_dir, plots, title=f"{context.get('experiment', '')}: {context.get('model', '')}",
                          keys=history)
        run.log_artifact(model_dir, "model")
        run.finish()
