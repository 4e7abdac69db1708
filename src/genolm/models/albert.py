"""ALBERT (Lan et al. 2020): factorized embeddings (vocabulary -> E -> H) and one set of layer weights shared by
every layer, on Hugging Face `AlbertForMaskedLM`.

Sentence-order prediction, ALBERT's second pretraining loss, is an objective (genolm.objectives.sop) that adds
its own small classifier on [CLS], so any encoder can be pretrained with it; `AlbertForPreTraining`'s pooler and
SOP head are therefore not part of this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn
from transformers import AlbertConfig, AlbertForMaskedLM

from genolm.models.base import Capabilities, LearntPositions, ModelOutput, ZooModel, padding_mask, save_hf_directory


@dataclass
class AlbertModelConfig:
    vocab_size: int = 4101
    embedding_size: int = 128
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1  # 1 = every layer shares one set of weights
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    pad_token_id: int = 0

    def to_hf(self):
        return AlbertConfig(**self.__dict__)


class Albert(LearntPositions, ZooModel):
    name = "albert"
    config_class = AlbertModelConfig
    capabilities = Capabilities(language_model="masked")
    presets = {
        "albert-base": {},
        "albert-small": {"embedding_size": 64, "hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
                         "intermediate_size": 1024},
    }

    def __init__(self, config: AlbertModelConfig):
        super().__init__(config)
        self.hf = AlbertForMaskedLM(config.to_hf())

    @property
    def d_model(self) -> int:
        return self.config.hidden_size

    def layer_groups(self) -> list[nn.Module]:
        albert = self.hf.albert
        # With shared weights there is no per-layer group to unfreeze: the input side, then each shared group.
        return [nn.ModuleList([albert.embeddings, albert.encoder.embedding_hidden_mapping_in]),
                *albert.encoder.albert_layer_groups]

    def export_hf(self, directory) -> Path:
        """The wrapped Hugging Face masked LM as it is: AutoModelForMaskedLM loads it with the same logits."""
        return save_hf_directory(self.hf, directory)

    def lm_logits(self, hidden: Tensor) -> Tensor:
        """The masked-LM head alone: a masking objective scores only the positions it masked."""
        return self.hf.predictions(hidden)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None,
                with_logits: bool = True) -> ModelOutput:
        mask = padding_mask(input_ids, attention_mask)
        hidden = self.hf.albert(input_ids=input_ids, attention_mask=mask, token_type_ids=token_type_ids).last_hidden_state
        return ModelOutput(hidden=hidden, mask=mask, logits=self.lm_logits(hidden) if with_logits else None)
