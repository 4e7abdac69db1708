"""Cheap baselines a reviewer asks for: a DeepSEA-like CNN, an ELMo-like biLSTM, a CNN+LSTM and a k-mer
spectrum with logistic regression.

The three networks take token ids from any tokenizer (one token per base is the natural choice) and return hidden
states like every zoo model, so the same heads, init modes and training entry point apply. Padding must be on the
right (the zoo's convention): the recurrent models pack sequences by length.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from genolm.errors import GenolmInputError
from genolm.models.base import (CONFIG_NAME, FORMAT_VERSION, WEIGHTS_NAME, Capabilities, DeclaresCapabilities,
                                ModelOutput, ZooModel, build_config, padding_mask, read_checkpoint_config,
                                write_model_files)


def _lengths(mask: Tensor) -> Tensor:
    lengths = mask.sum(dim=1)
    positions = torch.arange(mask.shape[1], device=mask.device)
    if bool(((positions < lengths[:, None]).long() != mask.long()).any()):
        raise ValueError("recurrent baselines need right padding (the real tokens first in every row)")
    return lengths.clamp(min=1)


def _run_lstm(lstm: nn.LSTM, x: Tensor, lengths: Tensor) -> Tensor:
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def _reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first `length` positions (the padding stays at the end)."""
    positions = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
    index = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
    return x.gather(1, index.unsqueeze(-1).expand_as(x)) if x.dim() == 3 else x.gather(1, index)


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class CNNConfig:
    vocab_size: int = 12
    channels: list[int] = field(default_factory=lambda: [320, 480, 960])
    kernel_size: int = 8
    pool_size: int = 4
    dropout: list[float] = field(default_factory=lambda: [0.2, 0.2, 0.5])
    pad_token_id: int = 4

    def __post_init__(self) -> None:
        self.channels, self.dropout = list(self.channels), list(self.dropout)
        if len(self.channels) != len(self.dropout) or not self.channels:
            raise ValueError("channels and dropout need one value per convolution")


class CNN(ZooModel):
    """DeepSEA-like (Zhou & Troyanskaya 2015): convolution -> ReLU -> max-pool (not after the last) -> dropout.

    Input is the one-hot encoding of the token ids (padding all zeros). Unlike DeepSEA's 'valid' convolutions the
    convolutions keep the length ('same' padding) so any input length works; the head pools the feature map
    instead of flattening it, so the model does not fix the input length either.
    """

    name = "cnn"
    config_class = CNNConfig
    capabilities = Capabilities(downsamples=True)
    presets = {"deepsea": {}}

    def __init__(self, config: CNNConfig):
        super().__init__(config)
        blocks = []
        channels_in = config.vocab_size
        for index, (channels, dropout) in enumerate(zip(config.channels, config.dropout)):
            last = index == len(config.channels) - 1
            blocks.append(nn.Sequential(
                nn.Conv1d(channels_in, channels, config.kernel_size, padding="same"),
                nn.ReLU(),
                nn.Identity() if last else nn.MaxPool1d(config.pool_size),
                nn.Dropout(dropout),
            ))
            channels_in = channels
        self.blocks = nn.ModuleList(blocks)

    @property
    def d_model(self) -> int:
        return self.config.channels[-1]

    def layer_groups(self) -> list[nn.Module]:
        return list(self.blocks)

    def features(self, input_ids: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """[B, C, L'] feature map and its [B, L'] mask (a pooled position is real if any input under it is)."""
        x = F.one_hot(input_ids, self.config.vocab_size).to(self.blocks[0][0].weight.dtype)
        x = (x * mask.unsqueeze(-1)).transpose(1, 2)
        m = mask.to(x.dtype).unsqueeze(1)
        for block in self.blocks:
            x = block(x)
            if isinstance(block[2], nn.MaxPool1d):
                m = F.max_pool1d(m, self.config.pool_size)
        return x, m.squeeze(1).long()

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, with_logits: bool = True) -> ModelOutput:
        x, mask = self.features(input_ids, padding_mask(input_ids, attention_mask))
        return ModelOutput(hidden=x.transpose(1, 2), mask=mask)


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class BiLSTMConfig:
    vocab_size: int = 12
    embedding_size: int = 128
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    pad_token_id: int = 4


class BiLSTM(ZooModel):
    """ELMo-like (Peters et al. 2018): a forward and a backward LSTM language model over shared token embeddings
    and a shared softmax; the representation of a token is both directions' top states side by side.

    The two directions are separate stacks (not one bidirectional nn.LSTM) so that neither sees the token it
    predicts: the forward stack predicts token t+1 from tokens <= t, the backward one token t-1 from tokens >= t.
    """

    name = "bilstm"
    config_class = BiLSTMConfig
    capabilities = Capabilities(language_model="bilm")
    presets = {"elmo-2x256": {}}

    def __init__(self, config: BiLSTMConfig):
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=config.pad_token_id)
        kwargs = dict(input_size=config.embedding_size, hidden_size=config.hidden_size, num_layers=config.num_layers,
                      batch_first=True, dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.forward_lstm = nn.LSTM(**kwargs)
        self.backward_lstm = nn.LSTM(**kwargs)
        self.dropout = nn.Dropout(config.dropout)
        self.softmax = nn.Linear(config.hidden_size, config.vocab_size)

    @property
    def d_model(self) -> int:
        return 2 * self.config.hidden_size

    def layer_groups(self) -> list[nn.Module]:
        return [self.embedding, nn.ModuleList([self.forward_lstm, self.backward_lstm])]

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, with_logits: bool = True) -> ModelOutput:
        mask = padding_mask(input_ids, attention_mask)
        lengths = _lengths(mask)
        x = self.dropout(self.embedding(input_ids))
        forward_states = _run_lstm(self.forward_lstm, x, lengths)
        backward_states = _reverse_within_length(_run_lstm(self.backward_lstm, _reverse_within_length(x, lengths), lengths),
                                                 lengths)
        hidden = torch.cat([forward_states, backward_states], dim=-1)
        if not with_logits:
            return ModelOutput(hidden=hidden, mask=mask)
        return ModelOutput(hidden=hidden, mask=mask, logits=self.softmax(self.dropout(forward_states)),
                           backward_logits=self.softmax(self.dropout(backward_states)))


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class CNNLSTMConfig:
    vocab_size: int = 12
    embedding_size: int = 64
    channels: list[int] = field(default_factory=lambda: [256, 256])
    kernel_size: int = 9
    pool_size: int = 3
    hidden_size: int = 256
    dropout: float = 0.2
    pad_token_id: int = 4

    def __post_init__(self) -> None:
        self.channels = list(self.channels)


class CNNLSTM(ZooModel):
    """In the spirit of self-GenomeNet (Gündüz et al. 2023): convolutions over learned token embeddings, each
    followed by max-pooling, then a bidirectional LSTM over the pooled positions."""

    name = "cnn-lstm"
    config_class = CNNLSTMConfig
    capabilities = Capabilities(downsamples=True)
    presets = {"genomenet-like": {}}

    def __init__(self, config: CNNLSTMConfig):
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=config.pad_token_id)
        convs, channels_in = [], config.embedding_size
        for channels in config.channels:
            convs.append(nn.Sequential(nn.Conv1d(channels_in, channels, config.kernel_size, padding="same"),
                                       nn.BatchNorm1d(channels), nn.ReLU(), nn.MaxPool1d(config.pool_size)))
            channels_in = channels
        self.convs = nn.ModuleList(convs)
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(channels_in, config.hidden_size, batch_first=True, bidirectional=True)

    @property
    def d_model(self) -> int:
        return 2 * self.config.hidden_size

    def layer_groups(self) -> list[nn.Module]:
        return [self.embedding, *self.convs, self.lstm]

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None, with_logits: bool = True) -> ModelOutput:
        mask = padding_mask(input_ids, attention_mask)
        x = (self.embedding(input_ids) * mask.unsqueeze(-1)).transpose(1, 2)
        m = mask.to(x.dtype).unsqueeze(1)
        for conv in self.convs:
            x = conv(x)
            m = F.max_pool1d(m, self.config.pool_size)
        pooled_mask = m.squeeze(1).long()
        hidden = _run_lstm(self.lstm, self.dropout(x.transpose(1, 2)), _lengths(pooled_mask))
        return ModelOutput(hidden=hidden, mask=pooled_mask)


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class KmerSpectrumConfig:
    k: int = 6
    C: float = 1.0  # inverse regularization strength
    max_iter: int = 1000
    class_weight: str | None = None  # "balanced" weighs classes by inverse frequency


_BASE_CODES = np.full(256, 4, dtype=np.int64)
for _code, _base in enumerate("ACGT"):
    _BASE_CODES[ord(_base)] = _BASE_CODES[ord(_base.lower())] = _code


def kmer_spectrum(sequences: list[str], k: int) -> np.ndarray:
    """[N, 4^k] k-mer frequencies (k-mers with a base other than ACGT are skipped; rows sum to 1 or 0)."""
    out = np.zeros((len(sequences), 4**k), dtype=np.float32)
    weights = 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        codes = _BASE_CODES[np.frombuffer(sequence.encode("ascii", errors="replace"), dtype=np.uint8)]
        if len(codes) < k:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(codes, k)
        valid = (windows < 4).all(axis=1)
        counts = np.bincount(windows[valid] @ weights, minlength=4**k)
        total = counts.sum()
        if total:
            out[row] = counts / total
    return out


class KmerSpectrumClassifier(DeclaresCapabilities):
    """k-mer spectrum + scikit-learn logistic regression. Saved like a zoo model: config.json and the fitted
    coefficients in model.safetensors, so `genolm.models.from_pretrained` loads it too."""

    name = "kmer-logreg"
    config_class = KmerSpectrumConfig
    capabilities = Capabilities(pooled_embedding=False, training="fit")
    presets = {"kmer6-logreg": {}}

    def __init__(self, config: KmerSpectrumConfig):
        from sklearn.linear_model import LogisticRegression

        self.config = config
        self.estimator = LogisticRegression(C=config.C, max_iter=config.max_iter, class_weight=config.class_weight)

    @classmethod
    def make_config(cls, values: dict | None = None) -> KmerSpectrumConfig:
        return build_config(cls, values)

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        return {}  # it reads the sequences themselves, not token ids

    def fit(self, sequences: list[str], labels) -> KmerSpectrumClassifier:
        self.estimator.fit(kmer_spectrum(sequences, self.config.k), np.asarray(labels))
        return self

    def predict_proba(self, sequences: list[str]) -> np.ndarray:
        return self.estimator.predict_proba(kmer_spectrum(sequences, self.config.k))

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        from safetensors.numpy import save_file

        payload = {"genolm_model": self.name, "format_version": FORMAT_VERSION, "config": dataclasses.asdict(self.config)}
        est = self.estimator
        weights = {"coef": est.coef_, "intercept": est.intercept_, "classes": est.classes_.astype(np.int64)}
        return write_model_files(directory, {
            CONFIG_NAME: lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n"),
            WEIGHTS_NAME: lambda tmp: save_file(weights, str(tmp)),
        })

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> KmerSpectrumClassifier:
        from safetensors.numpy import load_file

        directory = Path(directory)
        payload = read_checkpoint_config(directory)
        try:
            model = cls(cls.make_config(payload.get("config", {})))
            arrays = load_file(str(directory / WEIGHTS_NAME))
        except (TypeError, ValueError, OSError) as error:
            raise GenolmInputError(directory, f"cannot load the k-mer logistic regression: {error}") from None
        # A fitted LogisticRegression is its coefficients, intercepts and class list.
        est = model.estimator
        est.coef_, est.intercept_, est.classes_ = arrays["coef"], arrays["intercept"], arrays["classes"]
        est.n_features_in_ = est.coef_.shape[1]
        if est.n_features_in_ != 4**model.config.k:
            raise GenolmInputError(directory, f"{est.n_features_in_} coefficients per class, expected 4^{model.config.k}")
        return model


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class CopyParentConfig:
    pass


class CopyParent(DeclaresCapabilities):
    """Copy-the-parent: the prediction for a sequence-to-sequence pair is its input, unchanged. It is the floor of
    mutation generation (a model that learnt nothing but copying scores this), which every generation metric is
    read against: its exact match is the share of unchanged children, its edit distance the number of mutations.
    Nothing is fitted; it is saved like a zoo model (config.json) so a run directory looks like any other."""

    name = "copy-parent"
    config_class = CopyParentConfig
    capabilities = Capabilities(pooled_embedding=False, generation=True, training="none")
    presets = {"copy-parent": {}}

    def __init__(self, config: CopyParentConfig):
        self.config = config

    @classmethod
    def make_config(cls, values: dict | None = None) -> CopyParentConfig:
        return build_config(cls, values)

    @classmethod
    def tokenizer_config(cls, tokenizer) -> dict:
        return {}  # it reads the sequences themselves

    def generate(self, sequences: list[str]) -> list[list[str]]:
        """One candidate per sequence: the sequence itself."""
        return [[sequence] for sequence in sequences]

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        payload = {"genolm_model": self.name, "format_version": FORMAT_VERSION, "config": {}}
        return write_model_files(directory, {CONFIG_NAME: lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n")})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> CopyParent:
        read_checkpoint_config(Path(directory))
        return cls(CopyParentConfig())
