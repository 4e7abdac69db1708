"""`classification`: a class per example (the `label` column) from the pooled states; the best checkpoint is the
one with the highest validation balanced accuracy. Evaluation adds every example's probabilities to
predictions.parquet and, with a group column, per-unit metrics with bootstrap intervals (genolm.metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn

from genolm.errors import GenolmInputError
from genolm.heads.base import Head, SplitEvaluation, label_names, read_targets
from genolm.heads.registry import register
from genolm.models.heads import ClassificationHead
from genolm.objectives.base import encode


@register
class Classification(Head):
    name = "classification"
    monitor = "val/balanced_accuracy"
    history_metrics = ("val/accuracy", "val/balanced_accuracy")
    keeps_probabilities = True

    def build(self, backbone: Any) -> nn.Module:
        spec = self.spec
        return ClassificationHead(backbone.d_model, len(label_names(spec)), pooling=spec["pooling"],
                                  hidden_size=spec["hidden_size"], dropout=spec["dropout"])

    def encode(self, tokenizer: Any, sequences: list[str], max_length: int) -> tuple[Tensor, Tensor]:
        return encode(tokenizer, sequences, max_length)

    def collate(self, tokenizer: Any, sequences: list[str], targets: list, max_length: int) -> dict[str, Tensor]:
        ids, mask = self.encode(tokenizer, sequences, max_length)
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor(targets, dtype=torch.long)}

    def metrics(self, context_length: int) -> Any:
        from genolm.metrics import classification_metrics

        names = self.spec["label_names"]
        return classification_metrics(len(names), self.spec["top_k"], names)

    def check_shards(self, shards: Path, manifest: dict, splits: tuple[str, ...]) -> None:
        names = self.spec.get("label_names") or []
        if not names:
            return  # refused when the head is built
        for path, split, targets in read_targets(shards, manifest, splits, self.label_column):
            labels = targets.to_numpy()
            wrong = np.flatnonzero((labels < 0) | (labels >= len(names)))
            if len(wrong):
                raise GenolmInputError(path, f"split {split!r}: label {labels[wrong[0]]} is not a class of the head, "
                                             f"whose {len(names)} label_names ({', '.join(map(str, names))}) are "
                                             f"labels 0 to {len(names) - 1}: fix the labels or the head's label_names",
                                       record=f"row {wrong[0]}")

    def check_training_labels(self, shards: Path, labels: np.ndarray, description: str) -> None:
        classes = np.unique(labels)
        if len(classes) < 2:
            names = self.spec["label_names"]
            raise GenolmInputError(shards, f"the train split's {description} are all of class {names[classes[0]]!r}: "
                                           "a classifier needs examples of at least two classes")

    def evaluate_split(self, evaluation: SplitEvaluation) -> tuple[dict[str, float], pl.DataFrame]:
        from genolm.metrics import group_metrics

        proba = evaluation.probabilities()
        groups = evaluation.groups()
        frame = prediction_frame(evaluation.split, evaluation.checkpoint, evaluation.targets, proba, groups)
        values = {"chance_balanced_accuracy": 1 / proba.shape[1]}
        if groups is not None:
            values.update(group_metrics(proba, evaluation.targets, groups, seed=evaluation.seed))
        return values, frame


def prediction_frame(split: str, checkpoint: str, labels: np.ndarray, proba: np.ndarray,
                     groups: np.ndarray | None) -> pl.DataFrame:
    """predictions.parquet rows of a classifier: each example's class probabilities with its unit."""
    return pl.DataFrame({
        "split": [split] * len(labels),
        "checkpoint": [checkpoint] * len(labels),
        "index": np.arange(len(labels)),
        "group": None if groups is None else [str(g) for g in groups],
        "label": labels,
        "probabilities": proba.astype(np.float32),
    }, schema_overrides={"group": pl.Utf8})
