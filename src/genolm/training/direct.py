"""Models fitted or scored in one pass, without Lightning: the k-mer spectrum baseline (`kmer-logreg`, fitted
with scikit-learn) and copy-the-parent (nothing to fit). Each evaluation split is scored by the head as a trained
model's would be, and the job writes the same metrics, predictions and model directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import torch

from genolm.heads.backbone import copies_its_input
from genolm.heads.base import SplitEvaluation
from genolm.training.data import WindowDataset

if TYPE_CHECKING:
    from genolm.training.trainer import TrainingJob


def fit_and_evaluate(job: TrainingJob) -> tuple[dict[str, float], list[pl.DataFrame]]:
    """Fit the model on the train split (unless it has nothing to fit), then score every evaluation split:
    (values keyed "<split>@last/<metric>", the head's prediction frames)."""
    spec, model, head = job.spec, job.backbone, job.head
    if not copies_its_input(model):
        model.fit(job.train_windows.sequences, job.train_windows.labels)
    values: dict[str, float] = {}
    predictions = []
    for split in job.eval_splits:
        windows = WindowDataset(job.shards, split, with_labels=True, label_column=head.label_column,
                                group_column=spec["group_column"])
        probabilities = None
        if head.keeps_probabilities:
            probabilities = _probabilities(model, windows, len(spec["head"]["label_names"]))
            metrics = head.metrics(spec["context_length"])
            metrics.update(torch.from_numpy(probabilities), torch.from_numpy(windows.labels))
            values.update({f"{split}@last/{k}": float(v) for k, v in metrics.compute().items()})
        extra, frame = head.evaluate_split(SplitEvaluation(
            split, "last", windows.sequences, windows.labels, seed=job.seed, max_length=spec["context_length"],
            batch_size=spec["training"]["batch_size"], backbone=model, tokenizer=job.tokenizer,
            groups=lambda windows=windows: windows.groups, probabilities=lambda p=probabilities: p))
        values.update({f"{split}@last/{k}": v for k, v in extra.items()})
        if frame is not None:
            predictions.append(frame)
    return values, predictions


def _probabilities(model, windows: WindowDataset, classes: int) -> np.ndarray:
    proba = np.zeros((len(windows), classes), dtype=np.float32)
    # Classes absent from the training split get probability 0.
    proba[:, model.estimator.classes_] = model.predict_proba(windows.sequences)
    return proba
