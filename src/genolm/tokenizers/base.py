"""The interface every genolm tokenizer implements, and the vectorized batching they share.

A tokenizer turns each sequence into a "body" of ids; `encode` frames the body with the tokenizer's special
prefix/suffix ids ([CLS] ... [SEP], or ... [SEP], or ... </s>). Subclasses encode a whole batch at once into a
ragged (flat ids, lengths) pair, so the per-base work is numpy over the concatenated batch and padding is a
single scatter: no Python loop runs per base, nor per sequence beyond joining the strings.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from genolm.atomic import atomic_file
from genolm.errors import GenolmInputError

CONFIG_NAME = "tokenizer_config.json"


class Tokenizer(ABC):
    """Common interface. Ids that a tokenizer does not have (e.g. no [SEP] for byte-level models) are None."""

    name: ClassVar[str]
    default_padding_side: ClassVar[str] = "right"
    # Every concrete tokenizer, by its registry name; filled as the classes are defined.
    registry: ClassVar[dict[str, type[Tokenizer]]] = {}

    pad_id: int
    unk_id: int | None = None
    cls_id: int | None = None
    sep_id: int | None = None
    mask_id: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            Tokenizer.registry[cls.name] = cls

    @classmethod
    def class_named(cls, class_name: object) -> type[Tokenizer] | None:
        """The genolm tokenizer class whose __name__ is class_name (as written in tokenizer_config.json)."""
        return next((c for c in Tokenizer.registry.values() if c.__name__ == class_name), None)

    # ---- what a subclass provides -------------------------------------------------------------------------
    @property
    @abstractmethod
    def vocab(self) -> dict[str, int]:
        """token string -> id (a copy)."""

    @property
    @abstractmethod
    def special_ids(self) -> tuple[int, ...]:
        """Sorted ids of every special token (padding, framing, unknown, mask, sentinels)."""

    @property
    def prefix_ids(self) -> tuple[int, ...]:
        """Ids put before the body when add_special_tokens."""
        return ()

    @property
    def suffix_ids(self) -> tuple[int, ...]:
        """Ids put after the body when add_special_tokens."""
        return ()

    @abstractmethod
    def encode_ragged(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Bodies of all sequences without special tokens: (flat int64 ids, int64 length of each body)."""

    @abstractmethod
    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write the tokenizer into directory; returns the path of its tokenizer_config.json."""

    @classmethod
    @abstractmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> Tokenizer:
        """Load a tokenizer that save_pretrained wrote."""

    # ---- bases and tokens: the one place a context in bases becomes tokens -----------------------------------
    def body_tokens(self, bases: int) -> int:
        """Tokens of the body (framing left out) of a sequence of `bases` bases: one per base here, which is
        also the most a tokenizer whose tokens cover one base or more (BPE, non-overlapping k-mers) gives."""
        return max(bases, 0)

    def body_bases(self, tokens: int) -> int:
        """The longest sequence, in bases, whose body fits in `tokens` tokens: the inverse of body_tokens, and
        for a tokenizer whose tokens cover one base or more the bound that always fits."""
        return max(tokens, 0)

    def tokens_for_bases(self, bases: int) -> int:
        """Tokens of an input of `bases` bases with its framing (special tokens): what a model's context holds."""
        return self.body_tokens(bases) + len(self.prefix_ids) + len(self.suffix_ids)

    def bases_for_tokens(self, tokens: int) -> int:
        """The longest input, in bases, that fits a context of `tokens` tokens with its framing."""
        return self.body_bases(tokens - len(self.prefix_ids) - len(self.suffix_ids))

    # ---- shared behaviour ---------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self._id_to_token)

    @cached_property
    def _id_to_token(self) -> np.ndarray:
        """object array: id -> token string."""
        vocab = self.vocab
        table = np.empty(len(vocab), dtype=object)
        for token, i in vocab.items():
            table[i] = token
        return table

    @cached_property
    def _is_special(self) -> np.ndarray:
        table = np.zeros(self.vocab_size, dtype=bool)
        table[list(self.special_ids)] = True
        return table

    def encode(self, sequence: str, add_special_tokens: bool = True) -> np.ndarray:
        """int64 ids of one sequence, framed by the special tokens when add_special_tokens."""
        body, _ = self.encode_ragged([sequence])
        if not add_special_tokens:
            return body
        return np.concatenate([np.asarray(self.prefix_ids, dtype=np.int64), body,
                               np.asarray(self.suffix_ids, dtype=np.int64)])

    def encode_batch(self, sequences: Sequence[str], max_length: int | None = None, add_special_tokens: bool = True,
                     padding_side: str | None = None, truncation: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask), both int64 [B, T], padded with pad_id to T = max_length or the longest.

        padding_side None means the tokenizer's default ("right" for every tokenizer, character included).
        Truncation keeps the start of each body and still frames it with the special tokens.
        """
        flat, lengths = self.encode_ragged(list(sequences))
        prefix, suffix = (self.prefix_ids, self.suffix_ids) if add_special_tokens else ((), ())
        return pad_ragged(flat, lengths, prefix, suffix, self.pad_id, max_length=max_length,
                          padding_side=padding_side or self.default_padding_side, truncation=truncation)

    def convert_ids_to_tokens(self, ids: Iterable[int] | np.ndarray) -> list[str]:
        return self._id_to_token[self._check_ids(ids)].tolist()

    def tokens(self, sequence: str) -> list[str]:
        """Token strings of the sequence's body (no special tokens added)."""
        return self.convert_ids_to_tokens(self.encode(sequence, add_special_tokens=False))

    def decode(self, ids: Iterable[int] | np.ndarray, skip_special_tokens: bool = False) -> str:
        """Token strings joined without separator; special tokens appear by name unless skipped."""
        arr = self._check_ids(ids)
        if skip_special_tokens:
            arr = arr[~self._is_special[arr]]
        return "".join(self._id_to_token[arr])

    def _check_ids(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        # Arrays, tensors and lists convert directly; a generator has no length and is drawn first.
        arr = np.asarray(ids if hasattr(ids, "__len__") else list(ids), dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size}), got {arr.min()}..{arr.max()}")
        return arr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class ClsFraming:
    """[CLS] body framing, with the special ids a tokenizer found in its vocabulary (`_special_ids`)."""

    _special_ids: tuple[int, ...]
    cls_id: int

    @property
    def special_ids(self) -> tuple[int, ...]:
        return self._special_ids

    @property
    def prefix_ids(self) -> tuple[int, ...]:
        return (self.cls_id,)


class ClsSepFraming(ClsFraming):
    """[CLS] body [SEP] framing (DNABERT k-mers, k-mer BPE)."""

    sep_id: int

    @property
    def suffix_ids(self) -> tuple[int, ...]:
        return (self.sep_id,)


def pad_ragged(flat: np.ndarray, lengths: np.ndarray, prefix: Sequence[int], suffix: Sequence[int], pad_id: int, *,
               max_length: int | None, padding_side: str, truncation: bool) -> tuple[np.ndarray, np.ndarray]:
    """Frame, truncate and pad ragged bodies into (ids, attention_mask) with one scatter."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    n_prefix, n_special = len(prefix), len(prefix) + len(suffix)
    if max_length is not None and max_length < n_special:
        raise ValueError(f"max_length {max_length} leaves no room for the special tokens")
    lengths = np.asarray(lengths, dtype=np.int64)
    n_rows = len(lengths)
    longest = int(lengths.max()) + n_special if n_rows else 0
    width = longest if max_length is None else max_length
    if longest > width and not truncation:
        raise ValueError(f"a sequence of {longest} tokens exceeds max_length {width} and truncation is off")

    keep = np.minimum(lengths, width - n_special)
    total = keep + n_special
    start = width - total if padding_side == "left" else np.zeros(n_rows, dtype=np.int64)
    body_start = start + n_prefix
    row_origin = np.arange(n_rows, dtype=np.int64) * width

    ids = np.full((n_rows, width), pad_id, dtype=np.int64)
    flat_ids = ids.reshape(-1)
    # Destination of each body id in the flattened output: its row's body start plus its index in the body.
    offsets = np.cumsum(lengths) - lengths
    destination = np.arange(flat.size, dtype=np.int64) + np.repeat(row_origin + body_start - offsets, lengths)
    if (keep < lengths).any():
        kept = destination < np.repeat(row_origin + body_start + keep, lengths)
        destination, flat = destination[kept], flat[kept]
    flat_ids[destination] = flat
    for offset, token in enumerate(prefix):
        flat_ids[row_origin + start + offset] = token
    for offset, token in enumerate(suffix):
        flat_ids[row_origin + body_start + keep + offset] = token
    columns = np.arange(width)
    mask = ((columns >= start[:, None]) & (columns < (start + total)[:, None])).astype(np.int64)
    return ids, mask


def ascii_codes(sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Bytes of the concatenated sequences, one per character (non-ASCII -> '?'), and each sequence's length."""
    joined = "".join(sequences)
    raw = np.frombuffer(joined.encode("ascii", errors="replace"), dtype=np.uint8)
    return raw, np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))


def write_atomic(path: Path, write: Callable[[str], Any]) -> None:
    """Call write(tmp_path) then rename onto path, so a reader never sees a half-written file."""
    with atomic_file(path) as tmp:
        write(str(tmp))


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(text))


def write_config(directory: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write tokenizer_config.json last, so its presence means the other files of the directory are complete."""
    target = Path(directory) / CONFIG_NAME
    write_text_atomic(target, json.dumps(payload, indent=2) + "\n")
    return target


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise GenolmInputError(path, f"cannot read tokenizer file: {e}") from e


def read_config(directory: str | os.PathLike, expected_class: str) -> dict[str, Any]:
    """tokenizer_config.json of directory, checked to name expected_class."""
    path = Path(directory) / CONFIG_NAME
    payload = read_json(path)
    found = payload.get("tokenizer_class") if isinstance(payload, dict) else None
    if found != expected_class:
        raise GenolmInputError(path, f"tokenizer_class is {found!r}, expected {expected_class!r}")
    return payload


def read_vocab_txt(path: Path) -> dict[str, int]:
    """A BERT-style vocab.txt: one token per line, id = line number (the order is whatever the file says)."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise GenolmInputError(path, f"cannot read vocabulary: {e}") from e
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    vocab: dict[str, int] = {}
    for number, raw in enumerate(lines):
        token = raw.rstrip("\r")
        if not token:
            raise GenolmInputError(path, "empty token", record=f"line {number + 1}")
        if token in vocab:
            raise GenolmInputError(path, f"token {token!r} also on line {vocab[token] + 1}", record=f"line {number + 1}")
        vocab[token] = number
    return vocab


def vocab_txt(vocab: dict[str, int]) -> str:
    """vocab.txt text for vocab, whose ids must be 0..V-1."""
    ordered = sorted(vocab, key=vocab.__getitem__)
    if [vocab[t] for t in ordered] != list(range(len(ordered))):
        raise ValueError("vocabulary ids must be contiguous from 0")
    return "".join(token + "\n" for token in ordered)
