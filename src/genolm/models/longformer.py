"""Longformer (Beltagy et al. 2020): sliding-window attention plus global attention on [CLS].

Built on Hugging Face `LongformerForMaskedLM`. Two conventions to know:
- `attention_window` is Hugging Face's: the whole window, so each token sees `attention_window / 2` tokens on
  either side (it must be even). Inputs are padded internally to a multiple of the window.
- positions are 0, 1, ... L-1 (`max_position_embeddings` = the longest input), passed explicitly: Hugging Face's
  RoBERTa-style default counts from `pad_token_id + 1`, which would tie the position table to the tokenizer.

Global attention goes to every [CLS] token (`cls_token_id`), so the classification token sees the whole input.
Presets: the small-transformer study's `longformer-small` (2 layers, 8 heads, d 256, 256 tokens, window 16) and
`longformer-large` (4 layers, 32 heads, window 64; the other fields as the small one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from transformers import LongformerConfig, LongformerForMaskedLM

from genolm.models.base import Capabilities, LearntPositions, ModelOutput, ZooModel, padding_mask, save_hf_directory

_SMALL = {"hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 8, "intermediate_size": 1024,
          "attention_window": 16, "max_position_embeddings": 256}


@dataclass
class LongformerModelConfig:
    vocab_size: int = 4101
    hidden_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 8
    intermediate_size: int = 1024
    attention_window: int | list[int] = 16
    max_position_embeddings: int = 256
    type_vocab_size: int = 2
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    pad_token_id: int = 0
    cls_token_id: int | None = 2  # None: no global attention (a tokenizer without [CLS])

    def to_hf(self, **changes):
        values = {k: v for k, v in self.__dict__.items() if k != "cls_token_id"}
        window = values["attention_window"]
        values["attention_window"] = list(window) if isinstance(window, (list, tuple)) else window
        return LongformerConfig(**{**values, **changes})


def longformer_inputs(config: LongformerModelConfig, input_ids: Tensor, attention_mask: Tensor | None) -> dict:
    """Mask, explicit positions and the global-attention mask (every [CLS]) for a Hugging Face Longformer."""
    mask = padding_mask(input_ids, attention_mask)
    positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
    inputs = {"attention_mask": mask, "position_ids": positions}
    if config.cls_token_id is not None:
        inputs["global_attention_mask"] = (input_ids == config.cls_token_id).long() * mask
    return inputs


class Longformer(LearntPositions, ZooModel):
    name = "longformer"
    config_class = LongformerModelConfig
    capabilities = Capabilities(language_model="masked")
    presets = {
        "longformer-small": dict(_SMALL),
        "longformer-large": {**_SMALL, "num_hidden_layers": 4, "num_attention_heads": 32, "attention_window": 64},
    }

    def __init__(self, config: LongformerModelConfig):
        super().__init__(config)
        self.hf = LongformerForMaskedLM(config.to_hf())

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        return {**super().tokenizer_config(tokenizer), "cls_token_id": tokenizer.cls_id}

    @property
    def d_model(self) -> int:
        return self.config.hidden_size

    def layer_groups(self) -> list[nn.Module]:
        return [self.hf.longformer.embeddings, *self.hf.longformer.encoder.layer]

    def export_hf(self, directory) -> Path:
        """A Hugging Face LongformerForMaskedLM directory with this model's logits.

        Hugging Face numbers positions from `pad_token_id + 1` when it is given no `position_ids` (RoBERTa's
        convention) where genolm passes 0, 1, ...: the exported position table is this one moved down by
        pad_token_id + 1 rows (and that much longer), so the default positions read the same vectors. Global
        attention is an input in Hugging Face, not part of the model: pass `global_attention_mask` = 1 at every
        [CLS] (`cls_token_id`, written into the config) to get genolm's logits."""
        offset = self.config.pad_token_id + 1
        exported = LongformerForMaskedLM(self.config.to_hf(
            max_position_embeddings=self.config.max_position_embeddings + offset,
            **({"cls_token_id": self.config.cls_token_id} if self.config.cls_token_id is not None else {})))
        state = self.hf.state_dict()
        key = "longformer.embeddings.position_embeddings.weight"
        table = state[key]
        moved = table.new_zeros((table.shape[0] + offset, table.shape[1]))
        moved[offset:] = table
        exported.load_state_dict({**state, key: moved})
        return save_hf_directory(exported, directory)

    def lm_logits(self, hidden: Tensor) -> Tensor:
        """The masked-LM head alone: a masking objective scores only the positions it masked."""
        return self.hf.lm_head(hidden)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None,
                with_logits: bool = True) -> ModelOutput:
        inputs = longformer_inputs(self.config, input_ids, attention_mask)
        hidden = self.hf.longformer(input_ids=input_ids, token_type_ids=token_type_ids, **inputs).last_hidden_state
        return ModelOutput(hidden=hidden, mask=inputs["attention_mask"],
                           logits=self.lm_logits(hidden) if with_logits else None)
