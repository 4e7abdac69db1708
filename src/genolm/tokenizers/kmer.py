"""k-mer tokenizers: overlapping/strided k-mers (DNABERT) and non-overlapping k-mers (Nucleotide Transformer).

Both compute one integer code per k-mer window with numpy over the concatenated batch (k vectorized passes, not
a loop over bases) and map codes to ids through a dense table built from the vocabulary, so a vocabulary in any
order (e.g. a released vocab.txt) gives its own ids. Case is folded: lowercase (soft-masked) bases are bases.

DNABERT layout (`KmerTokenizer`): [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then the 4^k k-mers in
itertools.product("ATCG") order; encode gives [CLS] k-mers [SEP]. A window with any base outside the
vocabulary's alphabet (N, IUPAC codes, gaps) is one [UNK].

Nucleotide Transformer layout (`NonOverlappingKmerTokenizer`): <unk>=0 <pad>=1 <mask>=2 <cls>=3 <eos>=4 <bos>=5,
then the 4^k k-mers in product("ATCG") order, then A T C G N; encode gives <cls> tokens (no end token).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from genolm.errors import GenolmInputError
from genolm.tokenizers.base import (
    CONFIG_NAME,
    ClsFraming,
    ClsSepFraming,
    Tokenizer,
    ascii_codes,
    read_config,
    read_json,
    read_vocab_txt,
    vocab_txt,
    write_config,
    write_text_atomic,
)

VOCAB_NAME = "vocab.txt"
PRODUCT_ORDER = "ATCG"  # the k-mer order of both DNABERT's and the Nucleotide Transformer's vocabularies
DNABERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
NT_SPECIALS = ("<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>")
NT_SINGLES = ("A", "T", "C", "G", "N")
# Dense code->id tables up to 4^11 entries (32 MiB); longer k-mers would need a sparse lookup.
MAX_K = 11
MAX_TABLE_SIZE = 4**MAX_K
_EXTRA_SPECIAL = re.compile(r"^(\[[^\]]+\]|<[^>]+>)$")


def all_kmers(k: int) -> list[str]:
    return ["".join(p) for p in itertools.product(PRODUCT_ORDER, repeat=k)]


def dnabert_vocab(k: int) -> dict[str, int]:
    return {token: i for i, token in enumerate(DNABERT_SPECIALS + tuple(all_kmers(k)))}


def nt_vocab(k: int) -> dict[str, int]:
    return {token: i for i, token in enumerate(NT_SPECIALS + tuple(all_kmers(k)) + NT_SINGLES)}


class KmerTable:
    """Integer codes of k-mer windows over an alphabet, and the vocabulary id of each code."""

    def __init__(self, kmer_ids: Mapping[str, int], k: int, alphabet: str, missing_id: int):
        self.k, self.base = k, len(alphabet)
        if self.base**k > MAX_TABLE_SIZE:
            raise ValueError(f"{k}-mers over the {self.base}-letter alphabet {alphabet!r} are too many for a dense table")
        # int32 codes: base**k <= MAX_TABLE_SIZE < 2**31, and half the memory traffic of int64.
        self.digit = np.zeros(256, dtype=np.int32)
        self.outside = np.ones(256, dtype=bool)  # characters that make a window unknown
        for value, letter in enumerate(alphabet):
            for ch in (letter, letter.lower()):
                self.digit[ord(ch)], self.outside[ord(ch)] = value, False
        self.ids = np.full(self.base**k, missing_id, dtype=np.int64)
        if kmer_ids:
            tokens = np.frombuffer("".join(kmer_ids).encode("ascii"), dtype=np.uint8).reshape(len(kmer_ids), k)
            self.ids[self.codes_of(tokens)] = np.fromiter(kmer_ids.values(), dtype=np.int64, count=len(kmer_ids))

    def codes_of(self, windows: np.ndarray) -> np.ndarray:
        """Codes of a [n, k] array of ASCII bytes."""
        code = np.zeros(len(windows), dtype=np.int32)
        for j in range(self.k):
            code = code * self.base + self.digit[windows[:, j]]
        return code

    def ids_at(self, digits: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Ids of the windows starting at `starts`, given the digit of every character (windows must be inside
        the alphabet)."""
        code = np.take(digits, starts)
        for j in range(1, self.k):
            code *= self.base
            code += np.take(digits, starts + j)
        return np.take(self.ids, code)

    def window_ids(self, raw: np.ndarray, unknown_id: int) -> np.ndarray:
        """Id of the window raw[i : i + k] for every i; unknown_id where it holds a character outside the alphabet.

        Computed with k passes of contiguous slices over the whole array, which is much faster than gathering the
        windows one by one; the caller picks the windows it needs (windows across sequence ends are discarded).
        """
        n_windows = raw.size - self.k + 1
        if n_windows <= 0:
            return np.empty(0, dtype=np.int64)
        index = raw.astype(np.intp)  # numpy gathers much faster with intp indices than with uint8 ones
        digits = np.take(self.digit, index)
        outside = np.take(self.outside, index)
        code = digits[:n_windows].copy()
        unknown = outside[:n_windows].copy()
        for j in range(1, self.k):
            code *= self.base
            code += digits[j : j + n_windows]
            unknown |= outside[j : j + n_windows]
        ids = np.take(self.ids, code)
        ids[unknown] = unknown_id
        return ids


def _split_vocab(vocab: Mapping[str, int], path: object, specials: Sequence[str], singles: Sequence[str] = ()
                 ) -> tuple[int, dict[str, int], tuple[int, ...]]:
    """(k, k-mer tokens, ids of special tokens) of a k-mer vocabulary; the k-mers' common length is k."""
    missing = [t for t in (*specials, *singles) if t not in vocab]
    if missing:
        raise GenolmInputError(path, f"not a k-mer vocabulary of this kind: tokens {missing} are missing")
    ids = sorted(vocab.values())
    if ids != list(range(len(ids))):
        raise GenolmInputError(path, "token ids must be 0..V-1 without gaps")
    special_tokens = set(specials) | {t for t in vocab if _EXTRA_SPECIAL.match(t)}
    kmers = {t: i for t, i in vocab.items() if t not in special_tokens and t not in singles}
    lengths = {len(t) for t in kmers}
    if len(lengths) != 1:
        raise GenolmInputError(path, f"k-mer tokens must share one length, found lengths {sorted(lengths)}")
    bad = next((t for t in kmers if not (t.isascii() and t.isalpha() and t.isupper())), None)
    if bad is not None:
        raise GenolmInputError(path, f"k-mer token {bad!r} is not made of uppercase letters")
    return lengths.pop(), kmers, tuple(sorted(vocab[t] for t in special_tokens))


def _check_k(k: int) -> None:
    if k > MAX_K:
        raise ValueError(f"k = {k} is too large: at most {MAX_K} for a dense k-mer table")


def _spread(first: np.ndarray, counts: np.ndarray, step: int) -> np.ndarray:
    """Concatenation of first[i] + step * arange(counts[i]) over i."""
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(first, counts) + within * step


def _alphabet(kmers: Mapping[str, int]) -> str:
    return "".join(sorted(set("".join(kmers))))


class KmerTokenizer(ClsSepFraming, Tokenizer):
    """Overlapping (stride 1, DNABERT) or strided k-mers: a sequence of n bases gives (n - k) // stride + 1 tokens.

    Bases after the last full window are dropped (stride 3 on 1,000 nt with k = 6: 332 tokens covering 999 nt).
    With a DNABERT vocabulary the ids equal those of Hugging Face's BertTokenizer(vocab.txt, do_lower_case=False)
    fed the space-separated k-mers of the uppercased sequence, for sequences of letters; BertTokenizer would
    instead split a window at punctuation such as '-', where this tokenizer gives one [UNK] per window.
    """

    name = "kmer"

    def __init__(self, k: int = 6, stride: int = 1, vocab: Mapping[str, int] | None = None, *,
                 source: object = "vocabulary"):
        if k < 1 or stride < 1:
            raise ValueError(f"k and stride must be positive, got k={k}, stride={stride}")
        _check_k(k)
        vocab = dict(vocab) if vocab is not None else dnabert_vocab(k)
        vocab_k, kmers, self._special_ids = _split_vocab(vocab, source, DNABERT_SPECIALS)
        if vocab_k != k:
            raise GenolmInputError(source, f"the vocabulary holds {vocab_k}-mers, not {k}-mers")
        self.k, self.stride = k, stride
        self._vocab = vocab
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (vocab[t] for t in DNABERT_SPECIALS)
        try:
            self._table = KmerTable(kmers, k, _alphabet(kmers), missing_id=self.unk_id)
        except ValueError as e:
            raise GenolmInputError(source, str(e)) from e
        # Bases of each k-mer id (zeros for other ids), to merge overlapping tokens back into a sequence.
        self._bases = np.zeros((len(vocab), k), dtype=np.uint8)
        self._bases[list(kmers.values())] = np.frombuffer("".join(kmers).encode("ascii"), np.uint8).reshape(-1, k)

    @property
    def vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def body_tokens(self, bases: int) -> int:
        return max((bases - self.k) // self.stride + 1, 0)

    def body_bases(self, tokens: int) -> int:
        return (tokens - 1) * self.stride + self.k if tokens > 0 else 0

    def encode_ragged(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        raw, lengths = ascii_codes(sequences)
        counts = np.maximum((lengths - self.k) // self.stride + 1, 0)
        starts = _spread(np.cumsum(lengths) - lengths, counts, self.stride)
        return self._table.window_ids(raw, self.unk_id)[starts], counts

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """The bases the k-mers cover, overlaps merged; bases that only [UNK] tokens cover come out as N.

        Other special tokens appear by name unless skipped; each one ends a run of k-mers.
        """
        arr = self._check_ids(ids)
        in_run = ~self._is_special[arr] | (arr == self.unk_id)
        parts: list[str] = []
        for run in np.split(arr, np.flatnonzero(np.diff(in_run.astype(np.int8))) + 1):
            if run.size == 0:
                continue
            if run[0] == self.unk_id or not self._is_special[run[0]]:
                parts.append(self._merge(run))
            elif not skip_special_tokens:
                parts.extend(self._id_to_token[run])
        return "".join(parts)

    def _merge(self, run: np.ndarray) -> str:
        bases = self._bases[run]
        out = np.zeros((len(run) - 1) * self.stride + self.k, dtype=np.uint8)
        offsets = np.arange(len(run)) * self.stride
        for j in range(self.k):
            known = bases[:, j] != 0
            out[offsets[known] + j] = bases[known, j]
        out[out == 0] = ord("N")
        return out.tobytes().decode("ascii")

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        write_text_atomic(directory / VOCAB_NAME, vocab_txt(self._vocab))
        return write_config(directory, {"tokenizer_class": type(self).__name__, "k": self.k, "stride": self.stride})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> KmerTokenizer:
        """A directory written by save_pretrained, or a DNABERT checkpoint (vocab.txt or Hugging Face's
        tokenizer.json, optional config.json); for DNABERT, k is the vocabulary's k-mer length and stride is 1."""
        directory = Path(directory)
        config = directory / CONFIG_NAME
        payload = read_json(config) if config.is_file() else None
        declared = payload.get("tokenizer_class") if isinstance(payload, dict) else None
        if Tokenizer.class_named(declared) is not None:  # genolm's own directory (or another genolm class: error)
            payload = read_config(directory, cls.__name__)
            k, stride = payload.get("k"), payload.get("stride")
            if not (isinstance(k, int) and isinstance(stride, int)):
                raise GenolmInputError(config, f"k and stride must be integers, got k={k!r}, stride={stride!r}")
            vocab, source = read_vocab_txt(directory / VOCAB_NAME), directory / VOCAB_NAME
        else:
            vocab, source = read_dnabert_vocab(directory)
            k, stride = _split_vocab(vocab, source, DNABERT_SPECIALS)[0], 1
            model_config = directory / "config.json"
            model = read_json(model_config) if model_config.is_file() else {}
            model_vocab = model.get("vocab_size") if isinstance(model, dict) else None
            if isinstance(model_vocab, int) and model_vocab < len(vocab):
                raise GenolmInputError(model_config, f"vocab_size {model_vocab} is smaller than the {len(vocab)} "
                                                     f"tokens of {source.name}")
        try:
            return cls(k, stride, vocab, source=source)
        except ValueError as e:
            raise GenolmInputError(source, str(e)) from e


def read_dnabert_vocab(directory: Path) -> tuple[dict[str, int], Path]:
    """The WordPiece vocabulary of a BERT checkpoint: vocab.txt, or tokenizer.json as transformers>=5 saves it.

    When both exist they must agree, so that genolm and Hugging Face cannot silently read different ids.
    """
    txt, fast = directory / VOCAB_NAME, directory / "tokenizer.json"
    from_txt = read_vocab_txt(txt) if txt.is_file() else None
    from_fast = None
    if fast.is_file():
        model = read_json(fast).get("model") or {}
        if model.get("type") == "WordPiece" and isinstance(model.get("vocab"), dict):
            from_fast = model["vocab"]
    if from_txt is not None and from_fast is not None and from_txt != from_fast:
        raise GenolmInputError(fast, f"its WordPiece vocabulary differs from {txt.name}")
    if from_txt is not None:
        return from_txt, txt
    if from_fast is not None:
        return dict(from_fast), fast
    raise GenolmInputError(directory, f"not a tokenizer directory: no {CONFIG_NAME} naming a genolm tokenizer, "
                                      f"no {VOCAB_NAME} and no WordPiece tokenizer.json")


class NonOverlappingKmerTokenizer(ClsFraming, Tokenizer):
    """Nucleotide Transformer tokenization: each stretch of A/C/G/T between other characters is cut into k-mers
    from its start, and the bases of a tail shorter than k are single-base tokens.

    N is its own single token and restarts the k-mer frame after it; any other character (IUPAC codes, gaps) is
    one <unk> that does the same. So "ACGNTTTTTTA" with k = 6 gives A C G N TTTTTT A. This is the algorithm of the
    released tokenizer (split at N, k-mers from each piece's start); on uppercase A/C/G/T/N it gives the ids of
    Hugging Face's EsmTokenizer on the same vocab.txt.
    """

    name = "nonoverlapping_kmer"

    def __init__(self, k: int = 6, vocab: Mapping[str, int] | None = None, *, source: object = "vocabulary"):
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        _check_k(k)
        vocab = dict(vocab) if vocab is not None else nt_vocab(k)
        vocab_k, kmers, self._special_ids = _split_vocab(vocab, source, NT_SPECIALS, NT_SINGLES)
        if vocab_k != k:
            raise GenolmInputError(source, f"the vocabulary holds {vocab_k}-mers, not {k}-mers")
        self.k = k
        self._vocab = vocab
        self.unk_id, self.pad_id, self.mask_id, self.cls_id, self.eos_id, self.bos_id = (vocab[t] for t in NT_SPECIALS)
        self._table = KmerTable(kmers, k, "ACGT", missing_id=self.unk_id)
        # Single-token id of each character: a base, N, or <unk>.
        self._single = np.full(256, self.unk_id, dtype=np.int64)
        for letter in NT_SINGLES:
            self._single[ord(letter)] = self._single[ord(letter.lower())] = vocab[letter]

    @property
    def vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def encode_ragged(self, sequences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        raw, lengths = ascii_codes(sequences)
        index = raw.astype(np.intp)  # numpy gathers much faster with intp indices than with uint8 ones
        breaks = np.flatnonzero(np.take(self._table.outside, index))  # N and other characters: one token each
        seq_ends = np.cumsum(lengths)
        # Runs of bases [begin, end) lie between sequence ends and breaks; as they are disjoint and ordered,
        # sorting their begins and their ends separately pairs them up.
        begin = np.sort(np.concatenate([seq_ends - lengths, breaks + 1]))
        end = np.sort(np.concatenate([seq_ends, breaks]))
        n_kmers = (end - begin) // self.k
        n_tail = end - begin - n_kmers * self.k
        kmer_starts = _spread(begin, n_kmers, self.k)
        tail = _spread(begin + n_kmers * self.k, n_tail, 1)

        ids = np.empty(raw.size, dtype=np.int64)
        ids[kmer_starts] = self._table.ids_at(np.take(self._table.digit, index), kmer_starts)
        singles = np.concatenate([tail, breaks])
        ids[singles] = np.take(self._single, index[singles])
        emitted = np.zeros(raw.size, dtype=bool)
        emitted[kmer_starts] = True
        emitted[singles] = True
        positions = np.flatnonzero(emitted)
        counts = np.diff(np.searchsorted(positions, seq_ends), prepend=0)
        return ids[positions], counts.astype(np.int64)

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        write_text_atomic(directory / VOCAB_NAME, vocab_txt(self._vocab))
        return write_config(directory, {"tokenizer_class": type(self).__name__, "k": self.k})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> NonOverlappingKmerTokenizer:
        directory = Path(directory)
        payload = read_config(directory, cls.__name__)
        k = payload.get("k")
        if not isinstance(k, int):
            raise GenolmInputError(directory / CONFIG_NAME, f"k must be an integer, got {k!r}")
        try:
            return cls(k, read_vocab_txt(directory / VOCAB_NAME), source=directory / VOCAB_NAME)
        except ValueError as e:
            raise GenolmInputError(directory / CONFIG_NAME, str(e)) from e
