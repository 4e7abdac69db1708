"""Byte-level tokenizer for ENBED: one token per UTF-8 byte, 384 ids in the ByT5 layout.

    0 <pad>   1 </s> (end of sequence)   2 <unk>
    3 .. 258  the byte values 0 .. 255 (id = byte + 3)
    259       <mask>: single-token masking (ByT5's last extra id, which span corruption never reaches)
    260 .. 383  124 sentinels for span corruption; sentinel i is id 383 - i, named <extra_id_i>

Pad, end-of-sequence, unknown and the bytes have the ids of Hugging Face's ByT5Tokenizer, so ByT5 checkpoints
read the same inputs. Sentinels count down from the top of the vocabulary as in the original T5 span-corruption
code; Hugging Face's ByT5Tokenizer names the extra ids the other way round (<extra_id_0> = 259), which only
changes how decode() spells a sentinel. Bytes are kept exactly: case is not folded, since soft-masked (lowercase)
repeats are part of what a byte-level model may learn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genolm.errors import GenolmInputError
from genolm.tokenizers.base import CONFIG_NAME, Tokenizer, read_config, write_config

PAD, EOS, UNK = 0, 1, 2
BYTE_OFFSET = 3
MASK = BYTE_OFFSET + 256
VOCAB_SIZE = 384
SENTINEL_IDS = tuple(range(VOCAB_SIZE - 1, MASK, -1))
# Written into tokenizer_config.json and checked on load: the ids are fixed, so another layout cannot be honoured.
LAYOUT = {"vocab_size": VOCAB_SIZE, "pad_id": PAD, "eos_id": EOS, "unk_id": UNK, "byte_offset": BYTE_OFFSET,
          "mask_id": MASK, "sentinel_ids": list(SENTINEL_IDS)}


class ByteTokenizer(Tokenizer):
    """ENBED's byte-level vocabulary; encode appends </s> as ByT5 does."""

    name = "byte"
    pad_id = PAD
    eos_id = EOS
    unk_id = UNK
    mask_id = MASK
    sentinel_ids = SENTINEL_IDS
    special_ids = tuple(sorted((PAD, EOS, UNK, MASK) + SENTINEL_IDS))
    suffix_ids = (EOS,)

    @property
    def vocab(self) -> dict[str, int]:
        tokens = {"<pad>": PAD, "</s>": EOS, "<unk>": UNK, "<mask>": MASK}
        tokens.update({chr(byte): BYTE_OFFSET + byte for byte in range(256)})
        tokens.update({f"<extra_id_{i}>": sentinel for i, sentinel in enumerate(SENTINEL_IDS)})
        return tokens

    @property
    def vocab_size(self) -> int:
        return VOCAB_SIZE

    def sentinel_id(self, index: int) -> int:
        """Id of the index-th sentinel (<extra_id_index>), used for the index-th corrupted span."""
        if not 0 <= index < len(SENTINEL_IDS):
            raise ValueError(f"sentinel index must be in [0, {len(SENTINEL_IDS)}), got {index}")
        return SENTINEL_IDS[index]

    def encode_ragged(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        joined = "".join(sequences)
        if joined.isascii():  # the usual case for DNA: one byte per character, no per-sequence encoding
            raw = joined.encode("ascii")
            lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        else:
            encoded = [s.encode("utf-8") for s in sequences]
            raw = b"".join(encoded)
            lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        return np.frombuffer(raw, dtype=np.uint8).astype(np.int64) + BYTE_OFFSET, lengths

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """UTF-8 text of the byte ids (invalid byte sequences become U+FFFD); special tokens by name unless skipped."""
        arr = self._check_ids(ids)
        special = self._is_special[arr]
        if skip_special_tokens:
            arr, special = arr[~special], special[~special]
        # Runs of bytes are decoded together, so multi-byte characters survive.
        parts: list[str] = []
        boundaries = np.flatnonzero(np.diff(special.astype(np.int8))) + 1
        for run in np.split(arr, boundaries):
            if run.size == 0:
                continue
            if self._is_special[run[0]]:
                parts.extend(self._id_to_token[run])
            else:
                parts.append((run - BYTE_OFFSET).astype(np.uint8).tobytes().decode("utf-8", errors="replace"))
        return "".join(parts)

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        return write_config(directory, {"tokenizer_class": type(self).__name__, **LAYOUT})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> ByteTokenizer:
        payload = read_config(directory, cls.__name__)
        layout = {key: payload.get(key) for key in LAYOUT}
        if layout != LAYOUT:
            raise GenolmInputError(Path(directory) / CONFIG_NAME,
                                   f"id layout {layout} differs from genolm's byte layout {LAYOUT}")
        return cls()
