"""Byte-pair encoding over DNA "words", trained with the Hugging Face `tokenizers` library.

Two ways of cutting sequences into the words BPE learns merges within:

- "kmer": non-overlapping k-mers (the last one may be shorter), so no token is longer than k; the papers use
  6-mers with a 5,000-token vocabulary and 9-/12-mers with 30,000. Encoding cuts the same way.
- "random" (BigBird-style): a training pass tiles every sequence into sentences of random length (50 .. 10,000
  nt) and each sentence into fragments of random length (50 .. 500 nt; a sentence's last fragment is what remains
  of it). Each fragment is a word. The pass is repeated `n_resamples` times with fresh random cuts (seeded), so
  the merges do not learn one fixed set of boundaries. Encoding applies the merges to the whole sequence as one
  word.

Ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then `sentinels` span-corruption sentinels <extra_id_0> ... (none by
default; ENBED's BPE ablation pretrains with T5 span corruption, which needs them), then the sorted alphabet (A C G N T and any other character seen in
training), then the merged tokens in the order they were learnt. encode gives [CLS] tokens [SEP]. Sequences are
uppercased before encoding (the saved tokenizer.json, used on its own by Hugging Face, does not uppercase).
The directory holds tokenizer.json (loadable by `tokenizers.Tokenizer.from_file` or transformers'
PreTrainedTokenizerFast) and genolm's tokenizer_config.json.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, processors, trainers

from genolm.errors import GenolmInputError
from genolm.tokenizers.base import CONFIG_NAME, ClsSepFraming, Tokenizer, read_config, write_atomic, write_config

TOKENIZER_FILE = "tokenizer.json"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
INITIAL_ALPHABET = ("A", "C", "G", "T", "N")
WORD_SPLITTINGS = ("kmer", "random")
# Training feeds long sequences to the trainer in pieces; a multiple of k keeps the k-mer frame of the sequence.
_PIECE = 1 << 20


def random_fragments(sequence: str, rng: np.random.Generator, *, fragment_length: tuple[int, int] = (50, 500),
                     max_sentence_length: int = 10_000) -> list[str]:
    """One random tiling of sequence into sentences and of each sentence into fragments (see module doc)."""
    low, high = fragment_length
    fragments: list[str] = []
    position, n = 0, len(sequence)
    while position < n:
        sentence_end = min(n, position + int(rng.integers(low, max_sentence_length, endpoint=True)))
        # Enough draws to reach the sentence end even if every fragment had the minimum length.
        lengths = rng.integers(low, high, size=(sentence_end - position) // low + 1, endpoint=True)
        cuts = position + np.cumsum(lengths)
        bounds = [position, *cuts[cuts < sentence_end].tolist(), sentence_end]
        fragments.extend(sequence[a:b] for a, b in zip(bounds[:-1], bounds[1:]))
        position = sentence_end
    return fragments


class KmerBPETokenizer(ClsSepFraming, Tokenizer):
    """BPE over k-mer words or BigBird-style random fragments; construct with `train` or `from_pretrained`."""

    name = "kmer_bpe"

    def __init__(self, tokenizer: HFTokenizer, *, word_splitting: str, k: int | None,
                 training: dict[str, Any] | None = None, source: object = "tokenizer"):
        if word_splitting not in WORD_SPLITTINGS:
            raise ValueError(f"word_splitting must be one of {WORD_SPLITTINGS}, got {word_splitting!r}")
        if word_splitting == "kmer" and not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k-mer word splitting needs a positive k, got {k!r}")
        self._tokenizer = tokenizer
        self.word_splitting = word_splitting
        self.k = k if word_splitting == "kmer" else None
        self.training = dict(training or {})
        ids = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
        if None in ids:
            raise GenolmInputError(source, f"BPE vocabulary lacks special tokens "
                                           f"{[t for t, i in zip(SPECIAL_TOKENS, ids) if i is None]}")
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = ids
        # Span-corruption sentinels, if the vocabulary was trained with them (<extra_id_0>, <extra_id_1>, ...).
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        present = itertools.takewhile(lambda i: f"<extra_id_{i}>" in vocab, itertools.count())
        self.sentinel_ids = tuple(vocab[f"<extra_id_{i}>"] for i in present)
        self._special_ids = tuple(sorted(ids + list(self.sentinel_ids)))

    @classmethod
    def train(cls, sequences: Iterable[str], k: int | None, vocab_size: int, *, word_splitting: str = "kmer",
              seed: int = 0, n_resamples: int = 4, fragment_length: tuple[int, int] = (50, 500),
              max_sentence_length: int = 10_000, min_frequency: int = 0, sentinels: int = 0) -> KmerBPETokenizer:
        """Learn merges until the vocabulary (special tokens and alphabet included) has vocab_size tokens, or no
        pair of tokens is left to merge (then it is as large as the corpus allows).

        sequences is read once, so a generator over a FASTA file works; k is ignored for "random" splitting.
        `sentinels` adds that many span-corruption sentinel tokens after [MASK].
        """
        if word_splitting not in WORD_SPLITTINGS:
            raise ValueError(f"word_splitting must be one of {WORD_SPLITTINGS}, got {word_splitting!r}")
        if word_splitting == "kmer":
            if not (isinstance(k, int) and k >= 1):
                raise ValueError(f"k-mer word splitting needs a positive k, got {k!r}")
            words = cls._kmer_pieces(sequences, k)
            training: dict[str, Any] = {"vocab_size": vocab_size, "min_frequency": min_frequency}
        else:
            low, high = fragment_length
            if not 1 <= low <= high <= max_sentence_length:
                raise ValueError(f"need 1 <= fragment lengths {fragment_length} <= max_sentence_length "
                                 f"{max_sentence_length}")
            if n_resamples < 1:
                raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
            words = cls._random_words(sequences, np.random.default_rng(seed), n_resamples, fragment_length,
                                      max_sentence_length)
            training = {"vocab_size": vocab_size, "min_frequency": min_frequency, "seed": seed,
                        "n_resamples": n_resamples, "fragment_length": list(fragment_length),
                        "max_sentence_length": max_sentence_length}
        tokenizer = HFTokenizer(models.BPE(unk_token="[UNK]"))
        # For random splitting each training item is already one word, and a sequence is one word at encode time.
        tokenizer.pre_tokenizer = pre_tokenizers.FixedLength(length=k) if word_splitting == "kmer" else None
        tokenizer.decoder = decoders.Fuse()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                      special_tokens=[*SPECIAL_TOKENS, *(f"<extra_id_{i}>" for i in range(sentinels))],
                                      initial_alphabet=list(INITIAL_ALPHABET))
        tokenizer.train_from_iterator(words, trainer=trainer)
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", tokenizer.token_to_id("[CLS]")), ("[SEP]", tokenizer.token_to_id("[SEP]"))])
        return cls(tokenizer, word_splitting=word_splitting, k=k, training=training)

    @staticmethod
    def _kmer_pieces(sequences: Iterable[str], k: int) -> Iterator[str]:
        piece = max(_PIECE // k, 1) * k
        for sequence in sequences:
            upper = sequence.upper()
            for start in range(0, len(upper), piece):
                yield upper[start : start + piece]

    @staticmethod
    def _random_words(sequences: Iterable[str], rng: np.random.Generator, n_resamples: int,
                      fragment_length: tuple[int, int], max_sentence_length: int) -> Iterator[str]:
        for sequence in sequences:
            upper = sequence.upper()
            for _ in range(n_resamples):
                yield from random_fragments(upper, rng, fragment_length=fragment_length,
                                            max_sentence_length=max_sentence_length)

    @property
    def vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def hf_tokenizer(self) -> HFTokenizer:
        """The underlying Hugging Face tokenizer (its own encode adds [CLS]/[SEP] but does not uppercase)."""
        return self._tokenizer

    def encode_ragged(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._tokenizer.encode_batch_fast([s.upper() for s in sequences], add_special_tokens=False)
        bodies = [e.ids for e in encodings]
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
        flat = np.fromiter(itertools.chain.from_iterable(bodies), dtype=np.int64, count=int(lengths.sum()))
        return flat, lengths

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        write_atomic(directory / TOKENIZER_FILE, lambda tmp: self._tokenizer.save(tmp))
        return write_config(directory, {"tokenizer_class": type(self).__name__, "word_splitting": self.word_splitting,
                                        "k": self.k, "training": self.training})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> KmerBPETokenizer:
        directory = Path(directory)
        payload = read_config(directory, cls.__name__)
        path = directory / TOKENIZER_FILE
        try:
            tokenizer = HFTokenizer.from_file(str(path))
        except Exception as e:  # the Rust library raises plain Exception for missing and malformed files alike
            raise GenolmInputError(path, f"cannot read the BPE tokenizer: {e}") from e
        try:
            return cls(tokenizer, word_splitting=payload.get("word_splitting"), k=payload.get("k"),
                       training=payload.get("training"), source=path)
        except ValueError as e:
            raise GenolmInputError(directory / CONFIG_NAME, str(e)) from e
