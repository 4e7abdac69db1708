"""Baselines: DeepSEA-like CNN, ELMo-like biLSTM, CNN+LSTM and the k-mer spectrum logistic regression; and
HyenaDNA through the zoo interface."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import torch

from genolm import models, tokenizers
from genolm.models.baselines import CNN, KmerSpectrumClassifier, kmer_spectrum
from genolm.models.heads import ClassificationHead, TaskModel
from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig
from genolm.models.hyenadna_lm import HyenaDNALM
from genolm.objectives import build as build_objective
from genolm.objectives.base import encode
from zoo_util import overfit, random_dna, zoo_test_setup  # noqa: F401 (zoo_test_setup: autouse fixture)


def conv_parameters(channels_in: int, channels: list[int], kernel: int) -> int:
    total = 0
    for out in channels:
        total += channels_in * out * kernel + out
        channels_in = out
    return total


def lstm_layer(inputs: int, hidden: int) -> int:
    """Four gates, each with input and recurrent weights and PyTorch's two bias vectors."""
    return 4 * (hidden * (inputs + hidden) + 2 * hidden)


def test_parameter_counts():
    # DeepSEA's convolutions over one-hot ACGT: 320, 480, 960 kernels of width 8.
    assert conv_parameters(4, [320, 480, 960], 8) == 4_927_200
    assert CNN(CNN.make_config({"preset": "deepsea", "vocab_size": 4})).num_parameters() == 4_927_200
    # ELMo-like: two directions of 2 x 256 LSTM layers over 128-d embeddings, one shared softmax.
    vocab = 12
    bilstm = vocab * 128 + 2 * (lstm_layer(128, 256) + lstm_layer(256, 256)) + 256 * vocab + vocab
    assert bilstm == 1_847_820
    assert models.build("bilstm", {"preset": "elmo-2x256", "vocab_size": vocab}).num_parameters() == bilstm
    cnn_lstm = (vocab * 64 + conv_parameters(64, [256, 256], 9) + 2 * 2 * 256  # + batch-norm scale and shift
                + 2 * lstm_layer(256, 256))
    assert models.build("cnn-lstm", {"vocab_size": vocab}).num_parameters() == cnn_lstm


def classification_batch(tokenizer, n: int = 8, length: int = 48):
    ids, mask = encode(tokenizer, random_dna(n, length, seed=11), length + 1)
    return ids, mask, torch.arange(n) % 2


@pytest.mark.parametrize("name", ["cnn", "cnn-lstm", "bilstm"])
def test_classifier_overfits_a_tiny_batch(name):
    tokenizer = tokenizers.build("character")
    small = {"cnn": {"channels": [16, 16], "dropout": [0.0, 0.0], "kernel_size": 5, "pool_size": 2},
             "cnn-lstm": {"channels": [16], "embedding_size": 8, "hidden_size": 16, "dropout": 0.0},
             "bilstm": {"embedding_size": 16, "hidden_size": 32, "dropout": 0.0}}[name]
    backbone = models.build(name, small, tokenizer=tokenizer)
    task = TaskModel(backbone, ClassificationHead(backbone.d_model, 2, pooling="mean", dropout=0.0))
    ids, mask, labels = classification_batch(tokenizer)
    first, last = overfit(task.parameters(), lambda: task.loss(task(ids, mask), labels), steps=120, lr=1e-2)
    assert last < 0.2 * first


def test_bilstm_directions_see_only_their_side():
    tokenizer = tokenizers.build("character")
    model = models.build("bilstm", {"embedding_size": 8, "hidden_size": 16, "num_layers": 2}, tokenizer=tokenizer).eval()
    ids, mask = encode(tokenizer, random_dna(2, 20, seed=1) , 21)
    mask[1, 15:] = 0
    ids[1, 15:] = tokenizer.pad_id
    changed = ids.clone()
    changed[:, 8] = tokenizer.vocab["A"] if ids[0, 8] != tokenizer.vocab["A"] else tokenizer.vocab["C"]
    with torch.no_grad():
        before, after = model(ids, mask), model(changed, mask)
    half = 16
    assert torch.equal(before.hidden[:, :8, :half], after.hidden[:, :8, :half])  # forward: tokens <= t
    assert torch.equal(before.hidden[:, 9:, half:][0], after.hidden[:, 9:, half:][0])  # backward: tokens >= t
    assert not torch.equal(before.hidden[:, 8:, :half], after.hidden[:, 8:, :half])
    with pytest.raises(ValueError, match="right padding"):
        model(ids, mask.flip(1))


def test_bilstm_overfits_both_language_model_directions():
    tokenizer = tokenizers.build("character")
    model = models.build("bilstm", {"embedding_size": 16, "hidden_size": 64, "dropout": 0.0}, tokenizer=tokenizer)
    objective = build_objective("next_token", tokenizer, model)
    batch = objective.collate(random_dna(4, 30, seed=2), max_length=31)
    result = objective(model, batch)
    assert set(result.extra) == {"forward_loss", "backward_loss"}
    first, last = overfit(model.parameters(), lambda: objective(model, batch).loss, steps=150, lr=1e-2)
    # Random bases carry log(4) = 1.39 nats each: well below that, both directions have memorized the batch.
    assert last < 0.2 * first and last < 0.5


def test_cnn_mask_follows_the_pooling():
    tokenizer = tokenizers.build("character")
    model = models.build("cnn", {"channels": [4, 4, 4], "dropout": [0, 0, 0], "pool_size": 4, "kernel_size": 5},
                         tokenizer=tokenizer)
    ids, mask = encode(tokenizer, ["ACGT" * 8, "ACGT" * 2], 33)
    out = model(ids, mask)
    assert out.hidden.shape == (2, 2, 4)  # 33 -> 8 -> 2 positions
    assert out.mask.tolist() == [[1, 1], [1, 0]]


def test_kmer_spectrum_counts_kmers_and_skips_ambiguous_ones():
    sequences = ["ACGTACGTNACGT", "AAAA", "AC", "acgt"]
    spectrum = kmer_spectrum(sequences, 3)
    index = {"".join(p): i for i, p in enumerate(itertools.product("ACGT", repeat=3))}
    for row, sequence in enumerate(sequences):
        windows = [sequence[i : i + 3].upper() for i in range(len(sequence) - 2)]
        counts = Counter(w for w in windows if set(w) <= set("ACGT"))
        expected = np.zeros(64, dtype=np.float32)
        for kmer, count in counts.items():
            expected[index[kmer]] = count / sum(counts.values())
        assert np.allclose(spectrum[row], expected)
    assert spectrum[2].sum() == 0


def test_kmer_logistic_regression_fits_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    # Class 1 is GC-rich: an easy task for a 2-mer spectrum.
    sequences = ["".join(rng.choice(list("ACGT"), 60, p=[0.4, 0.1, 0.1, 0.4] if i % 2 == 0 else [0.1, 0.4, 0.4, 0.1]))
                 for i in range(60)]
    labels = np.arange(60) % 2
    model = models.build("kmer-logreg", {"k": 2})
    model.fit(sequences[:40], labels[:40])
    assert (model.predict_proba(sequences[40:]).argmax(1) == labels[40:]).mean() > 0.9
    model.save_pretrained(tmp_path / "lr")
    loaded = models.from_pretrained(tmp_path / "lr")
    assert isinstance(loaded, KmerSpectrumClassifier) and loaded.config.k == 2
    assert np.array_equal(loaded.predict_proba(sequences), model.predict_proba(sequences))


def test_hyenadna_through_the_zoo(tmp_path):
    config = HyenaDNAConfig(d_model=64, n_layer=2, d_inner=128, filter_order=16, l_max=66, embed_dropout=0.0)
    released = HyenaDNA(config).eval()
    released.save_released(tmp_path / "released")
    wrapped = models.from_pretrained(tmp_path / "released")
    assert isinstance(wrapped, HyenaDNALM)
    tokenizer = tokenizers.build("character")
    ids, mask = encode(tokenizer, random_dna(2, 40, seed=3), 41)
    with torch.no_grad():
        assert torch.equal(wrapped(ids, mask).logits, released(ids))
    wrapped.save_pretrained(tmp_path / "zoo")
    with torch.no_grad():
        assert torch.equal(models.from_pretrained(tmp_path / "zoo")(ids, mask).logits, released(ids))
    objective = build_objective("next_token", tokenizer, wrapped)
    batch = objective.collate(random_dna(4, 40, seed=4), max_length=41)
    wrapped.train()
    first, last = overfit(wrapped.parameters(), lambda: objective(wrapped, batch).loss, steps=100, lr=3e-3)
    assert last < 0.2 * first


@pytest.mark.parametrize("name,config", [
    ("cnn", {"channels": [8, 8], "dropout": [0.1, 0.1], "kernel_size": 5}),
    ("bilstm", {"embedding_size": 8, "hidden_size": 8}),
    ("cnn-lstm", {"channels": [8], "embedding_size": 8, "hidden_size": 8}),
])
def test_save_and_load_round_trip(tmp_path, name, config):
    tokenizer = tokenizers.build("character")
    model = models.build(name, config, tokenizer=tokenizer).eval()
    model.save_pretrained(tmp_path / name)
    loaded = models.from_pretrained(tmp_path / name)
    assert type(loaded) is type(model) and loaded.config == model.config
    ids, mask = encode(tokenizer, random_dna(2, 30, seed=5), 31)
    with torch.no_grad():
        assert torch.equal(model(ids, mask).hidden, loaded(ids, mask).hidden)
