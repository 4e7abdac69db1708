"""Single-nucleotide tokenizer with the HyenaDNA vocabulary.

Ids are those of the released HyenaDNA models: seven special tokens, then A C G T N. Encoding is one table
lookup over the sequence's bytes, so it costs the same per base whatever the sequence length.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from genolm.errors import GenolmInputError

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]")
CHARACTERS = "ACGTN"
VOCAB: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + tuple(CHARACTERS))}
CONFIG_NAME = "tokenizer_config.json"


def _byte_table() -> np.ndarray:
    table = np.full(256, VOCAB["[UNK]"], dtype=np.int64)
    for ch in CHARACTERS:
        table[ord(ch)] = table[ord(ch.lower())] = VOCAB[ch]
    return table


class CharacterTokenizer:
    """One token per base; A/C/G/T/N in either case, anything else (IUPAC codes, gaps, ...) is [UNK]."""

    vocab_size = len(VOCAB)
    cls_id = VOCAB["[CLS]"]
    sep_id = VOCAB["[SEP]"]
    mask_id = VOCAB["[MASK]"]
    pad_id = VOCAB["[PAD]"]
    unk_id = VOCAB["[UNK]"]

    _table = _byte_table()
    _id_to_token = np.array(list(VOCAB), dtype=object)

    @property
    def vocab(self) -> dict[str, int]:
        return dict(VOCAB)

    def encode(self, sequence: str, add_special_tokens: bool = True) -> np.ndarray:
        """int64 ids of the bases, followed by [SEP] when add_special_tokens (the HyenaDNA convention)."""
        # Non-ASCII characters become a single '?' each, hence one [UNK], keeping one id per character.
        raw = np.frombuffer(sequence.encode("ascii", errors="replace"), dtype=np.uint8)
        ids = self._table[raw]
        if add_special_tokens:
            ids = np.append(ids, np.int64(self.sep_id))
        return ids

    def encode_batch(self, sequences: list[str], max_length: int | None = None, add_special_tokens: bool = True,
                     padding_side: str = "left", truncation: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask), both int64 [B, T], padded with [PAD] to T = max_length or the longest.

        Truncation keeps the start of each sequence and, with add_special_tokens, still ends it with [SEP].
        """
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        n_special = 1 if add_special_tokens else 0
        if max_length is not None and max_length < n_special:
            raise ValueError(f"max_length {max_length} leaves no room for the special tokens")
        encoded = [self.encode(s, add_special_tokens=False) for s in sequences]
        longest = max((len(e) + n_special for e in encoded), default=0)
        width = longest if max_length is None else max_length
        if longest > width and not truncation:
            raise ValueError(f"a sequence of {longest} tokens exceeds max_length {width} and truncation is off")

        ids = np.full((len(encoded), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, body in enumerate(encoded):
            body = body[: width - n_special]
            n = len(body) + n_special
            start = width - n if padding_side == "left" else 0
            ids[row, start : start + len(body)] = body
            if add_special_tokens:
                ids[row, start + n - 1] = self.sep_id
            mask[row, start : start + n] = 1
        return ids, mask

    def decode(self, ids: Iterable[int] | np.ndarray, skip_special_tokens: bool = False) -> str:
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size}), got {arr.min()}..{arr.max()}")
        if skip_special_tokens:
            arr = arr[arr >= len(SPECIAL_TOKENS)]
        return "".join(self._id_to_token[arr])

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CONFIG_NAME
        payload = {"tokenizer_class": type(self).__name__, "vocab": VOCAB}
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{CONFIG_NAME}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(payload, f, indent=2)
                f.write("\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> CharacterTokenizer:
        path = Path(directory) / CONFIG_NAME
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise GenolmInputError(path, f"cannot read tokenizer config: {e}") from e
        if not isinstance(payload, dict) or payload.get("tokenizer_class") != cls.__name__:
            found = payload.get("tokenizer_class") if isinstance(payload, dict) else None
            raise GenolmInputError(path, f"tokenizer_class is {found!r}, expected {cls.__name__!r}")
        # The ids are fixed by the released models, so a different vocabulary cannot be honoured.
        if payload.get("vocab") != VOCAB:
            raise GenolmInputError(path, "vocab differs from the HyenaDNA character vocabulary "
                                         f"{json.dumps(VOCAB)}")
        return cls()
