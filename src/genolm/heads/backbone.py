"""What the trainer and the heads read off a backbone, in one place.

Each answer comes from the capabilities the model class declares (genolm.models.base.Capabilities), never from
its name; this module is the only one in the training path that asks.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from genolm.errors import GenolmInputError


def fitted_whole(backbone: Any) -> bool:
    """A model fitted or scored in one pass outside Lightning (the k-mer logistic regression, copy-the-parent)."""
    return backbone.capabilities.training in ("fit", "none")


def has_token_vocabulary(backbone: Any) -> bool:
    """Whether the model embeds token ids (its config has a vocab_size to check against the tokenizer's)."""
    return backbone.capabilities.reads_tokens


def generates(backbone: Any) -> bool:
    """Whether the model can produce a target sequence: an encoder-decoder, a decoder-only LM or copy-the-parent."""
    return backbone.capabilities.generation


def copies_its_input(backbone: Any) -> bool:
    return backbone.capabilities.training == "none"


def is_encoder_decoder(backbone: Any) -> bool:
    return backbone.capabilities.language_model == "seq2seq"


def is_causal(backbone: Any) -> bool:
    return backbone.capabilities.language_model == "causal"


def downsamples(backbone: Any) -> bool:
    """Whether the model's outputs are fewer than its input tokens (no output per token to localize a site)."""
    return backbone.capabilities.downsamples


def check_task(backbone: Any, head_name: str | None) -> None:
    """Models that do one task only: the k-mer logistic regression classifies, copy-the-parent generates; neither
    pretrains. `head_name` None is pretraining."""
    if backbone.capabilities.training == "fit" and head_name != "classification":
        raise GenolmInputError("spec", "the k-mer logistic regression only fits a classification head")
    if copies_its_input(backbone) and head_name is None:
        raise GenolmInputError("spec", "copy-the-parent has nothing to pretrain")
    if copies_its_input(backbone) and head_name != "generation":
        raise GenolmInputError("spec", f"copy-the-parent only generates; got head {head_name!r}")


def set_activation_checkpointing(backbone: Any, enabled: bool) -> None:
    if not hasattr(backbone, "set_activation_checkpointing"):
        raise GenolmInputError("spec", f"key model: {backbone.name!r} has no activation_checkpointing option")
    backbone.set_activation_checkpointing(enabled)


def encoder_layer_groups(backbone: Any) -> list[nn.Module]:
    """The layer groups a head on the pooled states reads, bottom to top: an encoder-decoder's encoder only."""
    return getattr(backbone, "encoder_layer_groups", backbone.layer_groups)()
