"""Lightning plumbing of a job: the task's LightningModule, collation and callbacks; the Lightning Trainer;
the per-step history written from MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
import polars as pl
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from genolm.models.heads import TaskModel
from genolm.training.checkpoints import AtomicCheckpointIO
from genolm.training.collation import Collator
from genolm.training.init_modes import GradualUnfreezing, prepare_for_finetuning
from genolm.training.modules import FinetuneModule, PretrainModule, Seq2SeqModule
from genolm.training.tracking import TrackedRun

if TYPE_CHECKING:
    from genolm.training.trainer import TrainingJob


def task_module(job: TrainingJob, job_dir: Path) -> tuple[L.LightningModule, Collator, list[L.Callback]]:
    """The LightningModule, the collation and the callbacks of the job's objective or head."""
    spec, backbone = job.spec, job.backbone
    collate = Collator(job.tokenizer, spec["context_length"], objective=job.objective, head=job.head, seed=job.seed)
    if job.objective is not None:
        return PretrainModule(backbone, job.objective, spec["training"]), collate, []
    head, callbacks = job.head, []
    prepare_for_finetuning(backbone, spec["init"])
    if spec["init"] == "gradual":
        callbacks.append(GradualUnfreezing(backbone, spec["unfreeze_every_n_steps"], groups=head.unfreeze_groups(backbone)))
    if head.teacher_forced:
        module: L.LightningModule = Seq2SeqModule(backbone, spec["training"])
    else:
        module = FinetuneModule(TaskModel(backbone, job.head_module), head.metrics(spec["context_length"]),
                                spec["training"], frozen=spec["init"] == "frozen", multilabel=head.multilabel)
    if "val" in job.eval_splits:
        callbacks.append(ModelCheckpoint(dirpath=job_dir / "checkpoints", filename="best", mode=head.monitor_mode,
                                         monitor=head.monitor, save_top_k=1, save_on_train_epoch_end=False,
                                         enable_version_counter=False))
    return module, collate, callbacks


def history_metrics(job: TrainingJob) -> tuple[str, ...]:
    """The keys of the job's training curve: the losses, the learning rate and its task's validation metrics."""
    task = PretrainModule.history_metrics if job.head is None else job.head.history_metrics
    return ("train/loss", "val/loss", *task, "train/lr")


def resolve_precision(precision: str) -> str:
    if precision != "auto":
        return precision
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def build_lightning_trainer(job_dir: Path, training: dict, run: TrackedRun | None, callbacks: list) -> L.Trainer:
    # `last.ckpt` every N steps (and, through InterruptHandling, when a signal stops the job) is what a killed job
    # resumes from; AtomicCheckpointIO writes every checkpoint whole (genolm.training.checkpoints).
    # No version counter: after a resume the final save replaces last.ckpt instead of writing last-v1.ckpt beside it.
    callbacks.append(ModelCheckpoint(dirpath=job_dir / "checkpoints", save_last=True, save_top_k=0,
                                     every_n_train_steps=training["checkpoint_every_n_steps"],
                                     enable_version_counter=False))
    if training.get("stop_at"):
        callbacks.append(stop_at_threshold(training["stop_at"]))
    return L.Trainer(
        default_root_dir=job_dir,
        max_steps=training["max_steps"],
        max_epochs=-1,
        val_check_interval=training["val_every_n_steps"],
        check_val_every_n_epoch=None,  # count validation intervals in steps across epochs
        accumulate_grad_batches=training["accumulate_grad_batches"],
        gradient_clip_val=training["gradient_clip"] or None,
        precision=resolve_precision(training["precision"]),
        devices=training["devices"],
        num_nodes=training["num_nodes"],
        strategy=training["strategy"],
        logger=run.lightning_logger() if run else False,
        callbacks=callbacks,
        use_distributed_sampler=False,  # WindowDataModule shards the data itself, the same for any world size
        log_every_n_steps=min(10, training["val_every_n_steps"]),
        num_sanity_val_steps=0,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
    )


def stop_at_threshold(stop_at: dict) -> EarlyStopping:
    """The spec's `stop_at`: stop at the first validation where the metric reaches its value, and for no other
    reason (no patience: a metric that does not improve never stops the job)."""
    at_least = "at_least" in stop_at
    return EarlyStopping(monitor=stop_at["metric"], mode="max" if at_least else "min",
                         stopping_threshold=stop_at["at_least" if at_least else "at_most"], patience=2**31 - 1,
                         min_delta=0.0, check_on_train_epoch_end=False, check_finite=False, strict=True)


def write_history(run: TrackedRun, job_dir: Path, plots: Path, title: str, keys: tuple[str, ...]) -> None:
    """Per-step history of `keys` from MLflow (complete across restarts), as a TSV and a loss-curve figure."""
    from genolm.analysis.plots import plot_history

    rows: list[dict[str, Any]] = []
    for key in keys:
        for m in run.metric_history(key):
            rows.append({"step": m.step, "metric": key, "value": m.value})
    history = pl.DataFrame(rows, schema={"step": pl.Int64, "metric": pl.Utf8, "value": pl.Float64})
    history = history.unique(["step", "metric"], keep="last").sort(["metric", "step"])
    history.write_csv(job_dir / "history.tsv", separator="\t")
    plot_history(history, plots / "loss.png", title=title)
    run.log_artifact(job_dir / "history.tsv")
    run.log_artifact(plots / "loss.png", "figures")
