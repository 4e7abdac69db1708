"""Evaluation after fitting: every evaluation split of the final weights and of the checkpoint chosen on
validation (one pass where they are the same weights: `as_best`), the metric collection through Lightning, then
what the head adds (genolm.heads.base.Head.evaluate_split: predictions, per-unit metrics, generation by beam
search). Keys are "<split>@<checkpoint>/<metric>" (genolm.results.metric_rows)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
import numpy as np
import polars as pl
import torch

from genolm.heads.base import SplitEvaluation
from genolm.models.heads import TaskModel
from genolm.training.collation import Collator
from genolm.training.data import WindowDataModule, WindowDataset

if TYPE_CHECKING:
    from genolm.training.trainer import TrainingJob


def evaluate(trainer: L.Trainer, module: L.LightningModule, data: WindowDataModule, job: TrainingJob,
             best: Path | None, predictions: list[pl.DataFrame]) -> dict[str, float]:
    """Metrics on every evaluation split of the final weights (best None) or of the checkpoint chosen on
    validation, and the head's own results on them; the head's prediction frames are appended to `predictions`."""
    checkpoint = "last" if best is None else "best"
    head = job.head
    keeps = head is not None and head.keeps_probabilities
    values = {}
    for split in job.eval_splits:
        evaluate_split = trainer.validate if split == "val" else trainer.test
        # One process sees every example in order: keep the loop's probabilities instead of a second pass.
        if keeps:
            module.keep_predictions, module.predictions = trainer.world_size == 1, []
        # ckpt_path None with a module passed: the module's current (final) weights.
        result = evaluate_split(module, datamodule=data, ckpt_path=None if best is None else str(best), verbose=False)[0]
        for name, value in result.items():
            if name.startswith(f"{split}/"):
                values[f"{split}@{checkpoint}/{name.split('/', 1)[1]}"] = float(value)
        if getattr(module, "skipped_in_last_pass", {}).get(split):  # batches with no maskable token (PretrainModule)
            values[f"{split}@{checkpoint}/skipped_batches"] = float(module.skipped_in_last_pass[split])
        if head is not None and trainer.is_global_zero:
            windows = data.datasets[split]

            def probabilities(windows: WindowDataset = windows) -> np.ndarray:
                if module.keep_predictions:
                    return torch.cat(module.predictions).numpy()
                # several processes each saw a part: score the split again on this one
                return predict_proba(module.task, data.collate, windows, job.spec["training"]["batch_size"])

            extra, frame = head.evaluate_split(SplitEvaluation(
                split, checkpoint, windows.sequences, windows.labels, seed=job.seed,
                max_length=job.spec["context_length"], batch_size=job.spec["training"]["batch_size"],
                backbone=job.backbone, tokenizer=job.tokenizer, groups=lambda split=split: split_groups(job, split),
                probabilities=probabilities))
            if frame is not None:
                predictions.append(frame)
            values.update({f"{split}@{checkpoint}/{k}": v for k, v in extra.items()})
        if keeps:
            module.keep_predictions, module.predictions = False, []
    return values


def as_best(values: dict[str, float], predictions: list[pl.DataFrame]) -> tuple[dict[str, float], list[pl.DataFrame]]:
    """The final weights' results (`evaluate` with best None) relabelled as the best checkpoint's: for a best
    checkpoint saved at the final step, whose weights are the final weights, evaluating it again would only repeat
    every split's pass (and a generation head's beam search)."""
    best_values = {key.replace("@last/", "@best/", 1): value for key, value in values.items() if "@last/" in key}
    best_predictions = [frame.with_columns(checkpoint=pl.lit("best")) for frame in predictions]
    return best_values, best_predictions


def split_groups(job: TrainingJob, split: str) -> np.ndarray | None:
    """Each example's unit (the spec's group_column) in a split, None without a group column."""
    if job.spec["group_column"] is None:
        return None
    return WindowDataset(job.shards, split, with_labels=False, group_column=job.spec["group_column"]).groups


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
