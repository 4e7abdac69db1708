"""Sentence-order prediction (ALBERT, Lan et al. 2020) together with masked language modelling.

Each sequence is cut at a uniformly drawn point into two segments A and B, laid out as
[CLS] A [SEP] B [SEP] (segment ids 0 then 1) or, with probability `swap_prob`, as [CLS] B [SEP] A [SEP];
a two-way classifier on [CLS] (dense + tanh + linear, ALBERT's pooler and SOP head) predicts whether the order was
swapped (label 1). The masked-LM loss runs on the same inputs and the two losses are added, as in ALBERT.

`layout: thesis` prepares the pair as the small-transformer study's Algorithm 2 does instead: the body of n tokens is
eroded on both ends before the cut is drawn, a = random(1, n/10), c = random(9n/10, n-1),
b = random(a + n/10, c - n/10), and the pair is body[a:b], body[b:c] (`thesis_cut`; integer bounds inclusive, n/10
rounded down and at least 1).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genolm.models.heads import pool_hidden_states
from genolm.objectives.base import ObjectiveResult, encode, token_cross_entropy
from genolm.objectives.masking import MaskedLM


LAYOUTS = ("uniform", "thesis")


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """A uniform integer in [low, high], both ends included."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))


def thesis_cut(n: int, generator: torch.Generator | None = None) -> tuple[int, int, int]:
    """(a, b, c) of Algorithm 2 for a body of n tokens: the pair is body[a:b], body[b:c]; both pieces keep at
    least n/10 tokens (at least 1), and what lies before a and from c on is eroded."""
    if n < 4:
        raise ValueError(f"the thesis' sentence-order layout needs at least 4 tokens per sequence, got {n}")
    gap = max(1, n // 10)
    a = _randint(1, gap, generator)
    c = _randint(min(n - 1, -(-9 * n // 10)), n - 1, generator)
    if c - gap < a + gap:
        raise ValueError(f"a body of {n} tokens is too short for the thesis' sentence-order layout")
    b = _randint(a + gap, c - gap, generator)
    return a, b, c


def order_pairs(bodies: Tensor, lengths: Tensor, *, cls_id: int, sep_id: int, pad_id: int, swap_prob: float,
                generator: torch.Generator | None = None, layout: str = "uniform") -> dict[str, Tensor]:
    """Lay out each body (a row of `bodies`, `lengths[i]` real tokens, at least 2) as a segment pair: cut at a
    uniform point (layout uniform) or eroded and cut as Algorithm 2 (layout thesis, at least 4 tokens)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    n_rows = len(lengths)
    width = int(lengths.max()) + 3 if n_rows else 3
    ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    segments = torch.zeros((n_rows, width), dtype=torch.long)
    attention = torch.zeros((n_rows, width), dtype=torch.long)
    swapped = torch.rand(n_rows, generator=generator) < swap_prob
    for row in range(n_rows):
        n = int(lengths[row])
        if n < 2:
            raise ValueError(f"sentence-order prediction needs at least 2 tokens per sequence, got {n}")
        if layout == "thesis":
            start, cut, end = thesis_cut(n, generator)
        else:
            start, cut, end = 0, int(torch.randint(1, n, (1,), generator=generator)), n
        first, second = bodies[row, start:cut], bodies[row, cut:end]
        if swapped[row]:
            first, second = second, first
        laid = torch.cat([torch.tensor([cls_id]), first, torch.tensor([sep_id]), second, torch.tensor([sep_id])])
        used = len(laid)
        ids[row, :used] = laid
        segments[row, len(first) + 2 : used] = 1
        attention[row, :used] = 1
    return {"input_ids": ids, "token_type_ids": segments, "attention_mask": attention, "order_labels": swapped.long()}


class SentenceOrderPrediction(MaskedLM):
    name = "sop"
    requires = ("masked",)

    def __init__(self, tokenizer: Any, *, d_model: int, swap_prob: float = 0.5, centre_rate: float = 0.15,
                 width: int = 1, layout: str = "uniform", **kwargs: Any):
        super().__init__(tokenizer, centre_rate=centre_rate, width=width, **kwargs)
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout = layout
        if tokenizer.cls_id is None or tokenizer.sep_id is None:
            raise ValueError(f"sentence-order prediction needs [CLS] and [SEP]; {type(tokenizer).__name__} lacks one")
        self.swap_prob = swap_prob
        self.order_head = nn.Sequential(nn.Linear(d_model, d_model), nn.Tanh(), nn.Linear(d_model, 2))

    def collate(self, sequences: list[str], max_length: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        bodies, body_mask = encode(self.tokenizer, sequences, max_length - 3, add_special_tokens=False)
        tok = self.tokenizer
        batch = order_pairs(bodies, body_mask.sum(dim=1), cls_id=tok.cls_id, sep_id=tok.sep_id, pad_id=tok.pad_id,
                            swap_prob=self.swap_prob, generator=generator, layout=self.layout)
        batch["input_ids"], batch["labels"] = self.mask(batch["input_ids"], batch["attention_mask"], generator)
        return batch

    def forward(self, model, batch: dict[str, Tensor]) -> ObjectiveResult:
        out = model(batch["input_ids"], batch["attention_mask"], token_type_ids=batch["token_type_ids"])
        mlm_loss = token_cross_entropy(out.logits, batch["labels"])
        order_logits = self.order_head(pool_hidden_states(out.hidden, out.mask, "cls")).float()
        order_loss = F.cross_entropy(order_logits, batch["order_labels"])
        order_accuracy = (order_logits.argmax(-1) == batch["order_labels"]).float().mean()
        return ObjectiveResult(loss=mlm_loss + order_loss, token_logits=out.logits, token_labels=batch["labels"],
                               extra={"mlm_loss": mlm_loss.detach(), "sop_loss": order_loss.detach(),
                                      "sop_accuracy": order_accuracy})
