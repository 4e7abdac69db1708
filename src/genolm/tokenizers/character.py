"""Single-nucleotide tokenizer with the HyenaDNA vocabulary.

Ids are those of the released HyenaDNA models: seven special tokens, then A C G T N. Encoding is one table
lookup over the sequence's bytes, so it costs the same per base whatever the sequence length.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genolm.errors import GenolmInputError
from genolm.tokenizers.base import CONFIG_NAME, Tokenizer, ascii_codes, read_config, write_config

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]")
CHARACTERS = "ACGTN"
VOCAB: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + tuple(CHARACTERS))}


def _byte_table() -> np.ndarray:
    table = np.full(256, VOCAB["[UNK]"], dtype=np.int64)
    for ch in CHARACTERS:
        table[ord(ch)] = table[ord(ch.lower())] = VOCAB[ch]
    return table


class CharacterTokenizer(Tokenizer):
    """One token per base; A/C/G/T/N in either case, anything else (IUPAC codes, gaps, ...) is [UNK]."""

    name = "character"
    vocab_size = len(VOCAB)
    cls_id = VOCAB["[CLS]"]
    sep_id = VOCAB["[SEP]"]
    mask_id = VOCAB["[MASK]"]
    pad_id = VOCAB["[PAD]"]
    unk_id = VOCAB["[UNK]"]
    special_ids = tuple(range(len(SPECIAL_TOKENS)))
    # The HyenaDNA convention: no leading token, [SEP] closes the sequence.
    suffix_ids = (VOCAB["[SEP]"],)

    _table = _byte_table()
    _id_to_token = np.array(list(VOCAB), dtype=object)

    @property
    def vocab(self) -> dict[str, int]:
        return dict(VOCAB)

    def encode_ragged(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        # Non-ASCII characters become a single '?' each, hence one [UNK], keeping one id per character.
        raw, lengths = ascii_codes(sequences)
        return np.take(self._table, raw.astype(np.intp)), lengths

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        return write_config(directory, {"tokenizer_class": type(self).__name__, "vocab": VOCAB})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> CharacterTokenizer:
        path = Path(directory) / CONFIG_NAME
        payload = read_config(directory, cls.__name__)
        # The ids are fixed by the released models, so a different vocabulary cannot be honoured.
        if payload.get("vocab") != VOCAB:
            raise GenolmInputError(path, "vocab differs from the HyenaDNA character vocabulary "
                                         f"{json.dumps(VOCAB)}")
        return cls()
