"""Task heads on top of a backbone that returns hidden states [B, L, d_model].

The heads work on any model (genolm.models.base.ModelOutput), HyenaDNA included, through `TaskModel`:

    ClassificationHead   pooled states ([CLS], mean or last real token) -> optional dense+tanh+dropout -> classes
    MultiLabelHead       the same with one sigmoid output per label and positive-class weighting in the loss
    TokenLocalizationHead  one score per token; softmax over the real tokens says which token holds the site
    SplitConcatHead      an input longer than the model, cut in two halves encoded separately; the two pooled
                         vectors are concatenated through dense+ReLU (the collator does the cutting)
    Seq2SeqHead          sequence-to-sequence fine-tuning of an encoder-decoder and beam-search generation
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pool_hidden_states(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool [B, L, D] hidden states over the real (non-padding) tokens into [B, D].

    `last` takes the last real token: the only position that has seen the whole sequence in a causal model such
    as HyenaDNA. `mean` averages the real tokens (HyenaDNA's own fine-tuning default). `cls` takes the first real
    token, the [CLS] of BERT-style encoders.
    """
    mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
    if pooling == "cls":
        # The first real token ([CLS] for the encoders).
        positions = torch.arange(hidden.shape[1], device=hidden.device).expand_as(attention_mask)
        first = torch.where(attention_mask.bool(), positions, hidden.shape[1]).min(dim=1).values.clamp(max=hidden.shape[1] - 1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), first]
    if pooling == "mean":
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    if pooling == "last":
        # Works for left and right padding: the index of the last 1 in each row.
        positions = torch.arange(hidden.shape[1], device=hidden.device).expand_as(attention_mask)
        last = torch.where(attention_mask.bool(), positions, -1).max(dim=1).values.clamp(min=0)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {pooling!r} (expected 'cls', 'mean' or 'last')")


POOLINGS = ("cls", "mean", "last")


class ClassificationHead(nn.Module):
    """Pooling, then either a linear layer or the deeper head (dense `hidden_size` + tanh + dropout, then linear)."""

    segments = 1

    def __init__(self, d_model: int, num_labels: int, pooling: str = "cls", hidden_size: int | None = None,
                 dropout: float = 0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r} (expected one of {', '.join(POOLINGS)})")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(d_model, hidden_size) if hidden_size else None
        self.out = nn.Linear(hidden_size or d_model, num_labels)

    def classify(self, pooled: Tensor) -> Tensor:
        x = self.dropout(pooled)
        if self.dense is not None:
            x = self.dropout(torch.tanh(self.dense(x)))
        return self.out(x)

    def forward(self, output: Any) -> Tensor:
        return self.classify(pool_hidden_states(output.hidden, output.mask, self.pooling))

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(logits.float(), labels)


class MultiLabelHead(ClassificationHead):
    """Independent yes/no per label. `pos_weight[c]` multiplies the loss of label c's positives: set it to
    negatives/positives of c in the training set so rare labels are not drowned (as DeepSEA-style tasks need)."""

    def __init__(self, d_model: int, num_labels: int, pooling: str = "cls", hidden_size: int | None = None,
                 dropout: float = 0.1, pos_weight: list[float] | Tensor | None = None):
        super().__init__(d_model, num_labels, pooling, hidden_size, dropout)
        weight = torch.ones(num_labels) if pos_weight is None else torch.as_tensor(pos_weight, dtype=torch.float32)
        if weight.shape != (num_labels,):
            raise ValueError(f"pos_weight needs {num_labels} values, got shape {tuple(weight.shape)}")
        self.register_buffer("pos_weight", weight)

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float(), pos_weight=self.pos_weight)


class TokenLocalizationHead(nn.Module):
    """Which token holds the site: a score per token, padding excluded; the target is the token's index."""

    segments = 1

    def __init__(self, d_model: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(d_model, 1)

    def forward(self, output: Any) -> Tensor:
        scores = self.score(self.dropout(output.hidden)).squeeze(-1).float()
        return scores.masked_fill(output.mask == 0, torch.finfo(scores.dtype).min)

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(logits, labels)


class SplitConcatHead(nn.Module):
    """Two halves of an input encoded separately; their pooled vectors, side by side, go through dense + ReLU.

    The model sees inputs of shape [B * 2, T] (the halves of each sequence next to each other, as the collator
    lays them out) and this head folds them back to [B, 2 * d_model].
    """

    segments = 2

    def __init__(self, d_model: int, num_labels: int, pooling: str = "cls", hidden_size: int = 512, dropout: float = 0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r} (expected one of {', '.join(POOLINGS)})")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(self.segments * d_model, hidden_size)
        self.out = nn.Linear(hidden_size, num_labels)

    def forward(self, output: Any) -> Tensor:
        pooled = pool_hidden_states(output.hidden, output.mask, self.pooling)
        joined = pooled.reshape(-1, self.segments * pooled.shape[-1])
        return self.out(self.dropout(F.relu(self.dense(self.dropout(joined)))))

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(logits.float(), labels)


class TaskModel(nn.Module):
    """A zoo backbone and one of the heads above; `forward` returns the head's logits.

    Inputs of shape [B, S, T] (S segments per example, for SplitConcatHead) are run as [B * S, T].
    """

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        if input_ids.dim() == 3:
            input_ids, attention_mask = input_ids.flatten(0, 1), attention_mask.flatten(0, 1)
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.head(self.backbone(input_ids, attention_mask, with_logits=False, **extra))

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return self.head.loss(logits, labels)


class Seq2SeqHead(nn.Module):
    """Sequence-to-sequence fine-tuning of an encoder-decoder zoo model (ENBED): teacher-forced cross-entropy on
    the target ids, and generation by beam search (Hugging Face `generate`)."""

    segments = 1

    def __init__(self, num_beams: int = 4, max_new_tokens: int = 128):
        super().__init__()
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens

    def loss_from(self, backbone: nn.Module, input_ids: Tensor, attention_mask: Tensor, labels: Tensor) -> Tensor:
        """`labels` [B, T'] target ids ending in the end-of-sequence id, -100 where padded."""
        return backbone(input_ids, attention_mask, labels=labels).loss

    def generate(self, backbone: nn.Module, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """[B, T''] generated ids, without the decoder start token."""
        ids = backbone.generate(input_ids, attention_mask, num_beams=self.num_beams, max_new_tokens=self.max_new_tokens,
                                do_sample=False)
        return ids[:, 1:]
