"""What every model of the zoo shares: a dataclass config, one output type, layer groups, a checkpoint layout.

A zoo model is an `nn.Module` whose `forward(input_ids, attention_mask, ...)` returns a `ModelOutput`: the last
hidden states (what heads pool), the mask that goes with them (a CNN downsamples, so it is not always the input
mask) and, when the model has a language-model head, its logits.

Each model class declares what it offers in `capabilities` (a `Capabilities`); objectives, heads, specs and the
inference tools ask for a capability, never for a model's name. Its `language_model` is one of:

    masked   bidirectional encoder with a masked-LM head, `lm_logits(hidden)` (BERT, Longformer, ALBERT, Longalbert)
    causal   logits at t predict token t+1 (HyenaDNA, the ENBED decoder-only variant)
    bilm     a forward and a backward causal LM side by side (the ELMo-like biLSTM)
    seq2seq  encoder-decoder; logits are the decoder's (ENBED)
    None     no language-model head: a classification backbone (the CNN baselines)

A model sizes its positions from a context in tokens (`context_config`) and says how many tokens it reads
(`context_tokens`); the tokenizer turns bases into tokens (genolm.tokenizers.base.Tokenizer.tokens_for_bases),
so a study speaks in bases and restates neither.

Checkpoint directory (`save_pretrained`): `config.json` = {"genolm_model": <registry name>, "format_version": 1,
"config": {...dataclass fields...}} and `model.safetensors` (the module's state; tied weights stored once).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from genolm.atomic import atomic_directory, atomic_file
from genolm.errors import GenolmInputError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1


LANGUAGE_MODELS = ("masked", "causal", "bilm", "seq2seq")
TRAINING = ("gradient", "fit", "none")


@dataclass(frozen=True)
class Capabilities:
    """What a model offers, declared once per model class (`capabilities`).

    language_model    the kind of language-model logits it has (LANGUAGE_MODELS), None for a classification
                      backbone: what pretraining objectives and variant scorers need
    pooled_embedding  `ModelOutput.hidden` + `mask` that a head pools (classification, embeddings)
    generation        it writes sequences: `next_token_logits` for beam search, or `generate(sequences)`
    downsamples       `hidden` is shorter than the input (pooling convolutions): no per-token head
    training          "gradient" (trained through Lightning in batches of token ids), "fit" (fitted whole on the
                      sequences, `fit` / `predict_proba`), "none" (nothing to train; reads the sequences)
    """

    language_model: str | None = None
    pooled_embedding: bool = True
    generation: bool = False
    downsamples: bool = False
    training: str = "gradient"

    def __post_init__(self) -> None:
        if self.language_model is not None and self.language_model not in LANGUAGE_MODELS:
            raise ValueError(f"language_model {self.language_model!r} is not one of {', '.join(LANGUAGE_MODELS)}")
        if self.training not in TRAINING:
            raise ValueError(f"training {self.training!r} is not one of {', '.join(TRAINING)}")

    @property
    def reads_tokens(self) -> bool:
        """Whether it reads token ids (and so its vocabulary must cover the tokenizer's)."""
        return self.training == "gradient"


def require_capability(model: Any, needed: str, what: str) -> None:
    """Raise ValueError, naming `what` asked and the model, unless the model's capabilities satisfy `needed`:
    a language-model kind (LANGUAGE_MODELS), or a flag of Capabilities ("generation", "pooled_embedding")."""
    offered = model.capabilities
    if needed in LANGUAGE_MODELS:
        if offered.language_model != needed:
            has = (f"{offered.language_model} language-model logits" if offered.language_model
                   else "no language-model head")
            raise ValueError(f"{what} needs a model with {needed} language-model logits; {model.name!r} has {has}")
        return
    if not getattr(offered, needed):
        raise ValueError(f"{what} needs a model that offers {needed.replace('_', ' ')}; {model.name!r} does not")


@dataclass
class ModelOutput:
    hidden: Tensor  # [B, L', D] last hidden states (the encoder's for seq2seq models)
    mask: Tensor  # [B, L'] 1 where `hidden` holds a real position
    logits: Tensor | None = None  # [B, L, V] language-model logits (decoder logits for seq2seq)
    backward_logits: Tensor | None = None  # bilm: logits at t predict token t-1
    loss: Tensor | None = None  # seq2seq: the decoder's cross-entropy when labels were given


def write_model_files(directory: str | os.PathLike, writers: dict[str, Callable[[Path], object]]) -> Path:
    """Write each named file of a model directory with its writer (given a temporary path), all or none.

    A new directory appears whole. In an existing one, what else lives there (a tokenizer, a head) is kept and
    only the named files are replaced: all of them are written before any is renamed into place, and the first
    named (the config) is renamed last.
    """
    directory = Path(directory)
    if not directory.exists():
        with atomic_directory(directory) as tmp:
            for name, write in writers.items():
                write(tmp / name)
        return directory
    with ExitStack() as stack:  # exits last-in first-out: the first file is renamed last
        temps = {name: stack.enter_context(atomic_file(directory / name)) for name in writers}
        for name, write in writers.items():
            write(temps[name])
    return directory


class DeclaresCapabilities:
    """What every registered model class has, a zoo model or not (the scikit-learn and copy baselines): its
    registry name, config class, presets, declared capabilities and context arithmetic."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    capabilities: ClassVar[Capabilities]
    presets: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def context_config(cls, tokens: int) -> dict[str, Any]:
        """The config fields that size the model's positions for inputs of `tokens` tokens (special tokens
        included); none for a model whose positions are relative or that has none."""
        return {}

    @property
    def context_tokens(self) -> int | None:
        """The most tokens one input may hold; None when the positions set no bound."""
        return None


class LearntPositions:
    """For a model with learnt absolute positions, one per token (`config.max_position_embeddings`): BERT,
    ALBERT, Longformer, Longalbert."""

    @classmethod
    def context_config(cls, tokens: int) -> dict[str, Any]:
        return {"max_position_embeddings": tokens}

    @property
    def context_tokens(self) -> int:
        return self.config.max_position_embeddings


class ZooModel(DeclaresCapabilities, nn.Module):
    """Base class; subclasses set the class attributes and implement `forward` and `layer_groups`."""

    def __init__(self, config: Any):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config

    @property
    def d_model(self) -> int:
        """Width of `ModelOutput.hidden`."""
        raise NotImplementedError

    @property
    def output_vocab_size(self) -> int:
        """Width of the language-model logits."""
        return self.config.vocab_size

    def layer_groups(self) -> list[nn.Module]:
        """The backbone's parameter groups from the input up (embeddings first), for gradual unfreezing."""
        raise NotImplementedError

    @classmethod
    def tokenizer_config(cls, tokenizer: Any) -> dict[str, Any]:
        """Config fields the tokenizer decides (vocabulary size and special ids)."""
        return {"vocab_size": tokenizer.vocab_size, "pad_token_id": tokenizer.pad_id}

    @classmethod
    def make_config(cls, values: dict[str, Any] | None = None) -> Any:
        return build_config(cls, values)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write config.json + model.safetensors into `directory` (created or replaced atomically)."""
        from safetensors.torch import save_model

        payload = {"genolm_model": self.name, "format_version": FORMAT_VERSION,
                   "config": dataclasses.asdict(self.config)}
        return write_model_files(directory, {
            CONFIG_NAME: lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n"),
            WEIGHTS_NAME: lambda tmp: save_model(self, str(tmp)),
        })

    def export_hf(self, directory: str | os.PathLike) -> Path:
        """Write a Hugging Face directory (config.json + model.safetensors) that transformers' Auto classes load
        without genolm and that gives this model's logits; families without a Hugging Face equivalent refuse."""
        raise ValueError(f"a {self.name!r} model has no Hugging Face equivalent to export to")

    @classmethod
    def from_config_dict(cls, config: dict[str, Any], source: str | os.PathLike = "config") -> ZooModel:
        try:
            return cls(cls.make_config(config))
        except (TypeError, ValueError) as error:
            raise GenolmInputError(source, f"bad {cls.name} config: {error}") from None

    @classmethod
    def load_weights_into(cls, model: ZooModel, directory: Path) -> ZooModel:
        from safetensors import SafetensorError
        from safetensors.torch import load_model

        weights = directory / WEIGHTS_NAME
        if not weights.exists():
            raise GenolmInputError(directory, f"no {WEIGHTS_NAME} in the checkpoint directory")
        try:
            missing, unexpected = load_model(model, str(weights), strict=False)
        except (SafetensorError, RuntimeError, OSError) as error:
            raise GenolmInputError(weights, f"cannot load weights: {error}") from None
        if missing or unexpected:
            raise GenolmInputError(weights, f"weights do not fit the {cls.name} config: missing {sorted(missing)[:10]}, "
                                            f"unexpected {sorted(unexpected)[:10]}")
        return model

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> ZooModel:
        directory = Path(directory)
        payload = read_checkpoint_config(directory)
        if payload.get("genolm_model") != cls.name:
            raise GenolmInputError(directory / CONFIG_NAME, f"holds a {payload.get('genolm_model')!r} model, not {cls.name!r}")
        model = cls.from_config_dict(payload.get("config", {}), directory / CONFIG_NAME)
        return cls.load_weights_into(model, directory).eval()


def save_hf_directory(hf_model: nn.Module, directory: str | os.PathLike) -> Path:
    """A transformers model's own save_pretrained into a directory that appears whole or not at all."""
    with atomic_directory(directory) as tmp:
        hf_model.save_pretrained(tmp)
    return Path(directory)


def build_config(model_class: Any, values: dict[str, Any] | None = None) -> Any:
    """A model class's config from a dict: an optional `preset` name, then field overrides (unknown fields are an
    error, so a misspelt key is not silently ignored)."""
    values = dict(values or {})
    name = model_class.name
    preset = values.pop("preset", None)
    base: dict[str, Any] = {}
    if preset is not None:
        if preset not in model_class.presets:
            raise ValueError(f"unknown {name} preset {preset!r} (known: {', '.join(sorted(model_class.presets))})")
        base = dict(model_class.presets[preset])
    fields = {f.name for f in dataclasses.fields(model_class.config_class)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"unknown {name} config field(s) {', '.join(unknown)} (known: {', '.join(sorted(fields))})")
    return model_class.config_class(**{**base, **values})


def read_checkpoint_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_NAME
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise GenolmInputError(directory, f"not a model directory: no {CONFIG_NAME}") from None
    except (OSError, ValueError) as error:
        raise GenolmInputError(path, f"cannot read: {error}") from None
    if not isinstance(payload, dict):
        raise GenolmInputError(path, "expected a JSON object")
    if "genolm_model" in payload and payload.get("format_version") != FORMAT_VERSION:
        raise GenolmInputError(path, f"format_version {payload.get('format_version')!r}, this genolm reads {FORMAT_VERSION}")
    return payload


def end_of_sequence_id(tokenizer: Any) -> int:
    """The id that ends a sequence: the byte tokenizer's </s>, else [SEP]."""
    end = getattr(tokenizer, "eos_id", None)
    end = tokenizer.sep_id if end is None else end
    if end is None:
        raise ValueError(f"{type(tokenizer).__name__} has neither an end-of-sequence nor a [SEP] id")
    return end


def padding_mask(input_ids: Tensor, attention_mask: Tensor | None) -> Tensor:
    return torch.ones_like(input_ids) if attention_mask is None else attention_mask
