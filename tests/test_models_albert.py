"""ALBERT: published parameter count, cross-layer sharing, sentence-order prediction + MLM overfitting, round trip."""

from __future__ import annotations

import torch
from transformers import AlbertConfig, AlbertModel

from genolm import models, tokenizers
from genolm.objectives import build as build_objective
from zoo_util import meta_parameters, zoo_test_setup, overfit, random_dna  # noqa: F401 (zoo_test_setup: autouse fixture)


def albert_parameters(vocab: int, embedding: int, hidden: int, intermediate: int, *, positions: int = 512,
                      types: int = 2, groups: int = 1, pooler: bool = False, mlm_head: bool = True) -> int:
    """Factorized embeddings, E -> H projection, `groups` shared layers (Lan et al. 2020)."""
    count = (vocab + positions + types) * embedding + 2 * embedding + embedding * hidden + hidden
    layer = 4 * (hidden * hidden + hidden) + 2 * hidden + hidden * intermediate + intermediate + intermediate * hidden + hidden + 2 * hidden
    count += groups * layer
    if pooler:
        count += hidden * hidden + hidden
    if mlm_head:
        count += hidden * embedding + embedding + 2 * embedding + vocab
    return count


def test_formula_matches_published_albert_base():
    # albert-base-v2: 11,683,584 parameters (AlbertModel, the quoted "12M").
    assert albert_parameters(30000, 128, 768, 3072, pooler=True, mlm_head=False) == 11_683_584
    config = AlbertConfig(vocab_size=30000, hidden_size=768, num_attention_heads=12, intermediate_size=3072)
    assert meta_parameters(lambda: AlbertModel(config)) == 11_683_584


def test_albert_base_over_6mers_and_sharing():
    expected = albert_parameters(4101, 128, 768, 3072)
    assert expected == 7_880_709
    assert meta_parameters(lambda: models.build("albert", {"preset": "albert-base", "vocab_size": 4101})) == expected
    # Depth costs no parameters; a second group of shared weights costs one layer.
    assert meta_parameters(lambda: models.build("albert", {"preset": "albert-base", "vocab_size": 4101,
                                                           "num_hidden_layers": 24})) == expected
    two_groups = models.build("albert", {"preset": "albert-small", "vocab_size": 69, "num_hidden_groups": 2})
    assert two_groups.num_parameters() == albert_parameters(69, 64, 256, 1024, groups=2)
    assert len(two_groups.layer_groups()) == 3


TINY = {"embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4,
        "intermediate_size": 64, "max_position_embeddings": 64}


def test_albert_overfits_sentence_order_and_masked_tokens():
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("albert", TINY, tokenizer=tokenizer)
    objective = build_objective("sop", tokenizer, model)
    batch = objective.collate(random_dna(8, 40), max_length=48, generator=torch.Generator().manual_seed(0))
    assert 0 < batch["order_labels"].sum() < 8
    parameters = list(model.parameters()) + list(objective.parameters())
    first, last = overfit(parameters, lambda: objective(model, batch).loss, steps=80)
    assert last < 0.2 * first
    with torch.no_grad():
        result = objective(model, batch)
    assert result.extra["sop_accuracy"] == 1.0


def test_save_and_load_round_trip(tmp_path):
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("albert", TINY, tokenizer=tokenizer).eval()
    model.save_pretrained(tmp_path / "albert")
    loaded = models.from_pretrained(tmp_path / "albert")
    ids, mask = (torch.from_numpy(a) for a in tokenizer.encode_batch(random_dna(2, 30), padding_side="right"))
    with torch.no_grad():
        assert torch.equal(model(ids, mask).logits, loaded(ids, mask).logits)
