"""A new model family is one file plus its registration: a tiny dilated-CNN masked LM defined here, registered,
pretrained and fine-tuned through the one trainer's specs, with no other file of genolm touched."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
import torch
from torch import Tensor, nn

from genolm import models, objectives, tokenizers
from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter
from genolm.errors import GenolmInputError
from genolm.models.base import Capabilities, ModelOutput, ZooModel, padding_mask
from genolm.training.trainer import train, validate_spec


# ---- the new family: what a newcomer writes in its own file -----------------------------------------------------
@dataclass
class DilatedCNNConfig:
    vocab_size: int = 16
    pad_token_id: int = 0
    d_model: int = 16
    n_layer: int = 2
    kernel_size: int = 3


class DilatedCNNMaskedLM(ZooModel):
    """Embedding, then convolutions with dilations 1, 2, 4, ... that keep the length, and a masked-LM head."""

    name = "dilated-cnn-test"
    config_class = DilatedCNNConfig
    capabilities = Capabilities(language_model="masked")
    presets = {"tiny": {"d_model": 16, "n_layer": 2}}

    def __init__(self, config: DilatedCNNConfig):
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.d_model, config.d_model, config.kernel_size, padding="same", dilation=2**i)
            for i in range(config.n_layer))
        self.lm_head = nn.Linear(config.d_model, config.vocab_size)

    @property
    def d_model(self) -> int:
        return self.config.d_model

    def layer_groups(self) -> list[nn.Module]:
        return [self.embedding, *self.convs, self.lm_head]

    def lm_logits(self, hidden: Tensor) -> Tensor:
        return self.lm_head(hidden)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, with_logits: bool = True) -> ModelOutput:
        mask = padding_mask(input_ids, attention_mask)
        x = (self.embedding(input_ids) * mask.unsqueeze(-1)).transpose(1, 2)
        for conv in self.convs:
            x = x + torch.relu(conv(x))
        hidden = x.transpose(1, 2)
        return ModelOutput(hidden=hidden, mask=mask, logits=self.lm_logits(hidden) if with_logits else None)


# ---- the test ---------------------------------------------------------------------------------------------------
@pytest.fixture
def registered(monkeypatch):
    """The family registered for this test only (the registry is left as it was afterwards)."""
    monkeypatch.setitem(models.MODELS, DilatedCNNMaskedLM.name, DilatedCNNMaskedLM)
    models.MODELS.pop(DilatedCNNMaskedLM.name)
    assert models.register(DilatedCNNMaskedLM) is DilatedCNNMaskedLM
    return DilatedCNNMaskedLM


def planted_shards(out: Path) -> Path:
    rng = random.Random(0)
    rows = []
    for split, count in (("train", 32), ("val", 8), ("test", 8)):
        for i in range(count):
            label = i % 2
            gc = 0.7 if label else 0.3
            sequence = "".join(rng.choice("GC") if rng.random() < gc else rng.choice("AT") for _ in range(40))
            rows.append({"sequence": sequence, "label": label, "sample": f"{split}{i}", "split": split,
                         "window_id": len(rows)})
    with ShardWriter(out, dataset="planted", provenance={"test": "new family"}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=SEQUENCE_SCHEMA))
    return out


TRAINING = {"max_steps": 4, "batch_size": 8, "warmup_steps": 1, "val_every_n_steps": 2, "checkpoint_every_n_steps": 2}


def test_a_registered_family_is_pretrained_and_fine_tuned_through_the_trainer(registered, tmp_path):
    shards = planted_shards(tmp_path / "shards")
    tokenizer = {"name": "character"}
    tokens = tokenizers.tokens_for_bases(tokenizer, 40)
    # The spec asks for what the model offers: its masked LM logits pick the objective.
    objective = objectives.default_for(registered.capabilities)
    assert objective == {"name": "mlm"}
    pretraining = validate_spec({"tokenizer": tokenizer, "model": {"name": registered.name, "preset": "tiny"},
                                 "objective": objective, "init": "random", "context_length": tokens,
                                 "training": TRAINING})
    pretrained = train(pretraining, shards=shards, job_dir=tmp_path / "pretrain", seed=1, plots=tmp_path,
                       context={})
    assert json.loads((pretrained / "config.json").read_text())["genolm_model"] == registered.name
    loaded = models.from_pretrained(pretrained)
    assert isinstance(loaded, DilatedCNNMaskedLM)

    finetuning = validate_spec({"tokenizer": {"pretrained": str(pretrained)}, "model": {"checkpoint": str(pretrained)},
                                "head": {"name": "classification", "pooling": "mean", "label_names": ["AT", "GC"]},
                                "init": "frozen", "context_length": tokens, "group_column": "sample",
                                "training": TRAINING})
    finetuned = train(finetuning, shards=shards, job_dir=tmp_path / "finetune", seed=1, plots=tmp_path, context={})
    metrics = pl.read_parquet(tmp_path / "finetune" / "metrics.parquet")
    test = metrics.filter((pl.col("split") == "test") & (pl.col("metric") == "balanced_accuracy"))
    assert len(test) == 2 and test["value"].is_between(0, 1).all()  # at the best and at the final step
    # The head was trained on the pretrained backbone (frozen: its weights are the pretraining's, unchanged), and
    # the model directory holds the same family with its head.
    assert (finetuned / "head.json").is_file()
    backbone = models.from_pretrained(finetuned)
    assert isinstance(backbone, DilatedCNNMaskedLM)
    for name, value in loaded.state_dict().items():
        assert torch.equal(backbone.state_dict()[name], value), name


def test_an_objective_the_family_does_not_offer_is_refused_in_one_line(registered, tmp_path):
    shards = planted_shards(tmp_path / "shards")
    spec = validate_spec({"tokenizer": {"name": "character"}, "model": {"name": registered.name},
                          "objective": {"name": "next_token"}, "init": "random", "context_length": 41,
                          "training": TRAINING})
    with pytest.raises(GenolmInputError, match="'next_token' needs a model with causal or bilm language-model "
                                               "logits; 'dilated-cnn-test' has masked language-model logits"):
        train(spec, shards=shards, job_dir=tmp_path / "job", seed=1, plots=tmp_path, context={})


def test_registering_needs_declared_capabilities_and_a_free_name(registered):
    class Undeclared(ZooModel):
        name = "undeclared-test"
        config_class = DilatedCNNConfig

    with pytest.raises(TypeError, match="declares no capabilities"):
        models.register(Undeclared)
    with pytest.raises(ValueError, match="already registered"):
        models.register(DilatedCNNMaskedLM, "bert")
