"""ENBED (Malusare et al. 2024): a byte-level encoder-decoder with sliding-window + transient-global attention.

Built on Hugging Face LongT5 with `encoder_attention_type="transient-global"`: each encoder token attends to the
tokens within `local_radius` of it and to global tokens that LongT5 makes by summing the token embeddings of each
block of `global_block_size` tokens and layer-normalizing the sums. The decoder uses full causal attention and
cross-attention, as in T5.

LongT5 has one `local_radius` for the whole encoder, while ENBED uses a narrower window in the first three
layers (64) than in the rest (128). Hugging Face's attention reads the radius from its own attribute at run time, so a
per-layer radius only needs each layer's attribute set; the one thing to change is the relative position bias,
which T5 computes in the first layer and hands on to the next ones with a shape fixed by that layer's block
length. The first layer of each group of equal radius therefore gets its own bias tables (`_RadiusGroupStart`)
and recomputes the bias instead of taking the previous group's.

The vocabulary is the byte tokenizer's 384 ids (256 bytes, special and sentinel tokens). Token embeddings are
shared by encoder, decoder and output layer (Hugging Face 5 ties LongT5's output layer to them in every case; with
`tie_word_embeddings` the decoder output is also scaled by d_model^-0.5, as in T5).

Variants for the ablation: `enbed-*` (encoder:decoder layers 2:1), `enbed-*-1to1` (same depth split evenly) and
`EnbedDecoder` (decoder-only, next-token prediction, the same total depth). Depth and width of the presets are
genolm's choices; the paper fixes the 2:1 split and the radii.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from transformers import LongT5Config, LongT5ForConditionalGeneration
from transformers.models.longt5.modeling_longt5 import LongT5Stack, LongT5TransientGlobalAttention

from genolm.models.base import Capabilities, ModelOutput, ZooModel, end_of_sequence_id, padding_mask, save_hf_directory


def split_radii(num_layers: int, first: int = 64, last: int = 128, narrow_layers: int = 3) -> list[int]:
    """The paper's radii: `first` for the first `narrow_layers` encoder layers (three), `last` for the rest."""
    narrow = min(narrow_layers, num_layers)
    return [first] * narrow + [last] * (num_layers - narrow)


def global_block_size(context_length: int, num_global_tokens: int) -> int:
    """LongT5 sets its global tokens by block length; ENBED by their count k (256, 128 in the ablations): the
    block length that cuts an input of `context_length` tokens into k blocks."""
    if num_global_tokens < 1 or context_length < 1:
        raise ValueError(f"need positive context length and global token count, got {context_length}, {num_global_tokens}")
    return max(1, -(-context_length // num_global_tokens))


def set_activation_checkpointing(module: nn.Module, enabled: bool) -> None:
    """Recompute each block's activations in the backward pass instead of storing them (a training option, the
    `activation_checkpointing` of a spec's model; Hugging Face's activation checkpointing, non-reentrant: the
    recomputation replays the random state, so dropout masks and gradients are the stored pass's)."""
    if enabled:
        module.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        module.activation_checkpointing_disable()


@dataclass
class EnbedModelConfig:
    vocab_size: int = 384
    d_model: int = 768
    d_kv: int = 64
    d_ff: int = 2048
    num_heads: int = 12
    num_encoder_layers: int = 12
    num_decoder_layers: int = 6
    local_radius: list[int] = field(default_factory=lambda: split_radii(12))  # one per encoder layer
    global_block_size: int = 16
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.1
    layer_norm_epsilon: float = 1e-6
    feed_forward_proj: str = "gated-gelu"
    tie_word_embeddings: bool = True
    pad_token_id: int = 0
    eos_token_id: int = 1
    decoder_start_token_id: int = 0

    def __post_init__(self) -> None:
        self.local_radius = list(self.local_radius)
        if len(self.local_radius) != self.num_encoder_layers:
            raise ValueError(f"local_radius has {len(self.local_radius)} values for {self.num_encoder_layers} encoder layers")
        if min(self.local_radius) < 1:
            raise ValueError(f"local_radius values must be positive, got {self.local_radius}")

    def to_hf(self, **changes):
        values = {k: v for k, v in self.__dict__.items() if k not in ("num_encoder_layers", "local_radius")}
        values.update(num_layers=self.num_encoder_layers, local_radius=self.local_radius[0],
                      encoder_attention_type="transient-global")
        return LongT5Config(**{**values, **changes})


class _RadiusGroupStart(LongT5TransientGlobalAttention):
    """First layer of a group with a new radius: computes its own position bias, ignoring the one handed on."""

    def forward(self, hidden_states, mask=None, position_bias=None, output_attentions=False):
        return super().forward(hidden_states, mask=mask, position_bias=None, output_attentions=output_attentions)


def apply_layer_radii(stack: nn.Module, hf_config, radii: list[int], init_weights) -> None:
    """Give each transient-global encoder layer its radius; see the module docstring."""
    for index, (block, radius) in enumerate(zip(stack.block, radii)):
        if index > 0 and radius != radii[index - 1]:
            layer_config = copy.deepcopy(hf_config)
            layer_config.local_radius = radius
            attention = _RadiusGroupStart(layer_config, has_relative_attention_bias=True)
            for module in attention.modules():
                init_weights(module)
            block.layer[0].TransientGlobalSelfAttention = attention
        attention = block.layer[0].TransientGlobalSelfAttention
        attention.local_radius = radius
        attention.block_len = radius + 1


class Enbed(ZooModel):
    name = "enbed"
    config_class = EnbedModelConfig
    capabilities = Capabilities(language_model="seq2seq", generation=True)
    presets = {
        "enbed-base": {},
        "enbed-base-1to1": {"num_encoder_layers": 9, "num_decoder_layers": 9, "local_radius": split_radii(9)},
        "enbed-small": {"d_model": 256, "d_kv": 64, "d_ff": 1024, "num_heads": 4, "num_encoder_layers": 4,
                        "num_decoder_layers": 2, "local_radius": split_radii(4)},
        "enbed-small-1to1": {"d_model": 256, "d_kv": 64, "d_ff": 1024, "num_heads": 4, "num_encoder_layers": 3,
                             "num_decoder_layers": 3, "local_radius": split_radii(3)},
    }

    def __init__(self, config: EnbedModelConfig):
        super().__init__(config)
        self.hf = LongT5ForConditionalGeneration(config.to_hf())
        apply_layer_radii(self.hf.encoder, self.hf.config, config.local_radius, self.hf._init_weights)

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        # T5 conventions: the decoder starts from the padding id.
        return {**super().tokenizer_config(tokenizer), "eos_token_id": end_of_sequence_id(tokenizer),
                "decoder_start_token_id": tokenizer.pad_id}

    @property
    def d_model(self) -> int:
        return self.config.d_model

    def layer_groups(self) -> list[nn.Module]:
        return [self.hf.shared, *self.hf.encoder.block, nn.ModuleList([self.hf.encoder.final_layer_norm]),
                *self.hf.decoder.block, nn.ModuleList([self.hf.decoder.final_layer_norm])]

    def encoder_layer_groups(self) -> list[nn.Module]:
        """What a classification head reads (the final encoder block's states): gradual unfreezing of a classifier
        unfreezes these from the top, never decoder blocks the head does not use."""
        return [self.hf.shared, *self.hf.encoder.block, nn.ModuleList([self.hf.encoder.final_layer_norm])]

    def set_activation_checkpointing(self, enabled: bool) -> None:
        set_activation_checkpointing(self.hf, enabled)

    def export_hf(self, directory) -> Path:
        """A Hugging Face LongT5ForConditionalGeneration directory, for a model whose encoder layers share one
        radius. LongT5 has one `local_radius` for the whole encoder; ENBED's narrower first layers (the presets'
        split radii) have their own position-bias tables that LongT5 cannot hold, so such a model is refused
        rather than exported with different outputs."""
        radii = set(self.config.local_radius)
        if len(radii) != 1:
            raise ValueError(f"ENBED with per-layer radii {self.config.local_radius} has no Hugging Face equivalent: "
                             "LongT5 has one local_radius for every encoder layer")
        return save_hf_directory(self.hf, directory)

    def next_token_logits(self, input_ids: Tensor, attention_mask: Tensor, decoder_input_ids: Tensor,
                          encoder_hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(logits of the token after `decoder_input_ids` [B, V], encoder states to reuse on the next step)."""
        mask = padding_mask(input_ids, attention_mask)
        if encoder_hidden is None:
            encoder_hidden = self.hf.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        out = self.hf(encoder_outputs=(encoder_hidden,), attention_mask=mask, decoder_input_ids=decoder_input_ids,
                      use_cache=False)
        return out.logits[:, -1], encoder_hidden

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, labels: Tensor | None = None,
                decoder_input_ids: Tensor | None = None, decoder_attention_mask: Tensor | None = None,
                with_logits: bool = True) -> ModelOutput:
        """Encoder states always; decoder logits (and the loss) when labels or decoder inputs are given."""
        mask = padding_mask(input_ids, attention_mask)
        if not with_logits or (labels is None and decoder_input_ids is None):
            hidden = self.hf.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
            return ModelOutput(hidden=hidden, mask=mask)
        # Hugging Face flattens the labels with view(), which a sliced tensor does not allow.
        labels = None if labels is None else labels.contiguous()
        out = self.hf(input_ids=input_ids, attention_mask=mask, labels=labels, decoder_input_ids=decoder_input_ids,
                      decoder_attention_mask=decoder_attention_mask, use_cache=False)
        return ModelOutput(hidden=out.encoder_last_hidden_state, mask=mask, logits=out.logits, loss=out.loss)

    @torch.no_grad()
    def generate(self, input_ids: Tensor, attention_mask: Tensor | None = None, **generation) -> Tensor:
        """Hugging Face generation (beam search with `num_beams`); returns decoder ids, starting token included."""
        return self.hf.generate(input_ids=input_ids, attention_mask=padding_mask(input_ids, attention_mask), **generation)


@dataclass
class EnbedDecoderConfig:
    vocab_size: int = 384
    d_model: int = 768
    d_kv: int = 64
    d_ff: int = 2048
    num_heads: int = 12
    num_layers: int = 18
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.1
    layer_norm_epsilon: float = 1e-6
    feed_forward_proj: str = "gated-gelu"
    pad_token_id: int = 0
    eos_token_id: int = 1

    def to_hf(self):
        return LongT5Config(**self.__dict__, is_decoder=True, is_encoder_decoder=False, use_cache=False)


class EnbedDecoder(ZooModel):
    """The decoder-only ablation: ENBED's decoder blocks (causal self-attention, no encoder) as a causal LM."""

    name = "enbed-decoder"
    config_class = EnbedDecoderConfig
    capabilities = Capabilities(language_model="causal", generation=True)
    presets = {
        "enbed-base-decoder": {},
        "enbed-small-decoder": {"d_model": 256, "d_kv": 64, "d_ff": 1024, "num_heads": 4, "num_layers": 6},
    }

    def __init__(self, config: EnbedDecoderConfig):
        super().__init__(config)
        self.stack = LongT5Stack(config.to_hf())
        for block in self.stack.block:
            # A decoder block always builds a cross-attention sublayer and only runs it when given encoder
            # states; with no encoder it is dead weight, so it goes (the block runs layer[0] and layer[-1]).
            del block.layer[1]
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.stack.embed_tokens.weight

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        return {**super().tokenizer_config(tokenizer), "eos_token_id": end_of_sequence_id(tokenizer)}

    @property
    def d_model(self) -> int:
        return self.config.d_model

    def layer_groups(self) -> list[nn.Module]:
        return [self.stack.embed_tokens, *self.stack.block, nn.ModuleList([self.stack.final_layer_norm])]

    def set_activation_checkpointing(self, enabled: bool) -> None:
        set_activation_checkpointing(self.stack, enabled)

    def next_token_logits(self, input_ids: Tensor, attention_mask: Tensor, decoder_input_ids: Tensor,
                          encoder_hidden: Tensor | None = None) -> tuple[Tensor, None]:
        """As a prefix LM: logits of the token after prompt `input_ids` (unpadded rows of one length: a causal model
        reads the prompt and the generated tokens as one sequence) followed by `decoder_input_ids`."""
        if attention_mask is not None and not bool(attention_mask.bool().all()):
            raise ValueError("a decoder-only model generates from unpadded prompts of one length")
        return self(torch.cat([input_ids, decoder_input_ids], dim=1)).logits[:, -1], None

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, with_logits: bool = True) -> ModelOutput:
        mask = padding_mask(input_ids, attention_mask)
        hidden = self.stack(input_ids=input_ids, attention_mask=mask, use_cache=False).last_hidden_state
        # Tied output embeddings are scaled as in T5.
        logits = self.lm_head(hidden * self.config.d_model**-0.5) if with_logits else None
        return ModelOutput(hidden=hidden, mask=mask, logits=logits)
