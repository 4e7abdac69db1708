"""`split_concat`: classification of an input cut in two halves, each encoded separately (up to context_length
tokens each); the two pooled vectors, side by side, go through dense + ReLU (genolm.models.heads.SplitConcatHead).
Everything else (targets, metrics, checkpoint choice, evaluation) is the classification head's."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from genolm.heads.base import label_names
from genolm.heads.classification import Classification
from genolm.heads.registry import register
from genolm.models.heads import SplitConcatHead
from genolm.objectives.base import encode


@register
class SplitConcat(Classification):
    name = "split_concat"
    segments = SplitConcatHead.segments

    def build(self, backbone: Any) -> nn.Module:
        spec = self.spec
        return SplitConcatHead(backbone.d_model, len(label_names(spec)), pooling=spec["pooling"],
                               hidden_size=spec["hidden_size"] or 512, dropout=spec["dropout"])

    def encode(self, tokenizer: Any, sequences: list[str], max_length: int) -> tuple[Tensor, Tensor]:
        # [B, 2, T]: the halves of each sequence next to each other (TaskModel runs them as [B * 2, T]).
        halves = [part for s in sequences for part in (s[: len(s) // 2], s[len(s) // 2:])]
        ids, mask = encode(tokenizer, halves, max_length)
        return ids.view(len(sequences), 2, -1), mask.view(len(sequences), 2, -1)
