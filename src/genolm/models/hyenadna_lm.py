"""HyenaDNA behind the interface every genolm model shares, so the trainer's objectives, heads and init modes
apply to it like to any other model.

The model itself and its released-checkpoint layout (config.json + weights.ckpt, loaded by `from_released`) are
genolm.models.hyenadna (the reference's function within float32 rounding, faster: docs/performance.md); this
wrapper only adds the shared output type, layer groups, the activation-checkpointing switch and genolm's
safetensors layout.
"""

from __future__ import annotations

import dataclasses
import os

from torch import Tensor, nn

from genolm.models.base import Capabilities, ModelOutput, ZooModel, padding_mask
from genolm.models.hyenadna import _PRESETS, HyenaDNA, HyenaDNAConfig


class HyenaDNALM(ZooModel):
    name = "hyenadna"
    config_class = HyenaDNAConfig
    capabilities = Capabilities(language_model="causal")
    presets = {name: {"d_model": d, "n_layer": n, "d_inner": i, "l_max": context + 2}
               for name, (d, n, i, context) in _PRESETS.items()}

    @classmethod
    def context_config(cls, tokens: int) -> dict:
        # The reference's convention: l_max is the input's bases + 2 for inputs of bases + 1 tokens ([SEP]).
        return {"l_max": tokens + 1}

    @property
    def context_tokens(self) -> int:
        return int(self.config.l_max)

    def __init__(self, config: HyenaDNAConfig):
        super().__init__(config)
        self.model = HyenaDNA(config)

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        return {"vocab_size": tokenizer.vocab_size}

    @classmethod
    def from_released(cls, path: str | os.PathLike, shift: float = 0.0) -> HyenaDNALM:
        """A released HyenaDNA directory (config.json + weights.ckpt)."""
        released = HyenaDNA.from_released(path, shift=shift)
        wrapper = cls(dataclasses.replace(released.config))
        wrapper.model = released
        return wrapper.eval()

    def set_activation_checkpointing(self, enabled: bool) -> None:
        """Per-block activation checkpointing for training (genolm.models.hyenadna.HyenaDNAConfig)."""
        self.model.set_activation_checkpointing(enabled)
        self.config = self.model.config

    @property
    def d_model(self) -> int:
        return self.config.d_model

    @property
    def output_vocab_size(self) -> int:
        return self.config.padded_vocab_size

    def layer_groups(self) -> list[nn.Module]:
        backbone = self.model.backbone
        return [backbone.embeddings, *backbone.layers, nn.ModuleList([backbone.ln_f])]

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, with_logits: bool = True) -> ModelOutput:
        hidden = self.model.hidden_states(input_ids)
        logits = self.model.lm_head(hidden) if with_logits else None
        return ModelOutput(hidden=hidden, mask=padding_mask(input_ids, attention_mask), logits=logits)
