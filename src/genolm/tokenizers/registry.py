"""Tokenizers by name, and loading any tokenizer directory without knowing its class beforehand."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from genolm.errors import GenolmInputError
from genolm.tokenizers.base import CONFIG_NAME, Tokenizer, read_json
from genolm.tokenizers.bpe import KmerBPETokenizer
from genolm.tokenizers.kmer import KmerTokenizer

# Importing the modules above defined every tokenizer class, and each registered itself under its name.
TOKENIZERS: dict[str, type[Tokenizer]] = Tokenizer.registry


def build(name: str, **kwargs: Any) -> Tokenizer:
    """The tokenizer registered as name, constructed with kwargs (e.g. build("kmer", k=6, stride=3))."""
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}; known: {', '.join(sorted(TOKENIZERS))}")
    if TOKENIZERS[name] is KmerBPETokenizer:
        raise ValueError("a kmer_bpe tokenizer is learnt from a corpus: use KmerBPETokenizer.train(...) or "
                         "from_pretrained(directory)")
    return TOKENIZERS[name](**kwargs)


def tokens_for_bases(spec: dict[str, Any], bases: int) -> int:
    """Tokens, framing included, of an input of `bases` bases under the tokenizer a train spec names
    ({name, ...its arguments} or {pretrained: directory}): what a study sizes a model's context with. A kmer_bpe
    vocabulary is learnt later, from the train split: its bound, one token per base at most, framed."""
    if "pretrained" in spec:
        return from_pretrained(spec["pretrained"]).tokens_for_bases(bases)
    if TOKENIZERS.get(spec["name"]) is KmerBPETokenizer:
        return max(bases, 0) + 2  # [CLS] and [SEP] (ClsSepFraming)
    return _built(json.dumps(spec, sort_keys=True)).tokens_for_bases(bases)


@lru_cache(maxsize=32)
def _built(spec_json: str) -> Tokenizer:
    spec = json.loads(spec_json)
    return build(spec.pop("name"), **spec)


def from_pretrained(directory: str | os.PathLike) -> Tokenizer:
    """Load a directory written by any genolm tokenizer's save_pretrained (its tokenizer_config.json names the
    class), or a DNABERT checkpoint directory (vocab.txt or a WordPiece tokenizer.json; k from the token length)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise GenolmInputError(directory, "tokenizer directory does not exist")
    config = directory / CONFIG_NAME
    if config.is_file():
        payload = read_json(config)
        cls = Tokenizer.class_named(payload.get("tokenizer_class") if isinstance(payload, dict) else None)
        if cls is not None:
            return cls.from_pretrained(directory)
    # Not genolm's: a Hugging Face / DNABERT checkpoint, whose own tokenizer_config.json (if any) names
    # BertTokenizer or DNATokenizer. KmerTokenizer says what is missing if it is not one either.
    return KmerTokenizer.from_pretrained(directory)
