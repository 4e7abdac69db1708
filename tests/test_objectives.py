"""Pretraining objectives: masking rates and contiguity, 80/10/10, sentence-order swaps, span corruption
statistics and round trip, next-token targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genolm import models, tokenizers
from genolm.objectives import OBJECTIVES
from genolm.objectives import build as build_objective
from genolm.objectives.causal import shifted_labels
from genolm.objectives.span_corruption import corrupt_spans, random_spans_noise_mask, restore_spans
from zoo_util import random_dna, zoo_test_setup  # noqa: F401 (zoo_test_setup: autouse fixture)

BERT = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
        "max_position_embeddings": 1100}


def masked_runs(labels: torch.Tensor) -> list[int]:
    """Lengths of the runs of consecutive scored positions, over all rows."""
    runs = []
    for row in (labels != -100).int().tolist():
        length = 0
        for flag in row + [0]:
            if flag:
                length += 1
            elif length:
                runs.append(length)
                length = 0
    return runs


def objective_batch(name: str, k: int = 6, n: int = 64, length: int = 1000, stride: int = 1, **params):
    tokenizer = tokenizers.build("kmer", k=k, stride=stride)
    model = models.build("bert", BERT, tokenizer=tokenizer)
    objective = build_objective(name, tokenizer, model, **params)
    sequences = random_dna(n, length, seed=1)
    return tokenizer, objective.collate(sequences, max_length=length, generator=torch.Generator().manual_seed(0))


def test_bert_masking_rate_and_replacement_split():
    tokenizer, batch = objective_batch("mlm", k=3)
    scored = batch["labels"] != -100
    maskable = (batch["attention_mask"] == 1).sum() - 2 * len(batch["labels"])  # minus [CLS], [SEP]
    assert abs(scored.sum().item() / maskable.item() - 0.15) < 0.01
    inputs, labels = batch["input_ids"][scored], batch["labels"][scored]
    as_mask = (inputs == tokenizer.mask_id).float().mean().item()
    kept = (inputs == labels).float().mean().item()
    assert abs(as_mask - 0.8) < 0.02 and abs(kept - 0.1 - 0.1 / 64) < 0.02
    replaced = inputs[(inputs != tokenizer.mask_id) & (inputs != labels)]
    assert not set(replaced.tolist()) & set(tokenizer.special_ids)
    # Special tokens and padding are never scored.
    assert not scored[:, 0].any()
    assert not scored[batch["attention_mask"] == 0].any()


@pytest.mark.parametrize("k", [3, 6])
@pytest.mark.parametrize("variant", ["k", "k+2"])
def test_dnabert_contiguous_masking(k, variant):
    _, batch = objective_batch("kmer_mlm", k=k, variant=variant)
    width = k if variant == "k" else k + 2
    runs = masked_runs(batch["labels"])
    # Spans never come out shorter than the width (overlapping spans merge into longer runs), except where one is
    # clipped by [CLS] or [SEP].
    clipped = sum(1 for row in batch["labels"] for edge in (row[1], row[-2]) if edge != -100)
    assert sum(r < width for r in runs) <= clipped
    # Centres at rate 0.15 / width: the masked share is 1 - (1 - 0.15 / width)^width, about 14%.
    maskable = (batch["attention_mask"].sum() - 2 * len(batch["labels"])).item()
    expected = 1 - (1 - 0.15 / width) ** width
    assert abs((batch["labels"] != -100).sum().item() / maskable - expected) < 0.01
    # A masked 6-mer's bases are all covered by masked neighbours: the span hides at least one whole base.
    assert max(runs) >= width


def test_strided_kmer_masking():
    _, batch = objective_batch("strided_mlm", k=6, stride=3)
    runs = masked_runs(batch["labels"])
    assert min(runs) >= 1 and np.median(runs) >= 3
    maskable = (batch["attention_mask"].sum() - 2 * len(batch["labels"])).item()
    assert abs((batch["labels"] != -100).sum().item() / maskable - (1 - 0.95**3)) < 0.015


def test_short_sequences_still_get_a_masked_token():
    tokenizer = tokenizers.build("kmer", k=3)
    objective = build_objective("mlm", tokenizer, models.build("bert", BERT, tokenizer=tokenizer))
    batch = objective.collate(["ACGTA"] * 50, max_length=8)
    assert ((batch["labels"] != -100).sum(dim=1) >= 1).all()


def test_sentence_order_pairs():
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("bert", BERT, tokenizer=tokenizer)
    objective = build_objective("sop", tokenizer, model, centre_rate=0.01)
    sequences = random_dna(2000, 30, seed=2)
    batch = objective.collate(sequences, max_length=40, generator=torch.Generator().manual_seed(1))
    assert abs(batch["order_labels"].float().mean().item() - 0.5) < 0.03
    plain = torch.from_numpy(tokenizer.encode_batch(sequences, add_special_tokens=False)[0])
    original = torch.where(batch["labels"] != -100, batch["labels"], batch["input_ids"])
    for row in range(50):
        ids, segments = original[row], batch["token_type_ids"][row]
        seps = (ids == tokenizer.sep_id).nonzero().flatten().tolist()
        assert ids[0] == tokenizer.cls_id and len(seps) == 2 and seps[1] == 30 - 3 + 1 + 3 - 1
        first, second = ids[1 : seps[0]], ids[seps[0] + 1 : seps[1]]
        assert len(first) and len(second)
        assert segments[: seps[0] + 1].sum() == 0 and segments[seps[0] + 1 : seps[1] + 1].eq(1).all()
        body = torch.cat([second, first]) if batch["order_labels"][row] else torch.cat([first, second])
        assert torch.equal(body, plain[row])


def test_span_corruption_statistics_and_round_trip():
    generator = torch.Generator().manual_seed(3)
    span_lengths = []
    for length in (1000, 1024, 2000, 4096):
        for _ in range(50):
            noise = random_spans_noise_mask(length, 0.15, 20.0, generator)
            starts = noise & ~np.concatenate([[False], noise[:-1]])
            # As in T5: round(15%) noise tokens, in round(noise / 20) spans, after a kept span.
            assert noise.sum() == round(0.15 * length) and starts.sum() == round(round(0.15 * length) / 20)
            assert not noise[0]
            span_lengths.extend(np.diff(np.flatnonzero(np.diff(np.concatenate([[0], noise, [0]]).astype(int))))[::2])
    assert abs(np.mean(span_lengths) - 20) < 1.5
    assert len(set(span_lengths)) > 20  # span lengths vary

    tokenizer = tokenizers.build("byte")
    model = models.build("enbed", {"d_model": 16, "d_kv": 4, "d_ff": 16, "num_heads": 4, "num_encoder_layers": 2,
                                   "num_decoder_layers": 1, "local_radius": [4, 8]}, tokenizer=tokenizer)
    objective = build_objective("span_corruption", tokenizer, model)
    sequences = random_dna(20, 300, seed=4)
    batch = objective.collate(sequences, max_length=301, generator=generator)
    sentinels = list(tokenizer.sentinel_ids)
    for row, sequence in enumerate(sequences):
        inputs = batch["input_ids"][row][batch["attention_mask"][row] == 1].tolist()
        targets = [t for t in batch["labels"][row].tolist() if t != -100]
        used = [t for t in inputs if t in sentinels]
        assert used == sentinels[: len(used)] and len(used) == round(45 / 20)
        assert inputs[-1] == targets[-1] == tokenizer.eos_id
        restored = restore_spans(inputs, targets, sentinels, tokenizer.eos_id)
        assert tokenizer.decode(restored) == sequence


def test_span_corruption_layout():
    body = np.arange(10, 20)
    noise = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
    inputs, targets = corrupt_spans(body, noise, [99, 98, 97], end_id=1)
    assert inputs.tolist() == [10, 11, 99, 14, 15, 16, 98, 19, 1]
    assert targets.tolist() == [99, 12, 13, 98, 17, 18, 1]
    with pytest.raises(ValueError, match="only 1 sentinel"):
        corrupt_spans(body, noise, [99], end_id=1)


def test_next_token_targets():
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    assert shifted_labels(ids, mask, 1).tolist() == [[6, 7, -100, -100], [9, -100, -100, -100]]
    assert shifted_labels(ids, mask, -1).tolist() == [[-100, 5, 6, -100], [-100, 8, -100, -100]]


def test_objectives_refuse_models_they_cannot_train():
    tokenizer = tokenizers.build("kmer", k=3)
    bert = models.build("bert", BERT, tokenizer=tokenizer)
    with pytest.raises(ValueError, match="'span_corruption' needs a model with seq2seq language-model logits; 'bert' has masked "):
        build_objective("span_corruption", tokenizers.build("byte"), bert)
    with pytest.raises(ValueError, match="next_token"):
        build_objective("next_token", tokenizer, bert)
    with pytest.raises(ValueError, match="unknown objective"):
        build_objective("nsp", tokenizer, bert)
    assert set(OBJECTIVES) == {"mlm", "kmer_mlm", "strided_mlm", "sop", "span_corruption", "next_token"}


@pytest.mark.parametrize("family", ["bert", "albert", "longformer", "longalbert"])
def test_masked_lm_scores_only_masked_positions_with_the_full_heads_loss(family):
    """The objective projects only the scored positions onto the vocabulary; loss, accuracy and perplexity equal
    those of the full [B, L, V] logits that the model's forward gives."""
    from genolm.metrics import token_metrics
    from genolm.objectives.base import token_cross_entropy

    tokenizer = tokenizers.build("kmer", k=3)
    sizes = {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 160}
    extra = {"bert": {"num_hidden_layers": 1}, "albert": {"num_hidden_layers": 1, "embedding_size": 8},
             "longformer": {"num_hidden_layers": 1, "attention_window": 16},
             "longalbert": {"num_hidden_layers": 1, "embedding_size": 8, "attention_window": 16}}[family]
    model = models.build(family, {**sizes, **extra}, tokenizer=tokenizer).eval()
    objective = build_objective("mlm", tokenizer, model)
    batch = objective.collate(random_dna(6, 120, seed=3), max_length=128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        result = objective(model, batch)
        full = model(batch["input_ids"], batch["attention_mask"]).logits
    assert result.token_logits.shape[1] == int((batch["labels"] != -100).sum())
    torch.testing.assert_close(result.loss, token_cross_entropy(full, batch["labels"]))
    scored, dense = token_metrics(tokenizer.vocab_size), token_metrics(tokenizer.vocab_size)
    scored.update(result.token_logits, result.token_labels)
    dense.update(full, batch["labels"])
    for name, value in dense.compute().items():
        torch.testing.assert_close(scored.compute()[name], value)
