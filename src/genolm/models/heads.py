"""Task heads on top of a backbone that returns hidden states [B, L, d_model]."""

from __future__ import annotations

import torch
from torch import nn


def pool_hidden_states(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool [B, L, D] hidden states over the real (non-padding) tokens into [B, D].

    `last` takes the last real token: the only position that has seen the whole sequence in a causal model such
    as HyenaDNA. `mean` averages the real tokens (HyenaDNA's own fine-tuning default).
    """
    mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
    if pooling == "mean":
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    if pooling == "last":
        # Works for left and right padding: the index of the last 1 in each row.
        positions = torch.arange(hidden.shape[1], device=hidden.device).expand_as(attention_mask)
        last = torch.where(attention_mask.bool(), positions, -1).max(dim=1).values.clamp(min=0)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {pooling!r} (expected 'mean' or 'last')")


class SequenceClassifier(nn.Module):
    """Backbone + pooling + a linear layer: the HyenaDNA fine-tuning head."""

    def __init__(self, backbone: nn.Module, d_model: int, num_classes: int, pooling: str = "mean", dropout: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_classes)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone.hidden_states(input_ids)
        return pool_hidden_states(hidden.float(), attention_mask, self.pooling)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.embed(input_ids, attention_mask)))
