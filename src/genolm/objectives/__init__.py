"""Pretraining objectives: each pairs a collate step (raw sequences -> inputs and targets) with a loss.

    OBJECTIVES              registry name -> class
    build(name, tokenizer, model, **params)

    mlm              BERT masking, 15%, 80/10/10
    kmer_mlm         DNABERT contiguous masking of k (or k+2) tokens, rate 15/width %   params: k, variant
    strided_mlm      3 consecutive tokens at 5% of positions (k-mers with stride 3)
    sop              ALBERT sentence-order prediction + masked LM
    span_corruption  T5 span corruption with sentinels (ENBED), 15% noise, mean span 20
    next_token       next-token prediction (and the backward direction of a biLM)
"""

from __future__ import annotations

from typing import Any

from genolm.objectives.base import Objective, ObjectiveResult
from genolm.objectives.causal import NextToken
from genolm.objectives.masking import KmerMaskedLM, MaskedLM, StridedKmerMaskedLM
from genolm.objectives.sop import SentenceOrderPrediction
from genolm.objectives.span_corruption import SpanCorruption

OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls
    for cls in (MaskedLM, KmerMaskedLM, StridedKmerMaskedLM, SentenceOrderPrediction, SpanCorruption, NextToken)
}


def build(name: str, tokenizer: Any, model: Any, **params: Any) -> Objective:
    """The objective `name` for this tokenizer and model (checked to offer the language-model logits the
    objective trains: `Objective.requires`)."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r} (known: {', '.join(OBJECTIVES)})")
    cls = OBJECTIVES[name]
    if cls is SentenceOrderPrediction:
        params = {"d_model": model.d_model, **params}
    objective = cls(tokenizer, **params)
    objective.check_model(model)
    return objective


def default_for(capabilities: Any, preferred: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pretraining objective spec ({name, ...params}) for a model offering `capabilities`: `preferred` if it
    fits the model, else the plain objective of its kind of language model (next token for a causal LM or biLM,
    masked LM, span corruption for an encoder-decoder)."""
    if preferred is not None and OBJECTIVES[preferred["name"]].fits(capabilities):
        return dict(preferred)
    for name in DEFAULTS:
        if OBJECTIVES[name].fits(capabilities):
            return {"name": name}
    raise ValueError(f"no pretraining objective trains a model with "
                     f"{capabilities.language_model or 'no'} language-model logits")


# Tried in this order by default_for.
DEFAULTS = ("next_token", "mlm", "span_corruption")

__all__ = ["DEFAULTS", "OBJECTIVES", "Objective", "ObjectiveResult", "build", "default_for"]
