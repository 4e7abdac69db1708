"""Longalbert: ALBERT's parameter savings over Longformer's attention.

Three changes to a Hugging Face `LongformerModel`, everything else (window padding, global attention on [CLS],
the attention itself) is Longformer's own code:
- factorized embeddings: tokens, positions and segments are embedded in `embedding_size` (E) dimensions, then
  projected to `hidden_size` (H), as in ALBERT (V*E + E*H parameters instead of V*H);
- one Longformer layer whose weights every layer reuses (ALBERT's cross-layer sharing), so depth costs compute
  but no parameters;
- ALBERT's masked-LM head (H -> E -> vocabulary), its decoder tied to the E-dimensional token embeddings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import Tensor, nn
from transformers import AlbertConfig, LongformerModel
from transformers.models.albert.modeling_albert import AlbertMLMHead
from transformers.models.longformer.modeling_longformer import LongformerEmbeddings

from genolm.models.base import Capabilities, LearntPositions, ModelOutput, ZooModel
from genolm.models.longformer import LongformerModelConfig, longformer_inputs


@dataclass
class LongalbertModelConfig(LongformerModelConfig):
    embedding_size: int = 128

    def to_hf(self, **changes):
        values = dict(self.__dict__)
        values.pop("embedding_size")
        return LongformerModelConfig(**values).to_hf(**changes)


class FactorizedEmbeddings(nn.Module):
    """Longformer's embeddings computed in E dimensions, then projected to H; same call signature."""

    def __init__(self, hf_config, embedding_size: int):
        super().__init__()
        small = copy.deepcopy(hf_config)
        small.hidden_size = embedding_size
        self.embeddings = LongformerEmbeddings(small)
        self.projection = nn.Linear(embedding_size, hf_config.hidden_size)

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        return self.projection(self.embeddings(input_ids=input_ids, token_type_ids=token_type_ids,
                                               position_ids=position_ids, inputs_embeds=inputs_embeds))


class Longalbert(LearntPositions, ZooModel):
    name = "longalbert"
    config_class = LongalbertModelConfig
    capabilities = Capabilities(language_model="masked")
    presets = {
        "longalbert-small": {"hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 8, "intermediate_size": 1024,
                             "attention_window": 16, "max_position_embeddings": 256, "embedding_size": 64},
    }

    def __init__(self, config: LongalbertModelConfig):
        if not isinstance(config.attention_window, int):
            raise ValueError("longalbert shares one layer, so attention_window is one even number, not a list")
        super().__init__(config)
        hf_config = config.to_hf()
        backbone = LongformerModel(hf_config, add_pooling_layer=False)
        backbone.embeddings = FactorizedEmbeddings(hf_config, config.embedding_size)
        shared = backbone.encoder.layer[0]
        # The same module at every depth: parameters() and the saved weights hold it once.
        backbone.encoder.layer = nn.ModuleList([shared] * config.num_hidden_layers)
        head = AlbertMLMHead(AlbertConfig(vocab_size=config.vocab_size, embedding_size=config.embedding_size,
                                          hidden_size=config.hidden_size, hidden_act=config.hidden_act,
                                          layer_norm_eps=config.layer_norm_eps))
        for module in (*backbone.embeddings.modules(), *head.modules()):
            backbone._init_weights(module)
        head.decoder.weight = backbone.embeddings.word_embeddings.weight
        head.decoder.bias = head.bias
        self.backbone = backbone
        self.lm_head = head

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        return {**super().tokenizer_config(tokenizer), "cls_token_id": tokenizer.cls_id}

    @property
    def d_model(self) -> int:
        return self.config.hidden_size

    def layer_groups(self) -> list[nn.Module]:
        return [self.backbone.embeddings, self.backbone.encoder.layer[0]]

    def lm_logits(self, hidden: Tensor) -> Tensor:
        """The masked-LM head alone: a masking objective scores only the positions it masked."""
        return self.lm_head(hidden)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None,
                with_logits: bool = True) -> ModelOutput:
        inputs = longformer_inputs(self.config, input_ids, attention_mask)
        hidden = self.backbone(input_ids=input_ids, token_type_ids=token_type_ids, **inputs).last_hidden_state
        return ModelOutput(hidden=hidden, mask=inputs["attention_mask"], logits=self.lm_logits(hidden) if with_logits else None)
