"""What a head is: a fine-tuning task on top of a backbone, owning everything the trainer asks of a task.

A head (one subclass per file of this package, registered with `genolm.heads.register`) is built from its spec
(`head:` of a train spec) and says

    label_column          which shard column holds its targets
    build(backbone)       its layer (an nn.Module on the backbone's hidden states; None when the backbone's own
                          language-model head does the work)
    collate(...)          (sequence, target) pairs -> a batch
    metrics(spec)         the torchmetrics collection scored on validation and test (genolm.metrics)
    monitor, monitor_mode the validation metric the best checkpoint is chosen on, and its direction
    history_metrics       the validation metrics of its training curve (history.tsv)
    multilabel            whether its outputs are independent sigmoids (else a softmax over classes or tokens)
    segments              pieces the model runs on per example (split_concat: the two halves)
    teacher_forced        whether the backbone is trained as a sequence-to-sequence model (no separate layer)
    check_backbone(...)   what it needs from a backbone (genolm.heads.backbone)
    check_shards(...), check_training_labels(...)   its targets fit it, before anything is trained
    evaluate_split(...)   what it reports beyond the metric collection (predictions, per-unit metrics, generation)

Nothing here imports Lightning: a saved task model is loaded and run without the training stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from torch import Tensor, nn

from genolm.errors import GenolmInputError


@dataclass
class SplitEvaluation:
    """One evaluation split of a trained model, as a head's `evaluate_split` sees it."""

    split: str
    checkpoint: str  # "best" or "last"
    sequences: list[str]
    targets: np.ndarray
    seed: int
    max_length: int
    batch_size: int
    backbone: Any
    tokenizer: Any
    groups: Callable[[], np.ndarray | None]  # each example's unit (the spec's group_column), None without one
    probabilities: Callable[[], np.ndarray]  # [N, C] of every example in order (heads with keeps_probabilities)


class Head:
    name: ClassVar[str]
    label_column: ClassVar[str] = "label"
    monitor: ClassVar[str]
    monitor_mode: ClassVar[str] = "max"
    history_metrics: ClassVar[tuple[str, ...]] = ()
    multilabel: ClassVar[bool] = False
    teacher_forced: ClassVar[bool] = False
    # The evaluation loop keeps every example's probabilities (in order) for evaluate_split.
    keeps_probabilities: ClassVar[bool] = False
    # Whether training labels may be subsampled (label_fraction < 1, genolm.datasets.labels).
    scarce_labels: ClassVar[bool] = True
    # Pieces the model runs on per example (its layer's `segments`; genolm.compute counts them).
    segments: ClassVar[int] = 1

    def __init__(self, spec: dict):
        self.spec = spec

    # ---- the backbone ----
    def check_backbone(self, backbone: Any) -> None:
        """GenolmInputError when the backbone cannot serve this head."""

    def build(self, backbone: Any) -> nn.Module | None:
        raise NotImplementedError

    def unfreeze_groups(self, backbone: Any) -> list[nn.Module] | None:
        """The layer groups gradual unfreezing opens, bottom to top (None: all of the backbone's)."""
        from genolm.heads.backbone import encoder_layer_groups

        return encoder_layer_groups(backbone)

    # ---- batches ----
    def collate(self, tokenizer: Any, sequences: list[str], targets: list, max_length: int) -> dict[str, Tensor]:
        raise NotImplementedError

    def metrics(self, context_length: int) -> Any:
        """A torchmetrics.MetricCollection fed the head's probabilities and the batch's labels."""
        raise NotImplementedError

    # ---- checks before training ----
    def check_shards(self, shards: Path, manifest: dict, splits: tuple[str, ...]) -> None:
        """The targets of every split the job uses fit the head (read from the target column alone)."""

    def check_training_labels(self, shards: Path, labels: np.ndarray, description: str) -> None:
        """The (subsampled) training labels can train the head; `description` says how many examples there are."""

    # ---- evaluation ----
    def evaluate_split(self, evaluation: SplitEvaluation) -> tuple[dict[str, float], Any]:
        """Values beyond the metric collection (keys without the split prefix) and a predictions frame (or None)."""
        return {}, None


def read_targets(shards: Path, manifest: dict, splits: tuple[str, ...], column: str):
    """(path, split, targets) of every shard file of `splits`: the target column alone, refusing a missing target."""
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
            yield path, split, targets


def label_names(spec: dict) -> list[str]:
    names = spec.get("label_names")
    if not names:
        raise GenolmInputError("spec", f"key head: a {spec['name']} head needs label_names")
    return names
