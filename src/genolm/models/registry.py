"""Every model of the zoo by name; `build` one from a config, `from_pretrained` any checkpoint directory.

Model modules import Hugging Face transformers, which takes seconds; the registry names classes by import path
and loads a module only when its model is asked for. A new model family is one file with its class (a
`genolm.models.base.ZooModel` that declares its `capabilities`) and one entry here, or a `register` call.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path
from typing import Any

from genolm.errors import GenolmInputError
from genolm.models.base import CONFIG_NAME, Capabilities, read_checkpoint_config

MODELS: dict[str, str | type] = {
    "bert": "genolm.models.bert:Bert",
    "longformer": "genolm.models.longformer:Longformer",
    "albert": "genolm.models.albert:Albert",
    "longalbert": "genolm.models.longalbert:Longalbert",
    "enbed": "genolm.models.enbed:Enbed",
    "enbed-decoder": "genolm.models.enbed:EnbedDecoder",
    "hyenadna": "genolm.models.hyenadna_lm:HyenaDNALM",
    "cnn": "genolm.models.baselines:CNN",
    "bilstm": "genolm.models.baselines:BiLSTM",
    "cnn-lstm": "genolm.models.baselines:CNNLSTM",
    "kmer-logreg": "genolm.models.baselines:KmerSpectrumClassifier",
    "copy-parent": "genolm.models.baselines:CopyParent",
}


def register(model: type, name: str | None = None) -> type:
    """Register a model class under `name` (default: its own `name`), e.g. a family defined outside this
    package; returns the class, so it also serves as a class decorator."""
    name = name or model.name
    if name in MODELS and MODELS[name] is not model:
        raise ValueError(f"a model named {name!r} is already registered ({MODELS[name]})")
    if not isinstance(getattr(model, "capabilities", None), Capabilities):
        raise TypeError(f"{model.__name__} declares no capabilities (a genolm.models.base.Capabilities)")
    MODELS[name] = model
    return model


def model_class(name: str) -> Any:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    target = MODELS[name]
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def context_config(name: str, tokens: int) -> dict[str, Any]:
    """The config fields that size model `name`'s positions for inputs of `tokens` tokens."""
    return model_class(name).context_config(tokens)


def build(name: str, config: Any = None, tokenizer: Any = None) -> Any:
    """A new (randomly initialized) model: `config` is the model's config object, or a dict with an optional
    `preset` and field overrides. With a tokenizer, the fields it decides (vocabulary size, special ids) come
    from it; a config that sets one of them differently is an error rather than a silently broken model."""
    cls = model_class(name)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        values = dataclasses.asdict(config)
    else:
        values = dict(config or {})
    if tokenizer is not None:
        for key, value in cls.tokenizer_config(tokenizer).items():
            if key in values and values[key] != value:
                raise ValueError(f"{name} config sets {key}={values[key]!r} but the tokenizer gives {value!r}")
            values[key] = value
    return cls(cls.make_config(values))


def from_pretrained(directory: str | os.PathLike, *, shift: float = 0.0) -> Any:
    """Load a model directory: one genolm wrote (config.json naming the model + model.safetensors), a Hugging Face
    BERT / released DNABERT directory, or a HyenaDNA directory (released layout; `shift` as
    in `HyenaDNA.from_released`)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise GenolmInputError(directory, "not a model directory")
    if (directory / "weights.ckpt").exists():
        return model_class("hyenadna").from_released(directory, shift=shift)
    payload = read_checkpoint_config(directory)
    if "genolm_model" in payload:
        name = payload["genolm_model"]
        if name not in MODELS:
            raise GenolmInputError(directory / CONFIG_NAME, f"unknown genolm_model {name!r} (known: {', '.join(MODELS)})")
        return model_class(name).from_pretrained(directory)
    if payload.get("model_type") == "bert":
        return model_class("bert").from_hf(directory)
    if isinstance(payload.get("layer"), dict) or "max_seq_len" in payload:
        return model_class("hyenadna").from_released(directory, shift=shift)
    raise GenolmInputError(directory / CONFIG_NAME, "neither a genolm model (no 'genolm_model'), a Hugging Face BERT "
                                                   "(model_type 'bert') nor a HyenaDNA config")
