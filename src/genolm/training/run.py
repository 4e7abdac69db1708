"""The two training jobs, each read top to bottom: `pretrain` (next-token prediction on reference windows) and
`finetune` (sequence classification on mutated windows, with init modes pretrained / random / frozen).

Both run through Lightning (checkpoint/resume, DDP, SLURM and mixed precision come with it), log one MLflow run,
and leave a job directory that makes a restarted job resume from its last checkpoint. Several processes (DDP:
`devices`, `num_nodes`, `strategy` in the training settings) run the same command; Lightning launches them itself
on one machine, or takes them from `srun` under SLURM. Only global rank 0 tracks (`run` is None elsewhere) and
writes the job's outputs:

    <job_dir>/checkpoints/last.ckpt     resumed from when the job is restarted
    <job_dir>/checkpoints/best.ckpt     (fine-tuning) the step with the best validation balanced accuracy
    <job_dir>/mlflow_run_id             the MLflow run continued on restart
    <job_dir>/model/                    the trained model (pretraining: released HyenaDNA layout)
    <job_dir>/metrics.parquet           tidy result rows (genolm.results.METRICS_SCHEMA)
    <job_dir>/history.tsv               per-step loss/metric history, plotted as <plots>/loss.png
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import lightning as L
import polars as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger

from genolm.datasets.shards import read_manifest
from genolm.errors import GenolmInputError
from genolm.models.heads import SequenceClassifier
from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig
from genolm.results import metric_rows, write_table
from genolm.tokenizers import CharacterTokenizer
from genolm.training.data import WindowDataModule
from genolm.training.modules import CausalLMModule, SequenceClassificationModule
from genolm.training.tracking import TrackedRun

log = logging.getLogger(__name__)


def resolve_precision(precision: str) -> str:
    if precision != "auto":
        return precision
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def build_trainer(job_dir: Path, training: dict, run: TrackedRun | None, callbacks: list) -> L.Trainer:
    checkpoints = job_dir / "checkpoints"
    # `last.ckpt` every N steps is what a killed job resumes from.
    callbacks.append(ModelCheckpoint(dirpath=checkpoints, save_last=True, save_top_k=0,
                                     every_n_train_steps=training["checkpoint_every_n_steps"]))
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
        logger=MLFlowLogger(experiment_name=run.experiment_name, tracking_uri=run.tracking_uri, run_id=run.run_id,
                            log_model=False) if run else False,
        callbacks=callbacks,
        use_distributed_sampler=False,  # WindowDataModule shards the data itself, the same for any world size
        log_every_n_steps=min(10, training["val_every_n_steps"]),
        num_sanity_val_steps=0,
        enable_model_summary=False,
    )


def fit_resuming(trainer: L.Trainer, module: L.LightningModule, data: L.LightningDataModule, job_dir: Path) -> None:
    last = job_dir / "checkpoints" / "last.ckpt"
    if last.exists():
        log.info("resuming from %s", last)
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if last.exists() else None)


def write_history(run: TrackedRun, job_dir: Path, plots: Path, title: str) -> None:
    """Per-step history from MLflow (complete across restarts), as a TSV and a loss-curve figure."""
    from genolm.analysis.plots import plot_history

    rows = []
    for key in ("train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "val/perplexity", "train/lr"):
        for m in run.client.get_metric_history(run.run_id, key):
            rows.append({"step": m.step, "metric": key, "value": m.value})
    history = pl.DataFrame(rows, schema={"step": pl.Int64, "metric": pl.Utf8, "value": pl.Float64})
    history = history.unique(["step", "metric"], keep="last").sort(["metric", "step"])
    history.write_csv(job_dir / "history.tsv", separator="\t")
    plot_history(history, plots / "loss.png", title=title)
    run.log_artifact(job_dir / "history.tsv")
    run.log_artifact(plots / "loss.png", "figures")


def pretrain(*, shards: Path, job_dir: Path, architecture: HyenaDNAConfig, training: dict, seed: int,
             run: TrackedRun | None, plots: Path, context: dict) -> Path:
    """Next-token pretraining; returns the model directory (released HyenaDNA layout)."""
    L.seed_everything(seed, workers=True)
    splits = read_manifest(shards)["splits"]
    eval_splits = ("val",) if "val" in splits else ()
    data = WindowDataModule(shards, context_length=architecture.l_max - 2, batch_size=training["batch_size"],
                            with_labels=False, seed=seed, num_workers=training["num_workers"], eval_splits=eval_splits)
    model = HyenaDNA(architecture)
    module = CausalLMModule(model, training, pad_id=CharacterTokenizer.pad_id)
    if run:
        run.log_params({"architecture": dataclasses.asdict(architecture), "training": training, "seed": seed,
                        **context})

    trainer = build_trainer(job_dir, training, run, callbacks=[])
    fit_resuming(trainer, module, data, job_dir)

    values = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
    if eval_splits:
        for name, value in trainer.validate(module, datamodule=data, verbose=False)[0].items():
            values[name] = float(value)
    model_dir = job_dir / "model"
    if trainer.is_global_zero:
        model.save_released(model_dir)
        write_table(metric_rows(context, values, run.run_id), job_dir / "metrics.parquet")
        run.log_artifact(job_dir / "metrics.parquet", "tables")
        write_history(run, job_dir, plots, title=f"pretraining {context.get('model', '')}")
        run.log_artifact(model_dir, "model")
        run.finish()
    return model_dir


def build_backbone(init: str, *, weights: Path | None, architecture: HyenaDNAConfig | None, context_length: int,
                   shift: float, seed: int) -> HyenaDNA:
    """`pretrained` and `frozen` load weights (genolm-pretrained or released); `random` builds the same architecture."""
    if init in ("pretrained", "frozen"):
        if weights is None:
            raise GenolmInputError("finetune", f"init {init!r} needs --backbone (a pretrained model directory)")
        backbone = HyenaDNA.from_released(weights, shift=shift)
        if context_length + 2 > backbone.config.l_max:
            raise GenolmInputError(
                weights, f"context length {context_length} exceeds the checkpoint's l_max {backbone.config.l_max} - 2"
            )
        return backbone
    if init == "random":
        if architecture is None:
            raise GenolmInputError("finetune", "init 'random' needs --preset (and optionally --overrides)")
        # Drawn from the job's seed: a rerun, or the same job on another number of processes, starts from the
        # same weights.
        L.seed_everything(seed, workers=True)
        return HyenaDNA(architecture)
    raise ValueError(f"unknown init mode {init!r}")


def finetune(*, shards: Path, job_dir: Path, backbone: HyenaDNA, init: str, label_names: list[str], context_length: int,
             training: dict, seed: int, run: TrackedRun | None, plots: Path, context: dict) -> Path:
    """Sequence classification; returns the model directory (classifier weights + its description)."""
    L.seed_everything(seed, workers=True)
    splits = read_manifest(shards)["splits"]
    for split in ("train", "test"):
        if split not in splits:
            raise GenolmInputError(shards, f"no {split!r} split in the shards (have: {', '.join(splits)})")
    has_val = "val" in splits
    data = WindowDataModule(shards, context_length=context_length, batch_size=training["batch_size"], with_labels=True,
                            seed=seed, num_workers=training["num_workers"],
                            eval_splits=("val", "test") if has_val else ("test",))
    classifier = SequenceClassifier(backbone, backbone.config.d_model, len(label_names), pooling=training["pooling"])
    module = SequenceClassificationModule(classifier, len(label_names), training, frozen=init == "frozen")
    if run:
        run.log_params({"architecture": dataclasses.asdict(backbone.config), "training": training, "seed": seed,
                        "label_names": label_names, **context})

    callbacks = []
    if has_val:
        best = ModelCheckpoint(dirpath=job_dir / "checkpoints", filename="best", monitor="val/balanced_accuracy",
                               mode="max", save_top_k=1, save_on_train_epoch_end=False, enable_version_counter=False)
        callbacks.append(best)
    trainer = build_trainer(job_dir, training, run, callbacks=callbacks)
    fit_resuming(trainer, module, data, job_dir)

    # Report the checkpoint selected on validation, evaluated on the held-out cell lines.
    best_ckpt = job_dir / "checkpoints" / "best.ckpt"
    ckpt = str(best_ckpt) if best_ckpt.exists() else None
    values = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
    if has_val:
        values.update({k: float(v) for k, v in trainer.validate(module, datamodule=data, ckpt_path=ckpt, verbose=False)[0].items()})
    values.update({k: float(v) for k, v in trainer.test(module, datamodule=data, ckpt_path=ckpt, verbose=False)[0].items()})

    model_dir = job_dir / "model"
    if trainer.is_global_zero:
        run.log_metrics({f"final_{k.replace('/', '_')}": v for k, v in values.items()})
        save_classifier(classifier, label_names, context_length, model_dir)
        write_table(metric_rows(context, values, run.run_id), job_dir / "metrics.parquet")
        run.log_artifact(job_dir / "metrics.parquet", "tables")
        write_history(run, job_dir, plots, title=f"{context.get('experiment', '')}: {init} init, context {context_length}")
        run.log_artifact(model_dir, "model")
        run.finish()
    return model_dir


def save_classifier(classifier: SequenceClassifier, label_names: list[str], context_length: int, directory: Path) -> None:
    from safetensors.torch import save_file

    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    classifier.backbone.save_released(tmp / "backbone")
    save_file({k: v.contiguous() for k, v in classifier.classifier.state_dict().items()}, tmp / "head.safetensors")
    (tmp / "head.json").write_text(json.dumps(
        {"label_names": label_names, "pooling": classifier.pooling, "context_length": context_length,
         "shift": classifier.backbone.config.shift}, indent=2))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.replace(directory)


def load_classifier(directory: Path) -> tuple[SequenceClassifier, dict]:
    from safetensors.torch import load_file

    meta = json.loads((directory / "head.json").read_text())
    backbone = HyenaDNA.from_released(directory / "backbone", shift=meta["shift"])
    classifier = SequenceClassifier(backbone, backbone.config.d_model, len(meta["label_names"]), pooling=meta["pooling"])
    classifier.classifier.load_state_dict(load_file(directory / "head.safetensors"))
    return classifier.eval(), meta
