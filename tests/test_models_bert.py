"""BERT / DNABERT: published parameter counts, a released-layout DNABERT checkpoint read exactly as Hugging Face
reads it, overfitting a tiny batch, and the safetensors round trip."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer

from genolm import models, tokenizers
from genolm.models.bert import Bert
from genolm.objectives import build as build_objective
from zoo_util import meta_parameters, zoo_test_setup, overfit, random_dna  # noqa: F401 (zoo_test_setup: autouse fixture)


def bert_encoder_parameters(vocab: int, hidden: int, layers: int, intermediate: int, positions: int = 512,
                            types: int = 2) -> int:
    """Embeddings + transformer layers, counted from the architecture (Devlin et al. 2019)."""
    embeddings = (vocab + positions + types) * hidden + 2 * hidden  # three tables + LayerNorm
    attention = 4 * (hidden * hidden + hidden) + 2 * hidden  # Q, K, V, output + LayerNorm
    feed_forward = (hidden * intermediate + intermediate) + (intermediate * hidden + hidden) + 2 * hidden
    return embeddings + layers * (attention + feed_forward)


def bert_mlm_head_parameters(vocab: int, hidden: int) -> int:
    # dense + LayerNorm + output bias (the output matrix is the tied token embedding)
    return hidden * hidden + hidden + 2 * hidden + vocab


def test_parameter_count_formula_matches_published_bert_base():
    # bert-base-uncased: 109,482,240 parameters in BertModel (encoder + pooler), the widely quoted "110M".
    pooler = 768 * 768 + 768
    assert bert_encoder_parameters(30522, 768, 12, 3072) + pooler == 109_482_240
    assert meta_parameters(lambda: BertModel(BertConfig())) == 109_482_240


def test_dnabert6_parameter_count():
    # DNABERT-6: BERT-base over 4^6 + 5 = 4101 tokens.
    expected = bert_encoder_parameters(4101, 768, 12, 3072) + bert_mlm_head_parameters(4101, 768)
    assert expected == 89_196_549
    assert meta_parameters(lambda: models.build("bert", {"preset": "dnabert-6"})) == expected
    # The DNABERT-6 checkpoint as a BertModel with pooler (as the released model card's class counts it).
    assert bert_encoder_parameters(4101, 768, 12, 3072) + 768 * 768 + 768 == 89_190_912


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_dnabert_presets_fit_the_kmer_tokenizer(k):
    tokenizer = tokenizers.build("kmer", k=k)
    assert Bert.presets[f"dnabert-{k}"]["vocab_size"] == tokenizer.vocab_size == 4**k + 5


TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
        "max_position_embeddings": 64, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def write_shuffled_dnabert(directory, k: int = 3, seed: int = 0) -> list[str]:
    """A random DNABERT-layout checkpoint saved by Hugging Face, with a vocab.txt in a shuffled order."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["".join(p) for p in itertools.product("ACGT", repeat=k)]
    random.Random(seed).shuffle(tokens)
    assert tokens != sorted(tokens)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokens), pad_token_id=tokens.index("[PAD]"), **TINY)
    BertForMaskedLM(config).save_pretrained(directory)
    (directory / "vocab.txt").write_text("\n".join(tokens) + "\n")
    return tokens


def test_dnabert_checkpoint_gives_hugging_face_ids_and_logits(tmp_path):
    tokens = write_shuffled_dnabert(tmp_path)
    sequences = ["ACGTACGGTTACGATCGA", "TTTTGGGGCCCCAAAANACG", "GATTACA"]

    hf_tokenizer = BertTokenizer(str(tmp_path / "vocab.txt"), do_lower_case=False)
    hf_model = BertForMaskedLM.from_pretrained(tmp_path).eval()
    ours_tokenizer = tokenizers.from_pretrained(tmp_path)
    ours_model = models.from_pretrained(tmp_path)
    assert isinstance(ours_model, Bert)

    ids, mask = ours_tokenizer.encode_batch(sequences, padding_side="right")
    kmers = [" ".join(s[i : i + 3] for i in range(len(s) - 2)) for s in sequences]
    theirs = hf_tokenizer(kmers, padding=True, return_tensors="pt")
    assert ids.tolist() == theirs["input_ids"].tolist()
    assert mask.tolist() == theirs["attention_mask"].tolist()
    assert ids[0, 0] == tokens.index("[CLS]") and ids[2, -1] == tokens.index("[PAD]")
    with torch.no_grad():
        expected = hf_model(**theirs).logits
        ours = ours_model(torch.from_numpy(ids), torch.from_numpy(mask)).logits
    assert torch.equal(ours, expected)
    # The N-containing window is [UNK] for both.
    assert tokens.index("[UNK]") in ids[1].tolist()


def test_bert_overfits_a_tiny_batch_with_dnabert_masking():
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("bert", TINY, tokenizer=tokenizer)
    objective = build_objective("kmer_mlm", tokenizer, model, k=3)
    batch = objective.collate(random_dna(4, 40), max_length=40, generator=torch.Generator().manual_seed(0))
    first, last = overfit(model.parameters(), lambda: objective(model, batch).loss, steps=60)
    assert last < 0.2 * first


def test_save_and_load_round_trip(tmp_path):
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("bert", TINY, tokenizer=tokenizer).eval()
    model.save_pretrained(tmp_path / "m")
    loaded = models.from_pretrained(tmp_path / "m")
    assert isinstance(loaded, Bert) and loaded.config == model.config
    ids, mask = (torch.from_numpy(a) for a in tokenizer.encode_batch(random_dna(2, 30), padding_side="right"))
    with torch.no_grad():
        assert torch.equal(model(ids, mask).logits, loaded(ids, mask).logits)


def test_config_errors_are_named():
    with pytest.raises(ValueError, match="unknown bert config field"):
        models.build("bert", {"hidden_sise": 3})
    with pytest.raises(ValueError, match="unknown bert preset"):
        models.build("bert", {"preset": "dnabert-9"})
    with pytest.raises(ValueError, match="vocab_size=10 but the tokenizer gives 69"):
        models.build("bert", {**TINY, "vocab_size": 10}, tokenizer=tokenizers.build("kmer", k=3))
