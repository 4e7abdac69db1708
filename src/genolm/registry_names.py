"""The names the registries know, as plain data: what config validation checks a configuration's tokenizer,
model, preset, head and objective names against without importing the registries (the models, heads and objectives
import torch and Hugging Face transformers, seconds at every Snakemake start). tests/test_registry_names.py checks
this table against the registries themselves (genolm.tokenizers.registry.TOKENIZERS, genolm.objectives.OBJECTIVES,
genolm.heads.HEADS, genolm.models.registry.MODELS and each model's presets): a name added to a registry is added
here too."""

from __future__ import annotations

TOKENIZERS: tuple[str, ...] = ("byte", "character", "kmer", "kmer_bpe", "nonoverlapping_kmer")

HEADS: tuple[str, ...] = ("classification", "generation", "localization", "multilabel", "split_concat")

OBJECTIVES: tuple[str, ...] = ("kmer_mlm", "mlm", "next_token", "sop", "span_corruption", "strided_mlm")

# model name -> its presets
MODEL_PRESETS: dict[str, tuple[str, ...]] = {
    "albert": ("albert-base", "albert-small"),
    "bert": ("bert-mini", "bert-small", "bert-tiny", "dnabert-3", "dnabert-4", "dnabert-5", "dnabert-6"),
    "bilstm": ("elmo-2x256",),
    "cnn": ("deepsea",),
    "cnn-lstm": ("genomenet-like",),
    "copy-parent": ("copy-parent",),
    "enbed": ("enbed-base", "enbed-base-1to1", "enbed-small", "enbed-small-1to1"),
    "enbed-decoder": ("enbed-base-decoder", "enbed-small-decoder"),
    "hyenadna": ("large-1m", "medium-160k", "medium-450k", "small-32k", "tiny-1k"),
    "kmer-logreg": ("kmer6-logreg",),
    "longalbert": ("longalbert-small",),
    "longformer": ("longformer-large", "longformer-small"),
}
