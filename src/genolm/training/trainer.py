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
state written), `discard_stale_state`, the MLflow run opened, then `run_job` (fit through Lightning with
resume from `<job_dir>/checkpoints/last.ckpt`, choose the checkpoint on validation, evaluate it, and the final
step, on validation and test, save, track).

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
                                      backbone): a restart resumes only the same job (`discard_stale_state`)
    <job_dir>/mlflow_run_id           the MLflow run continued on restart
    <job_dir>/model/                  model (config.json + model.safetensors), tokenizer and, after fine-tuning,
                                      head.json + head.safetensors: `load_task_model` reads it back
    <job_dir>/predictions.parquet     fine-tuning: per-example test/val probabilities with their group
    <job_dir>/metrics.parquet         result rows (genolm.results.METRICS_SCHEMA)
    <job_dir>/history.tsv             per-step loss/metric history, plotted as <plots>/loss.png

The k-mer spectrum baseline (`kmer-logreg`) is fitted with scikit-learn instead of Lightning and writes the same
metrics, predictions and model directory.

Sequence-to-sequence (`head: {name: generation}`, shards with a `target_sequence` column, e.g. parent -> child):
an encoder-decoder (ENBED) or a decoder-only model as a prefix language model (input, end token, target) is
trained with teacher forcing (genolm.training.modules.Seq2SeqModule), the checkpoint is chosen on validation
loss, and val and test are scored by beam search (genolm.models.generation): exact match of the top-1 and
top-k candidates, mean and median Levenshtein distance of the top-1 (genolm.metrics.generation_metrics). The
copy-the-parent baseline (`copy-parent`) predicts each input unchanged and is scored the same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor, nn

from genolm import models, tokenizers
from genolm.atomic import atomic_directory, termination_handled_by_caller
from genolm.config import load_schema, validate_config
from genolm.datasets.labels import labelled_subset
from genolm.datasets.shards import MANIFEST_NAME, read_manifest
from genolm.errors import GenolmInputError
from genolm.metrics import (classification_metrics, generation_metrics, group_metrics, localization_metrics,
                            multilabel_metrics)
from genolm.models.base import end_of_sequence_id
from genolm.models.heads import ClassificationHead, MultiLabelHead, SplitConcatHead, TaskModel, TokenLocalizationHead
from genolm.objectives import Objective
from genolm.objectives import build as build_objective
from genolm.objectives.base import encode
from genolm.results import metric_rows, write_table
from genolm.training.checkpoints import (LAST, AtomicCheckpointIO, InterruptHandling, RandomStateResume,
                                         TrainingInterrupted, resume_checkpoint)
from genolm.training.data import WindowDataModule, WindowDataset
from genolm.training.init_modes import GradualUnfreezing, load_backbone, prepare_for_finetuning
from genolm.training.modules import FinetuneModule, PretrainModule, Seq2SeqModule
from genolm.training.tracking import RUN_ID_FILE, TrackedRun

log = logging.getLogger(__name__)

HEAD_FILE, HEAD_WEIGHTS = "head.json", "head.safetensors"


# ---- the spec ---------------------------------------------------------------------------------------------------
def validate_spec(spec: dict, source: str = "spec") -> dict:
    """The spec with the schema's defaults filled in; GenolmInputError names the first bad key."""
    schema = load_schema()
    return validate_config(dict(spec), schema={"$defs": schema["$defs"], **schema["$defs"]["train_spec"]}, source=source)


def build_tokenizer(spec: dict, train_sequences: list[str], seed: int) -> Any:
    if "pretrained" in spec:
        return tokenizers.from_pretrained(spec["pretrained"])
    args = {k: v for k, v in spec.items() if k != "name"}
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
    # A training option rather than architecture, so it applies to a loaded checkpoint too.
    activation_checkpointing = model.pop("activation_checkpointing", None)
    # Fresh weights are drawn from the job's seed, so a rerun (or the same job on more processes) starts the same.
    L.seed_everything(seed, workers=True)
    try:
        backbone = load_backbone(init, checkpoint=checkpoint, name=name, config=model, tokenizer=tokenizer)
    except (TypeError, ValueError) as error:
        raise GenolmInputError("spec", f"key model: {error}") from None
    if checkpoint is not None and name is not None and backbone.name != name:
        raise GenolmInputError(checkpoint, f"holds a {backbone.name!r} model, the spec names {name!r}")
    if activation_checkpointing is not None:
        if not hasattr(backbone, "set_activation_checkpointing"):
            raise GenolmInputError("spec", f"key model: {backbone.name!r} has no activation_checkpointing option")
        backbone.set_activation_checkpointing(activation_checkpointing)
    if backbone.family not in ("sklearn", "copy") and backbone.config.vocab_size < tokenizer.vocab_size:
        raise GenolmInputError("spec", f"the model's vocabulary ({backbone.config.vocab_size}) is smaller than the "
                                       f"tokenizer's ({tokenizer.vocab_size})")
    return backbone


def build_head(spec: dict, d_model: int) -> nn.Module | None:
    name = spec["name"]
    if name == "generation":
        return None  # the model's own language-model head generates
    if name == "localization":
        return TokenLocalizationHead(d_model, dropout=spec["dropout"])
    labels = spec.get("label_names")
    if not labels:
        raise GenolmInputError("spec", f"key head: a {name} head needs label_names")
    if name == "multilabel":
        # One weight for every label's positives (the thesis' 8, after BigBird); 1 = plain binary cross-entropy.
        return MultiLabelHead(d_model, len(labels), pooling=spec["pooling"], hidden_size=spec["hidden_size"],
                              dropout=spec["dropout"], pos_weight=[spec["pos_weight"]] * len(labels))
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


class Collator:
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
        if self.head == "multilabel":
            return {"input_ids": ids, "attention_mask": mask,
                    "labels": torch.from_numpy(np.stack(targets).astype(np.float32))}
        if self.head == "localization":
            targets = [site_token_index(self.tokenizer, s, t) for s, t in zip(sequences, targets)]
            if max(targets) >= self.max_length:
                raise GenolmInputError("shards", f"a site lies beyond the first {self.max_length} tokens")
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor(targets, dtype=torch.long)}


def target_rows(tokenizer: Any, sequences: list[str], max_length: int) -> list[np.ndarray]:
    """Each sequence's tokens without framing, cut to max_length - 1, then the end token: what a decoder emits."""
    flat, lengths = tokenizer.encode_ragged(sequences)
    end = np.asarray([end_of_sequence_id(tokenizer)], dtype=np.int64)
    bodies = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return [np.concatenate([body[: max_length - 1], end]) for body in bodies]


def pad_rows(rows: list[np.ndarray], value: int) -> tuple[Tensor, Tensor]:
    """Right-padded [B, T] ids and their mask."""
    ids = torch.full((len(rows), max(map(len, rows))), value, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.from_numpy(row)
        mask[i, : len(row)] = 1
    return ids, mask


class PairCollator:
    """(input, target) sequence pairs -> a teacher-forced batch whose `labels` line up with the model's logits.

    encoder-decoder   input_ids: the input (framed as the tokenizer frames it); labels: target tokens + end
                      (the model shifts them right behind its decoder start token)
    decoder-only      input_ids: input tokens, end, target tokens, end (a prefix LM); labels[t] = input_ids[t + 1]
                      on the target's positions and the end token, -100 on the prompt
    Inputs and targets are each cut to `max_length` tokens."""

    def __init__(self, tokenizer: Any, max_length: int, causal: bool):
        self.tokenizer, self.max_length, self.causal = tokenizer, max_length, causal

    def __call__(self, batch: list[tuple[str, str]]) -> dict[str, Tensor]:
        sources, targets = (list(x) for x in zip(*batch))
        target = target_rows(self.tokenizer, targets, self.max_length)
        if not self.causal:
            ids, mask = encode(self.tokenizer, sources, self.max_length)
            labels, _ = pad_rows(target, -100)
            return {"input_ids": ids, "attention_mask": mask, "labels": labels}
        prompts = target_rows(self.tokenizer, sources, self.max_length)
        rows = [np.concatenate([p, t]) for p, t in zip(prompts, target)]
        ids, mask = pad_rows(rows, self.tokenizer.pad_id)
        labels = torch.full_like(ids, -100)
        for i, (prompt, row) in enumerate(zip(prompts, rows)):
            start = len(prompt) - 1  # the prompt's end token predicts the target's first token
            labels[i, start : len(row) - 1] = torch.from_numpy(row[start + 1 :])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@torch.no_grad()
def generate_candidates(model: Any, tokenizer: Any, sources: list[str], *, max_length: int, num_beams: int,
                        batch_size: int) -> list[list[str]]:
    """The `num_beams` beam-search candidates of every source, best first (one process, the model's device).

    The encoder-decoder reads right-padded inputs; the decoder-only model reads its prompt (input tokens) and
    the generated tokens as one sequence, so its inputs are batched by length and never padded."""
    from genolm.models.generation import beam_search

    if model.family == "copy":
        return model.generate(sources)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    end_id, pad_id = end_of_sequence_id(tokenizer), tokenizer.pad_id
    out: dict[int, list[str]] = {}
    if model.family == "seq2seq":
        start_id = model.config.decoder_start_token_id
        batches = [list(range(i, min(i + batch_size, len(sources)))) for i in range(0, len(sources), batch_size)]
    else:
        prompts = [row[:-1] for row in target_rows(tokenizer, sources, max_length)]
        by_length: dict[int, list[int]] = {}
        for index, prompt in enumerate(prompts):
            by_length.setdefault(len(prompt), []).append(index)
        batches = [group[i : i + batch_size] for group in by_length.values() for i in range(0, len(group), batch_size)]
    for members in batches:
        if model.family == "seq2seq":
            ids, mask = encode(tokenizer, [sources[i] for i in members], max_length)
            start = torch.full((len(members), 1), start_id, dtype=torch.long)
        else:
            ids = torch.from_numpy(np.stack([prompts[i] for i in members]))
            mask = torch.ones_like(ids)
            start = torch.full((len(members), 1), end_id, dtype=torch.long)  # the prompt ends with the end token
        ids, mask = (t.repeat_interleave(num_beams, dim=0).to(device) for t in (ids, mask))
        cache: dict[str, Tensor | None] = {"encoder": None}

        def step(prefixes: Tensor) -> Tensor:
            logits, cache["encoder"] = model.next_token_logits(ids, mask, prefixes, cache["encoder"])
            return logits

        beams = beam_search(step, start.to(device), num_beams=num_beams, max_new_tokens=max_length,
                            end_id=end_id, pad_id=pad_id)
        for index, candidates in zip(members, beams):
            out[index] = [tokenizer.decode(c, skip_special_tokens=True) for c in candidates]
    model.train(was_training)
    return [out[i] for i in range(len(sources))]


# ---- saving and loading -----------------------------------------------------------------------------------------
def save_model_dir(directory: Path, backbone: Any, tokenizer: Any, head: nn.Module | None = None,
                   head_spec: dict | None = None) -> None:
    """Model, tokenizer (and head) in one directory, which appears whole or not at all."""
    with atomic_directory(directory) as tmp:
        backbone.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if head is not None:
            from safetensors.torch import save_model

            save_model(head, str(tmp / HEAD_WEIGHTS))
            (tmp / HEAD_FILE).write_text(json.dumps(head_spec, indent=2) + "\n")


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


# ---- Lightning plumbing -----------------------------------------------------------------------------------------
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


def write_history(run: TrackedRun, job_dir: Path, plots: Path, title: str) -> None:
    """Per-step history from MLflow (complete across restarts), as a TSV and a loss-curve figure."""
    from genolm.analysis.plots import plot_history

    rows = []
    for key in ("train/loss", "val/loss", "val/accuracy", "val/balanced_accuracy", "val/perplexity", "val/token_accuracy",
                "train/lr"):
        for m in run.metric_history(key):
            rows.append({"step": m.step, "metric": key, "value": m.value})
    history = pl.DataFrame(rows, schema={"step": pl.Int64, "metric": pl.Utf8, "value": pl.Float64})
    history = history.unique(["step", "metric"], keep="last").sort(["metric", "step"])
    history.write_csv(job_dir / "history.tsv", separator="\t")
    plot_history(history, plots / "loss.png", title=title)
    run.log_artifact(job_dir / "history.tsv")
    run.log_artifact(plots / "loss.png", "figures")


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
    head: nn.Module | None = None

    @property
    def head_name(self) -> str | None:
        return None if self.objective is not None else self.spec["head"]["name"]

    @property
    def label_column(self) -> str:
        return label_column(self.head_name)

    @property
    def labels_used(self) -> dict:
        """What the results table says about the labels this job really trained on."""
        if self.objective is not None:
            return {}
        used = len(self.train_windows)
        # The configured fraction, so a consumer can group by it; the realized count is train_labelled.
        return {"label_fraction": float(self.spec["label_fraction"]), "train_labelled": used}


def label_column(head_name: str | None) -> str:
    return {"localization": "anchor_offset", "generation": "target_sequence", "multilabel": "targets"}.get(head_name, "label")


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
    head_name = None if pretraining else spec["head"]["name"]
    check_shards(spec, shards, ("train",) + tuple(s for s in ("val", "test") if s in splits))
    train_windows = WindowDataset(shards, "train", with_labels=not pretraining, label_column=label_column(head_name),
                                  group_column=spec["group_column"])
    available = len(train_windows)
    if head_name == "generation" and spec["label_fraction"] < 1:
        raise GenolmInputError("spec", "key label_fraction: scarce labels are a classification setting, not generation")
    if not pretraining and spec["label_fraction"] < 1:
        try:
            keep = labelled_subset(train_windows.labels, spec["label_fraction"], seed, train_windows.groups)
        except ValueError as error:
            raise GenolmInputError(shards, f"train split: {error}") from None
        train_windows = train_windows.subset(keep)
        log.info("label fraction %s: %d of %d training examples keep their label", spec["label_fraction"],
                 len(keep), available)
    tokenizer = build_tokenizer(spec["tokenizer"], train_windows.sequences, seed)
    backbone = build_backbone(spec["model"], spec["init"], tokenizer, seed)
    job = TrainingJob(spec, shards, seed, tokenizer, backbone, train_windows,
                      tuple(s for s in ("val", "test") if s in splits), available)
    if backbone.family == "sklearn":
        if pretraining or head_name != "classification":
            raise GenolmInputError("spec", "the k-mer logistic regression only fits a classification head")
    elif head_name == "generation" and backbone.family not in ("seq2seq", "causal", "copy"):
        raise GenolmInputError("spec", f"a generation head needs an encoder-decoder, decoder-only or copy model; "
                                       f"got a {backbone.family} model")
    elif backbone.family == "copy" and head_name != "generation":
        raise GenolmInputError("spec", f"copy-the-parent only generates; got head {head_name!r}")
    elif backbone.family == "copy":
        if pretraining:
            raise GenolmInputError("spec", "copy-the-parent has nothing to pretrain")
    elif pretraining:
        params = {k: v for k, v in spec["objective"].items() if k != "name"}
        try:
            job.objective = build_objective(spec["objective"]["name"], tokenizer, backbone, **params)
        except (TypeError, ValueError) as error:
            raise GenolmInputError("spec", f"key objective: {error}") from None
    else:
        if head_name == "localization" and backbone.family == "none":
            raise GenolmInputError("spec", f"{backbone.name} downsamples its input, so it cannot localize a token")
        job.head = build_head(spec["head"], backbone.d_model)
    check_training_examples(job)
    return job


def check_shards(spec: dict, shards: Path, splits: tuple[str, ...]) -> None:
    """The shards against the spec before anything is trained, from the manifest's row counts and the target
    columns alone (no sequence is read): every split the job uses has examples, and every target fits the head
    (a class id within its label_names, a multi-label vector of their length). A target beyond the head would
    otherwise fail as a traceback inside the loss, after the run was opened and checkpoints written."""
    manifest = read_manifest(shards)
    for split in splits:
        if manifest["splits"][split].get("rows") == 0:
            raise GenolmInputError(shards / MANIFEST_NAME, f"split {split!r} has no examples: rebuild the shards "
                                                           "with examples in every split")
    head = spec.get("head") or {}
    names = head.get("label_names") or []
    if head.get("name") not in ("classification", "split_concat", "multilabel") or not names:
        return  # (a head without label_names is refused when it is built)
    column = label_column(head["name"])
    for split in splits:
        for name in manifest["splits"][split]["files"]:
            path = shards / name
            try:
                targets = pq.read_table(path, columns=[column]).column(column)
            except (OSError, KeyError, pa.ArrowException) as error:
                raise GenolmInputError(path, f"cannot read its {column!r} column ({error})") from None
            if targets.null_count:
                row = targets.to_pylist().index(None)
                raise GenolmInputError(path, f"split {split!r}: no {column}", record=f"row {row}")
            if head["name"] == "multilabel":
                lengths = pc.list_value_length(targets).to_numpy()
                wrong = np.flatnonzero(lengths != len(names))
                if len(wrong):
                    raise GenolmInputError(path, f"split {split!r}: a targets vector of {lengths[wrong[0]]} values, "
                                                 f"the head has {len(names)} label_names", record=f"row {wrong[0]}")
                continue
            labels = targets.to_numpy()
            wrong = np.flatnonzero((labels < 0) | (labels >= len(names)))
            if len(wrong):
                raise GenolmInputError(path, f"split {split!r}: label {labels[wrong[0]]} is not a class of the head, "
                                             f"whose {len(names)} label_names ({', '.join(map(str, names))}) are "
                                             f"labels 0 to {len(names) - 1}: fix the labels or the head's label_names",
                                       record=f"row {wrong[0]}")


def check_training_examples(job: TrainingJob) -> None:
    """The training examples (after label subsampling) can train the job: at least two classes for a classifier,
    at least one batch on every process. (A one-class validation or test split is allowed: its metrics that need
    two classes are undefined, genolm.metrics.)"""
    spec, examples = job.spec, len(job.train_windows)
    labelled = f" (label_fraction {spec['label_fraction']})" if spec["label_fraction"] < 1 else ""
    if job.head_name in ("classification", "split_concat"):
        classes = np.unique(job.train_windows.labels)
        if len(classes) < 2:
            names = spec["head"]["label_names"]
            raise GenolmInputError(job.shards, f"the train split's {examples} training examples{labelled} are all of "
                                               f"class {names[classes[0]]!r}: a classifier needs examples of at least "
                                               "two classes")
    if job.backbone.family in ("sklearn", "copy"):
        return  # fitted or scored whole, not in batches
    training = spec["training"]
    devices = training["devices"] if isinstance(training["devices"], int) and training["devices"] > 0 else 1
    processes = devices * training["num_nodes"]
    if examples < training["batch_size"] * processes:
        per = f" per process x {processes} processes" if processes > 1 else ""
        raise GenolmInputError(job.shards, f"the train split has {examples} training examples{labelled}, fewer than "
                                           f"one batch (training.batch_size {training['batch_size']}{per}): lower "
                                           "the batch size or add examples")


def _fingerprint(path: Path) -> list:
    """What identifies an input's version cheaply: a shard set by its manifest (written last), any other file or
    directory (a backbone checkpoint) by each file's size and modification time."""
    path = Path(path)
    if (path / MANIFEST_NAME).is_file():
        return [MANIFEST_NAME, hashlib.sha256((path / MANIFEST_NAME).read_bytes()).hexdigest()]
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [[p.name if p == path else str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def discard_stale_state(job_dir: Path, spec: dict, *, seed: int, inputs: list[Path]) -> None:
    """Keep `job_dir`'s checkpoints and MLflow run only if they belong to this job: the same spec, seed and inputs
    (shards, backbone checkpoint).

    Resuming is for a restarted job (a preempted or killed one). A job rerun after its spec or inputs changed
    (Snakemake reruns a rule whose params or inputs changed: an edited config, a backbone pretrained again) would
    otherwise resume another job's state: a different architecture fails to load, and the same architecture
    silently continues, or at its last step simply re-evaluates, the old model. Such state is removed and the job
    starts over under a new MLflow run. The record is written before any checkpoint, so a job killed at any point
    resumes."""
    identity = {"spec": spec, "seed": seed, "inputs": [_fingerprint(p) for p in inputs]}
    checkpoints, run_id = Path(job_dir) / "checkpoints", Path(job_dir) / RUN_ID_FILE
    record = checkpoints / "job.json"
    if checkpoints.exists() or run_id.exists():
        try:
            recorded = json.loads(record.read_text())
        except (OSError, json.JSONDecodeError):
            recorded = None
        if recorded != json.loads(json.dumps(identity)):
            log.warning("%s holds the state of another job (its spec, seed or inputs differ): starting over", job_dir)
            shutil.rmtree(checkpoints, ignore_errors=True)
            run_id.unlink(missing_ok=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(identity, sort_keys=True))  # working state, like the checkpoints: not staged


def job_inputs(spec: dict, shards: Path) -> list[Path]:
    """The inputs whose versions a job's state belongs to: the shards and a backbone checkpoint."""
    checkpoint = spec["model"].get("checkpoint")
    return [Path(shards)] + ([Path(checkpoint)] if checkpoint else [])


def train(spec: dict, *, shards: Path, job_dir: Path, seed: int, plots: Path, context: dict,
          open_run: Callable[[list[Path]], TrackedRun | None] | None = None) -> Path:
    """The job from a validated spec; returns the model directory.

    In this order: `prepare` (bad input fails here, before anything is written), `discard_stale_state` (the job
    directory's checkpoints and MLflow run are kept only if they belong to this job), `open_run(inputs)` (the
    MLflow run, or None: opened only now, so that another job's run is never continued), `run_job`. Raises
    TrainingInterrupted when a signal stopped it (its last.ckpt saved: calling train again resumes)."""
    job = prepare(spec, shards=shards, seed=seed)
    inputs = job_inputs(spec, shards)
    if rank_zero_only.rank == 0:  # one process decides (under DDP the others would race it for the same files)
        discard_stale_state(job_dir, spec, seed=seed, inputs=inputs)
    run = open_run(inputs) if open_run is not None else None
    return run_job(job, job_dir=job_dir, run=run, plots=plots, context=context)


def run_job(job: TrainingJob, *, job_dir: Path, run: TrackedRun | None, plots: Path, context: dict) -> Path:
    """Train (resuming from `job_dir` if it holds a checkpoint), evaluate, save; returns the model directory."""
    spec, backbone, tokenizer = job.spec, job.backbone, job.tokenizer
    context = {**context, **job.labels_used}
    if backbone.family == "sklearn":
        return _fit_sklearn(job, job_dir, run, context)
    if backbone.family == "copy":
        return _evaluate_copy(job, job_dir, run, context)
    if run:
        run.log_params({"spec": spec, "seed": job.seed, "model_parameters": backbone.num_parameters(), **context})
    callbacks: list[L.Callback] = []
    localization = job.head_name == "localization"
    multilabel = job.head_name == "multilabel"
    if job.objective is not None:
        module: L.LightningModule = PretrainModule(backbone, job.objective, spec["training"])
        collate = Collator(tokenizer, spec["context_length"], objective=job.objective)
    elif job.head_name == "generation":
        prepare_for_finetuning(backbone, spec["init"])
        if spec["init"] == "gradual":
            callbacks.append(GradualUnfreezing(backbone, spec["unfreeze_every_n_steps"]))
        module = Seq2SeqModule(backbone, spec["training"])
        collate = PairCollator(tokenizer, spec["context_length"], causal=backbone.family == "causal")
        if "val" in job.eval_splits:
            callbacks.append(ModelCheckpoint(dirpath=job_dir / "checkpoints", filename="best", mode="min",
                                             monitor="val/loss", save_top_k=1, save_on_train_epoch_end=False,
                                             enable_version_counter=False))
    else:
        prepare_for_finetuning(backbone, spec["init"])
        if spec["init"] == "gradual":
            # From the top of what the head reads: an encoder-decoder's classifier reads the encoder only.
            groups = getattr(backbone, "encoder_layer_groups", backbone.layer_groups)()
            callbacks.append(GradualUnfreezing(backbone, spec["unfreeze_every_n_steps"], groups=groups))
        if localization:
            metrics = localization_metrics(spec["context_length"], spec["head"]["top_k"])
        elif multilabel:
            metrics = multilabel_metrics(spec["head"]["label_names"], spec["head"].get("label_groups"))
        else:
            metrics = classification_metrics(len(spec["head"]["label_names"]), spec["head"]["top_k"],
                                             spec["head"]["label_names"])
        module = FinetuneModule(TaskModel(backbone, job.head), metrics, spec["training"], frozen=spec["init"] == "frozen")
        collate = Collator(tokenizer, spec["context_length"], head=job.head_name)
        if "val" in job.eval_splits:
            callbacks.append(ModelCheckpoint(dirpath=job_dir / "checkpoints", filename="best", mode="max",
                                             monitor="val/accuracy" if localization else
                                             "val/auroc_macro" if multilabel else "val/balanced_accuracy",
                                             save_top_k=1, save_on_train_epoch_end=False, enable_version_counter=False))

    data = WindowDataModule(job.shards, collate=collate, batch_size=spec["training"]["batch_size"],
                            with_labels=job.objective is None, seed=job.seed, num_workers=spec["training"]["num_workers"],
                            eval_splits=job.eval_splits, label_column=job.label_column)
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
    with termination_handled_by_caller():
        try:
            trainer.fit(module, datamodule=data, ckpt_path=None if resume is None else str(resume))

            # The checkpoint is chosen on validation alone; test is reported at it (and, for fine-tuning, at the final
            # step too, so a reader sees what selection bought).
            values: dict[str, float] = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
            predictions: list[pl.DataFrame] = []
            values.update(_evaluate(trainer, module, data, job, None, predictions))
            best = job_dir / "checkpoints" / "best.ckpt"
            if best.exists():
                values.update(_evaluate(trainer, module, data, job, best, predictions))
        except SIGTERMException:
            # Lightning ends a run stopped by a signal with SIGTERMException, a SystemExit without a status (a process
            # that exits 0): the job must fail, so that a scheduler or Snakemake reruns it.
            raise TrainingInterrupted(interrupts.signum or signal.SIGTERM, trainer.global_step,
                                      job_dir / "checkpoints" / LAST) from None
        finally:
            interrupts.uninstall()

    model_dir = job_dir / "model"
    if trainer.is_global_zero:
        save_model_dir(model_dir, backbone, tokenizer, job.head, None if job.head is None else spec["head"])
        if predictions:
            write_table(pl.concat(predictions), job_dir / "predictions.parquet")
        _finish(run, values, job_dir, plots, context, model_dir)
    return model_dir


def _evaluate(trainer: L.Trainer, module: L.LightningModule, data: WindowDataModule, job: TrainingJob,
              best: Path | None, predictions: list[pl.DataFrame]) -> dict[str, float]:
    """Metrics on every evaluation split of the final weights (best None) or of the checkpoint chosen on
    validation; for classification also per group (genolm.metrics.group_metrics). Keys are
    "<split>@<checkpoint>/<metric>" (genolm.results.metric_rows)."""
    checkpoint = "last" if best is None else "best"
    values = {}
    for split in job.eval_splits:
        evaluate = trainer.validate if split == "val" else trainer.test
        classifying = job.head_name in ("classification", "split_concat")
        # One process sees every example in order: keep the loop's probabilities instead of a second pass.
        if classifying:
            module.keep_predictions, module.predictions = trainer.world_size == 1, []
        # ckpt_path None with a module passed: the module's current (final) weights.
        result = evaluate(module, datamodule=data, ckpt_path=None if best is None else str(best), verbose=False)[0]
        for name, value in result.items():
            if name.startswith(f"{split}/"):
                values[f"{split}@{checkpoint}/{name.split('/', 1)[1]}"] = float(value)
        if getattr(module, "skipped_in_last_pass", {}).get(split):  # batches with no maskable token (PretrainModule)
            values[f"{split}@{checkpoint}/skipped_batches"] = float(module.skipped_in_last_pass[split])
        if job.head_name == "generation" and trainer.is_global_zero:
            windows = data.datasets[split]
            candidates = generate_candidates(job.backbone, job.tokenizer, windows.sequences,
                                             max_length=job.spec["context_length"],
                                             num_beams=job.spec["head"]["num_beams"],
                                             batch_size=job.spec["training"]["batch_size"])
            values.update({f"{split}@{checkpoint}/{k}": v for k, v in
                           generation_metrics(candidates, list(windows.labels), job.spec["head"]["top_k"]).items()})
            predictions.append(_generation_frame(split, checkpoint, windows.labels, candidates))
        if classifying and trainer.is_global_zero:
            windows = data.datasets[split]
            if module.keep_predictions:
                proba = torch.cat(module.predictions).numpy()
            else:  # several processes each saw a part: score the split again on this one
                proba = predict_proba(module.task, data.collate, windows, job.spec["training"]["batch_size"])
            module.keep_predictions, module.predictions = False, []
            groups = _groups(job, split)
            predictions.append(_prediction_frame(split, checkpoint, windows.labels, proba, groups))
            values[f"{split}@{checkpoint}/chance_balanced_accuracy"] = 1 / proba.shape[1]
            if groups is not None:
                values.update({f"{split}@{checkpoint}/{k}": v for k, v in
                               group_metrics(proba, windows.labels, groups, seed=job.seed).items()})
    return values


def _generation_frame(split: str, checkpoint: str, targets: np.ndarray, candidates: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame({"split": [split] * len(targets), "checkpoint": [checkpoint] * len(targets),
                         "index": np.arange(len(targets)), "target": list(targets), "candidates": candidates},
                        schema={"split": pl.Utf8, "checkpoint": pl.Utf8, "index": pl.Int64, "target": pl.Utf8,
                                "candidates": pl.List(pl.Utf8)})


def _groups(job: TrainingJob, split: str) -> np.ndarray | None:
    if job.spec["group_column"] is None:
        return None
    return WindowDataset(job.shards, split, with_labels=False, group_column=job.spec["group_column"]).groups


def _prediction_frame(split: str, checkpoint: str, labels: np.ndarray, proba: np.ndarray,
                      groups: np.ndarray | None) -> pl.DataFrame:
    return pl.DataFrame({
        "split": [split] * len(labels),
        "checkpoint": [checkpoint] * len(labels),
        "index": np.arange(len(labels)),
        "group": None if groups is None else [str(g) for g in groups],
        "label": labels,
        "probabilities": proba.astype(np.float32),
    }, schema_overrides={"group": pl.Utf8})


@torch.no_grad()
def predict_proba(task: TaskModel, collate: Collator, windows: WindowDataset, batch_size: int) -> np.ndarray:
    """Class probabilities of every example of `windows`, in order (one process, the module's device), with the
    training batches' own collation (so a split-and-concatenate head sees its two halves)."""
    device = next(task.parameters()).device
    was_training = task.training
    task.eval()
    out = []
    for start in range(0, len(windows), batch_size):
        batch = collate([windows[i] for i in range(start, min(start + batch_size, len(windows)))])
        out.append(task(batch["input_ids"].to(device), batch["attention_mask"].to(device)).float().softmax(-1).cpu().numpy())
    task.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def _finish(run: TrackedRun | None, values: dict[str, float], job_dir: Path, plots: Path, context: dict,
            model_dir: Path, history: bool = True) -> None:
    run_id = run.run_id if run else ""
    write_table(metric_rows(context, values, run_id), job_dir / "metrics.parquet")
    if run:
        run.log_results(values)
        run.log_artifact(job_dir / "metrics.parquet", "tables")
        if history:
            write_history(run, job_dir, plots, title=f"{context.get('experiment', '')}: {context.get('model', '')}")
        run.log_artifact(model_dir, "model")
        run.finish()


def _fit_sklearn(job: TrainingJob, job_dir: Path, run: TrackedRun | None, context: dict) -> Path:
    spec, model = job.spec, job.backbone
    labels = spec["head"]["label_names"]
    model.fit(job.train_windows.sequences, job.train_windows.labels)
    if run:
        run.log_params({"spec": spec, "seed": job.seed, **context})
    values: dict[str, float] = {}
    predictions = []
    for split in job.eval_splits:
        windows = WindowDataset(job.shards, split, with_labels=True, group_column=spec["group_column"])
        proba = np.zeros((len(windows), len(labels)), dtype=np.float32)
        # Classes absent from the training split get probability 0.
        proba[:, model.estimator.classes_] = model.predict_proba(windows.sequences)
        metrics = classification_metrics(len(labels), spec["head"]["top_k"], labels)
        metrics.update(torch.from_numpy(proba), torch.from_numpy(windows.labels))
        values.update({f"{split}@last/{k}": float(v) for k, v in metrics.compute().items()})
        predictions.append(_prediction_frame(split, "last", windows.labels, proba, windows.groups))
        values[f"{split}@last/chance_balanced_accuracy"] = 1 / len(labels)
        if windows.groups is not None:
            values.update({f"{split}@last/{k}": v for k, v in
                           group_metrics(proba, windows.labels, windows.groups, seed=job.seed).items()})
    model_dir = job_dir / "model"
    save_model_dir(model_dir, model, job.tokenizer)
    write_table(pl.concat(predictions), job_dir / "predictions.parquet")
    _finish(run, values, job_dir, job_dir, context, model_dir, history=False)
    return model_dir


def _evaluate_copy(job: TrainingJob, job_dir: Path, run: TrackedRun | None, context: dict) -> Path:
    """Copy-the-parent: nothing to fit; each evaluation split is scored like a generating model's."""
    if run:
        run.log_params({"spec": job.spec, "seed": job.seed, **context})
    values: dict[str, float] = {}
    predictions = []
    for split in job.eval_splits:
        windows = WindowDataset(job.shards, split, with_labels=True, label_column="target_sequence")
        candidates = job.backbone.generate(windows.sequences)
        values.update({f"{split}@last/{k}": v for k, v in
                       generation_metrics(candidates, list(windows.labels), job.spec["head"]["top_k"]).items()})
        predictions.append(_generation_frame(split, "last", windows.labels, candidates))
    model_dir = job_dir / "model"
    save_model_dir(model_dir, job.backbone, job.tokenizer)
    write_table(pl.concat(predictions), job_dir / "predictions.parquet")
    _finish(run, values, job_dir, job_dir, context, model_dir, history=False)
    return model_dir
