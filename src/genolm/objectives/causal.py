"""Next-token prediction: the logits at position t are scored against token t+1 (real tokens only).

For a bidirectional LM (the ELMo-like biLSTM) the backward direction is scored too, logits at t against token
t-1, and the loss is the mean of the two directions' losses.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genolm.objectives.base import Objective, ObjectiveResult, encode, token_cross_entropy


def shifted_labels(ids: Tensor, attention: Tensor, step: int) -> Tensor:
    """labels[t] = ids[t + step] where both t and t + step are real tokens, else -100."""
    labels = torch.full_like(ids, -100)
    if step > 0:
        valid = attention[:, :-step].bool() & attention[:, step:].bool()
        labels[:, :-step] = torch.where(valid, ids[:, step:], -100)
    else:
        valid = attention[:, -step:].bool() & attention[:, :step].bool()
        labels[:, -step:] = torch.where(valid, ids[:, :step], -100)
    return labels


class NextToken(Objective):
    name = "next_token"
    requires = ("causal", "bilm")

    def collate(self, sequences: list[str], max_length: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        ids, attention = encode(self.tokenizer, sequences, max_length)
        return {"input_ids": ids, "attention_mask": attention, "labels": shifted_labels(ids, attention, 1)}

    def forward(self, model, batch: dict[str, Tensor]) -> ObjectiveResult:
        out = model(batch["input_ids"], batch["attention_mask"])
        loss = token_cross_entropy(out.logits, batch["labels"])
        extra = {}
        if out.backward_logits is not None:
            backward = token_cross_entropy(out.backward_logits, shifted_labels(batch["input_ids"], batch["attention_mask"], -1))
            extra = {"forward_loss": loss.detach(), "backward_loss": backward.detach()}
            loss = (loss + backward) / 2
        return ObjectiveResult(loss=loss, token_logits=out.logits, token_labels=batch["labels"], extra=extra)
