"""`localization`: which token holds the base at `anchor_offset` (a score per token, softmax over the real
tokens; genolm.models.heads.TokenLocalizationHead); the best checkpoint has the highest validation accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from genolm.errors import GenolmInputError
from genolm.heads.backbone import downsamples
from genolm.heads.base import Head
from genolm.heads.registry import register
from genolm.models.heads import TokenLocalizationHead
from genolm.objectives.base import encode


def site_token_index(tokenizer: Any, sequence: str, offset: int) -> int:
    """Index, in the encoded sequence, of the token that holds base `offset`: the last ordinary token of the
    encoded prefix ending at that base (exact for one-token-per-base and k-mer tokenizers)."""
    ids = tokenizer.encode(sequence[: offset + 1], add_special_tokens=True)
    ordinary = np.flatnonzero(~np.isin(ids, np.asarray(tokenizer.special_ids)))
    if not len(ordinary):
        raise ValueError(f"no token holds base {offset}")
    return int(ordinary[-1])


@register
class Localization(Head):
    name = "localization"
    label_column = "anchor_offset"
    monitor = "val/accuracy"
    history_metrics = ("val/accuracy",)

    def check_backbone(self, backbone: Any) -> None:
        if downsamples(backbone):
            raise GenolmInputError("spec", f"{backbone.name} downsamples its input, so it cannot localize a token")

    def build(self, backbone: Any) -> nn.Module:
        return TokenLocalizationHead(backbone.d_model, dropout=self.spec["dropout"])

    def collate(self, tokenizer: Any, sequences: list[str], targets: list, max_length: int) -> dict[str, Tensor]:
        ids, mask = encode(tokenizer, sequences, max_length)
        tokens = [site_token_index(tokenizer, s, t) for s, t in zip(sequences, targets)]
        if max(tokens) >= max_length:
            raise GenolmInputError("shards", f"a site lies beyond the first {max_length} tokens")
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor(tokens, dtype=torch.long)}

    def metrics(self, context_length: int) -> Any:
        from genolm.metrics import localization_metrics

        return localization_metrics(context_length, self.spec["top_k"])
