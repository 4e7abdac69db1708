"""Masked language modelling and its k-mer variants.

All variants sample "centres" among the maskable tokens (real, non-special) with probability `centre_rate` and
mask `width` consecutive tokens around each centre, offsets -(width-1)//2 .. width//2 (clipped to maskable
tokens); each masked token is then replaced by [MASK] (80%), by a random ordinary token (10%) or kept (10%),
independently per token, and only masked tokens are scored.

    mlm          BERT: width 1, rate 15%
    kmer_mlm     DNABERT, overlapping k-mers: width k, rate 15/k % (about 15% of tokens masked: overlapping
                 k-mers share bases, so a lone masked k-mer could be read off its neighbours); the `k+2` variant
                 masks k+2 tokens at rate 15/(k+2) %, so that even the bases at the span's edges are hidden
    strided_mlm  k-mers with stride 3: 3 consecutive tokens at 5% of the positions

A row that draws no centre gets one at random, so that every sequence contributes to the loss.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genolm.objectives.base import Objective, ObjectiveResult, encode, regular_ids, special_table, token_cross_entropy


def sample_mask(maskable: Tensor, *, centre_rate: float, width: int, generator: torch.Generator | None = None) -> Tensor:
    """Bool [B, L]: the tokens to mask."""
    if not 0 < centre_rate <= 1 or width < 1:
        raise ValueError(f"need 0 < centre_rate <= 1 and width >= 1, got {centre_rate}, {width}")
    draws = torch.rand(maskable.shape, generator=generator)
    centres = (draws < centre_rate) & maskable
    # Rows without a centre take their most likely maskable position (the lowest draw) as one.
    empty = ~centres.any(dim=1) & maskable.any(dim=1)
    if bool(empty.any()):
        forced = torch.where(maskable, draws, 2.0).argmin(dim=1)
        centres[empty.nonzero(as_tuple=True)[0], forced[empty]] = True
    left = (width - 1) // 2
    right = width - 1 - left
    # A max-pool of the centres over each token's window marks every token within reach of a centre.
    spread = F.max_pool1d(F.pad(centres.float().unsqueeze(1), (right, left)), kernel_size=width, stride=1).squeeze(1)
    return spread.bool() & maskable


def corrupt(input_ids: Tensor, chosen: Tensor, *, mask_id: int, replacements: Tensor, mask_prob: float = 0.8,
            random_prob: float = 0.1, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """(corrupted inputs, labels): chosen tokens become [MASK] / a random token / themselves; labels -100 elsewhere."""
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    draws = torch.rand(input_ids.shape, generator=generator)
    to_mask = chosen & (draws < mask_prob)
    to_random = chosen & (draws >= mask_prob) & (draws < mask_prob + random_prob)
    corrupted = input_ids.masked_fill(to_mask, mask_id)
    random_tokens = replacements[torch.randint(len(replacements), input_ids.shape, generator=generator)]
    return torch.where(to_random, random_tokens, corrupted), labels


class MaskedLM(Objective):
    name = "mlm"
    requires = ("masked",)

    def __init__(self, tokenizer: Any, *, centre_rate: float = 0.15, width: int = 1, mask_prob: float = 0.8,
                 random_prob: float = 0.1):
        super().__init__(tokenizer)
        if tokenizer.mask_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no [MASK] token")
        self.centre_rate, self.width = centre_rate, width
        self.mask_prob, self.random_prob = mask_prob, random_prob
        self.replacements = regular_ids(tokenizer)
        self.special = special_table(tokenizer)

    def mask(self, ids: Tensor, attention: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        maskable = attention.bool() & ~self.special[ids]
        chosen = sample_mask(maskable, centre_rate=self.centre_rate, width=self.width, generator=generator)
        return corrupt(ids, chosen, mask_id=self.tokenizer.mask_id, replacements=self.replacements,
                       mask_prob=self.mask_prob, random_prob=self.random_prob, generator=generator)

    def collate(self, sequences: list[str], max_length: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        ids, attention = encode(self.tokenizer, sequences, max_length)
        inputs, labels = self.mask(ids, attention, generator)
        return {"input_ids": inputs, "attention_mask": attention, "labels": labels}

    def forward(self, model, batch: dict[str, Tensor]) -> ObjectiveResult:
        extra = {"token_type_ids": batch["token_type_ids"]} if "token_type_ids" in batch else {}
        labels = batch["labels"]
        # Only about 15 % of the positions are scored: projecting just those onto the vocabulary (4,101 6-mers
        # in DNABERT) through the model's head alone (`lm_logits`, which every model offering masked language-model
        # logits has) is most of a small model's step saved. The loss is the same mean over the scored positions.
        out = model(batch["input_ids"], batch["attention_mask"], with_logits=False, **extra)
        scored = labels != -100
        logits = model.lm_logits(out.hidden[scored]).unsqueeze(0)
        scored_labels = labels[scored].unsqueeze(0)
        return ObjectiveResult(loss=token_cross_entropy(logits, scored_labels), token_logits=logits,
                               token_labels=scored_labels)


class KmerMaskedLM(MaskedLM):
    name = "kmer_mlm"

    def __init__(self, tokenizer: Any, *, k: int | None = None, variant: str = "k", rate: float = 0.15, **kwargs: Any):
        """`k` defaults to the k-mer tokenizer's."""
        if variant not in ("k", "k+2"):
            raise ValueError(f"variant must be 'k' or 'k+2', got {variant!r}")
        k = getattr(tokenizer, "k", None) if k is None else k
        if k is None:
            raise ValueError(f"{type(tokenizer).__name__} is not a k-mer tokenizer: give k")
        width = k if variant == "k" else k + 2
        super().__init__(tokenizer, centre_rate=rate / width, width=width, **kwargs)


class StridedKmerMaskedLM(MaskedLM):
    name = "strided_mlm"

    def __init__(self, tokenizer: Any, *, width: int = 3, centre_rate: float = 0.05, **kwargs: Any):
        super().__init__(tokenizer, centre_rate=centre_rate, width=width, **kwargs)
