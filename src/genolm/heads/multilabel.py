"""`multilabel`: one sigmoid per label name, targets from the `targets` vector column; AUROC per label, per label
group and macro (genolm.metrics.multilabel_metrics); the best checkpoint has the highest validation macro AUROC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import torch
from torch import Tensor, nn

from genolm.errors import GenolmInputError
from genolm.heads.base import Head, label_names, read_targets
from genolm.heads.registry import register
from genolm.models.heads import MultiLabelHead
from genolm.objectives.base import encode


@register
class MultiLabel(Head):
    name = "multilabel"
    label_column = "targets"
    monitor = "val/auroc_macro"
    multilabel = True

    def build(self, backbone: Any) -> nn.Module:
        spec = self.spec
        names = label_names(spec)
        # One weight for every label's positives (the thesis' 8, after BigBird); 1 = plain binary cross-entropy.
        return MultiLabelHead(backbone.d_model, len(names), pooling=spec["pooling"], hidden_size=spec["hidden_size"],
                              dropout=spec["dropout"], pos_weight=[spec["pos_weight"]] * len(names))

    def collate(self, tokenizer: Any, sequences: list[str], targets: list, max_length: int) -> dict[str, Tensor]:
        ids, mask = encode(tokenizer, sequences, max_length)
        return {"input_ids": ids, "attention_mask": mask,
                "labels": torch.from_numpy(np.stack(targets).astype(np.float32))}

    def metrics(self, context_length: int) -> Any:
        from genolm.metrics import multilabel_metrics

        return multilabel_metrics(self.spec["label_names"], self.spec.get("label_groups"))

    def check_shards(self, shards: Path, manifest: dict, splits: tuple[str, ...]) -> None:
        names = self.spec.get("label_names") or []
        if not names:
            return  # refused when the head is built
        for path, split, targets in read_targets(shards, manifest, splits, self.label_column):
            lengths = pc.list_value_length(targets).to_numpy()
            wrong = np.flatnonzero(lengths != len(names))
            if len(wrong):
                raise GenolmInputError(path, f"split {split!r}: a targets vector of {lengths[wrong[0]]} values, "
                                             f"the head has {len(names)} label_names", record=f"row {wrong[0]}")
