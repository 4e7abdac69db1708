"""BERT and DNABERT (Ji et al. 2021): Hugging Face `BertForMaskedLM` behind the zoo interface.

DNABERT is BERT-base over overlapping k-mers: the vocabulary is the 4^k k-mers plus five special tokens
([PAD], [UNK], [CLS], [SEP], [MASK]). A released DNABERT directory (config.json, weights, vocab.txt) is a plain
Hugging Face BERT directory and loads with `Bert.from_hf`; its ids come from `vocab.txt`, which the k-mer tokenizer
reads in file order. The small presets are the compact BERTs of Turc et al. 2019 (tiny, mini, small) for quick
trials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn
from transformers import BertConfig, BertForMaskedLM

from genolm.errors import GenolmInputError
from genolm.models.base import Capabilities, LearntPositions, ModelOutput, ZooModel, padding_mask, save_hf_directory

_BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}


@dataclass
class BertModelConfig:
    vocab_size: int = 4101
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    pad_token_id: int = 0

    def to_hf(self):
        return BertConfig(**self.__dict__)


class Bert(LearntPositions, ZooModel):
    name = "bert"
    config_class = BertModelConfig
    capabilities = Capabilities(language_model="masked")
    presets = {
        **{f"dnabert-{k}": {**_BERT_BASE, "vocab_size": 4**k + 5} for k in (3, 4, 5, 6)},
        "bert-small": {"hidden_size": 512, "num_hidden_layers": 4, "num_attention_heads": 8, "intermediate_size": 2048},
        "bert-mini": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
        "bert-tiny": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512},
    }

    def __init__(self, config: BertModelConfig):
        super().__init__(config)
        self.hf = BertForMaskedLM(config.to_hf())

    @property
    def d_model(self) -> int:
        return self.config.hidden_size

    def layer_groups(self) -> list[nn.Module]:
        return [self.hf.bert.embeddings, *self.hf.bert.encoder.layer]

    def export_hf(self, directory) -> Path:
        """The wrapped Hugging Face masked LM as it is: AutoModelForMaskedLM loads it with the same logits."""
        return save_hf_directory(self.hf, directory)

    def lm_logits(self, hidden: Tensor) -> Tensor:
        """The masked-LM head alone: a masking objective scores only the positions it masked."""
        return self.hf.cls(hidden)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None,
                with_logits: bool = True) -> ModelOutput:
        mask = padding_mask(input_ids, attention_mask)
        hidden = self.hf.bert(input_ids=input_ids, attention_mask=mask, token_type_ids=token_type_ids).last_hidden_state
        return ModelOutput(hidden=hidden, mask=mask, logits=self.lm_logits(hidden) if with_logits else None)

    @classmethod
    def from_hf(cls, directory: str | os.PathLike) -> Bert:
        """A Hugging Face BERT directory (a released DNABERT checkpoint): config.json + weights."""
        directory = Path(directory)
        try:
            hf_config = BertConfig.from_pretrained(directory)
        except (OSError, ValueError) as error:
            raise GenolmInputError(directory, f"not a Hugging Face BERT directory: {error}") from None
        if getattr(hf_config, "position_embedding_type", "absolute") != "absolute":
            raise GenolmInputError(directory / "config.json", "only absolute position embeddings are supported, got "
                                                              f"{hf_config.position_embedding_type!r}")
        fields = {name: getattr(hf_config, name) for name in BertModelConfig.__dataclass_fields__}
        model = cls(BertModelConfig(**fields))
        try:
            # Hugging Face resolves the weight file name and format (safetensors or the older pytorch_model.bin)
            # and drops heads a masked-LM model does not have (NSP, pooler); the MLM head itself must be there.
            loaded, info = BertForMaskedLM.from_pretrained(directory, config=hf_config, output_loading_info=True)
        except (OSError, ValueError, RuntimeError) as error:
            raise GenolmInputError(directory, f"cannot load BERT weights: {error}") from None
        if info["missing_keys"]:
            raise GenolmInputError(directory, f"checkpoint lacks weights: {sorted(info['missing_keys'])[:10]}")
        model.hf.load_state_dict(loaded.state_dict())
        return model.eval()
