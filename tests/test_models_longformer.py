"""Longformer and Longalbert: parameter counts of the study's configurations (and Longformer-base's published
count), windowed attention with global attention on [CLS], ALBERT-style sharing, overfitting, round trip."""

from __future__ import annotations

import pytest
import torch
from transformers import LongformerConfig, LongformerModel

from genolm import models, tokenizers
from genolm.objectives import build as build_objective
from zoo_util import meta_parameters, zoo_test_setup, overfit, random_dna  # noqa: F401 (zoo_test_setup: autouse fixture)


def longformer_layer(hidden: int, intermediate: int) -> int:
    """Local Q, K, V + global Q, K, V + output projection, LayerNorm; feed-forward, LayerNorm (Beltagy et al. 2020)."""
    attention = 7 * (hidden * hidden + hidden) + 2 * hidden
    return attention + hidden * intermediate + intermediate + intermediate * hidden + hidden + 2 * hidden


def embeddings(vocab: int, positions: int, types: int, width: int) -> int:
    return (vocab + positions + types) * width + 2 * width


def lm_head(vocab: int, hidden: int, embedding: int) -> int:
    """dense hidden -> embedding width, LayerNorm, output bias (the output matrix is the tied token embedding)."""
    return hidden * embedding + embedding + 2 * embedding + vocab


def test_formula_matches_published_longformer_base():
    # allenai/longformer-base-4096: 148,659,456 parameters (RoBERTa-base's 124.6M + global projections + 4,098 positions).
    pooler = 768 * 768 + 768
    count = embeddings(50265, 4098, 1, 768) + 12 * longformer_layer(768, 3072) + pooler
    assert count == 148_659_456
    config = LongformerConfig(vocab_size=50265, max_position_embeddings=4098, type_vocab_size=1, attention_window=512)
    assert meta_parameters(lambda: LongformerModel(config)) == 148_659_456


def test_study_longformer_parameter_counts():
    vocab = 4101  # 6-mers
    small = embeddings(vocab, 256, 2, 256) + 2 * longformer_layer(256, 1024) + lm_head(vocab, 256, 256)
    assert small == 3_161_093
    assert meta_parameters(lambda: models.build("longformer", {"preset": "longformer-small", "vocab_size": vocab})) == small
    # The large configuration: twice the layers; 32 heads split the same width, so heads cost no parameters.
    large = small + 2 * longformer_layer(256, 1024)
    assert meta_parameters(lambda: models.build("longformer", {"preset": "longformer-large", "vocab_size": vocab})) == large
    model = models.build("longformer", {"preset": "longformer-large", "vocab_size": 69})
    assert model.hf.config.attention_window == [64] * 4 and model.hf.config.num_attention_heads == 32


def test_longalbert_shares_one_layer_and_factorizes_embeddings():
    vocab, hidden, emb = 4101, 256, 64
    expected = (embeddings(vocab, 256, 2, emb) + emb * hidden + hidden + longformer_layer(hidden, 1024)
                + lm_head(vocab, hidden, emb))
    assert expected == 1_303_557
    config = {"preset": "longalbert-small", "vocab_size": vocab}
    assert meta_parameters(lambda: models.build("longalbert", config)) == expected
    # Depth is free: a 6-layer Longalbert has as many parameters as the 2-layer one.
    assert meta_parameters(lambda: models.build("longalbert", {**config, "num_hidden_layers": 6})) == expected
    model = models.build("longalbert", {**config, "num_hidden_layers": 3})
    layers = model.backbone.encoder.layer
    assert layers[0] is layers[1] is layers[2]
    assert model.lm_head.decoder.weight is model.backbone.embeddings.word_embeddings.weight


TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64,
        "attention_window": 4, "max_position_embeddings": 64, "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0}


@pytest.mark.parametrize("name", ["longformer", "longalbert"])
def test_window_and_global_attention_on_cls(name):
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build(name, TINY, tokenizer=tokenizer).eval()
    ids = torch.from_numpy(tokenizer.encode_batch(random_dna(1, 34, seed=3), padding_side="right")[0])
    changed = ids.clone()
    changed[0, 20] = tokenizer.mask_id  # far outside token 10's window of 2 on each side
    with torch.no_grad():
        before, after = model(ids).hidden, model(changed).hidden
        model.config.cls_token_id = None  # no global token at all
        local_before, local_after = model(ids).hidden, model(changed).hidden
    assert ids[0, 0] == tokenizer.cls_id
    assert not torch.allclose(before[0, 0], after[0, 0])  # [CLS] attends to every token
    assert torch.equal(before[0, 10], after[0, 10])  # an ordinary token only to its window (and [CLS])
    assert torch.allclose(local_before[0, 0], local_after[0, 0])  # without global attention [CLS] is local too


@pytest.mark.parametrize("name", ["longformer", "longalbert"])
def test_overfits_a_tiny_batch(name):
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build(name, {**TINY, "num_hidden_layers": 2}, tokenizer=tokenizer)
    objective = build_objective("mlm", tokenizer, model, centre_rate=0.3)
    batch = objective.collate(random_dna(4, 40), max_length=40, generator=torch.Generator().manual_seed(0))
    first, last = overfit(model.parameters(), lambda: objective(model, batch).loss, steps=60)
    assert last < 0.2 * first


@pytest.mark.parametrize("name", ["longformer", "longalbert"])
def test_save_and_load_round_trip(tmp_path, name):
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build(name, TINY, tokenizer=tokenizer).eval()
    model.save_pretrained(tmp_path / name)
    loaded = models.from_pretrained(tmp_path / name)
    assert type(loaded) is type(model) and loaded.config == model.config
    ids, mask = (torch.from_numpy(a) for a in tokenizer.encode_batch(random_dna(3, 30, seed=1), padding_side="right"))
    with torch.no_grad():
        assert torch.equal(model(ids, mask).logits, loaded(ids, mask).logits)
