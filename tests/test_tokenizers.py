"""The tokenizer interface, ids of known strings, padding/truncation, save/load through the registry, errors."""

import itertools
import json
import re

import numpy as np
import pytest

import genolm.tokenizers as tokenizers
from genolm.errors import GenolmInputError
from genolm.tokenizers import (
    ByteTokenizer,
    CharacterTokenizer,
    KmerBPETokenizer,
    KmerTokenizer,
    NonOverlappingKmerTokenizer,
)

RNG = np.random.default_rng(7)


def random_dna(n: int, alphabet: str = "ACGT") -> str:
    return "".join(RNG.choice(list(alphabet), size=n))


@pytest.fixture(scope="module")
def bpe() -> KmerBPETokenizer:
    corpus = [random_dna(3000) for _ in range(4)]
    return KmerBPETokenizer.train(corpus, 6, 120)


@pytest.fixture(params=["character", "byte", "kmer", "kmer_strided", "nonoverlapping_kmer", "kmer_bpe"])
def any_tokenizer(request, bpe):
    if request.param == "kmer_bpe":
        return bpe
    if request.param == "kmer_strided":
        return KmerTokenizer(6, stride=3)
    return tokenizers.build(request.param)


# ---- registry ----------------------------------------------------------------------------------------------------

def test_registry_names_every_tokenizer():
    assert tokenizers.TOKENIZERS == {"character": CharacterTokenizer, "byte": ByteTokenizer, "kmer": KmerTokenizer,
                                     "nonoverlapping_kmer": NonOverlappingKmerTokenizer, "kmer_bpe": KmerBPETokenizer}
    for name, cls in tokenizers.TOKENIZERS.items():
        assert cls.name == name
    strided = tokenizers.build("kmer", k=6, stride=3)
    assert (strided.k, strided.stride, strided.vocab_size) == (6, 3, 4101)
    with pytest.raises(ValueError, match="unknown tokenizer 'bpe'.*kmer_bpe"):
        tokenizers.build("bpe")
    with pytest.raises(ValueError, match="KmerBPETokenizer.train"):
        tokenizers.build("kmer_bpe")


def test_common_interface(any_tokenizer):
    tok = any_tokenizer
    vocab = tok.vocab
    assert sorted(vocab.values()) == list(range(tok.vocab_size))
    assert tok.pad_id in tok.special_ids and tok.unk_id in tok.special_ids
    assert list(tok.special_ids) == sorted(set(tok.special_ids))
    for attr in ("cls_id", "sep_id", "mask_id"):
        value = getattr(tok, attr)
        assert value is None or value in tok.special_ids
    ids = tok.encode("ACGTACGTAC")
    assert ids.dtype == np.int64
    assert ids[: len(tok.prefix_ids)].tolist() == list(tok.prefix_ids)
    assert ids[len(ids) - len(tok.suffix_ids):].tolist() == list(tok.suffix_ids)
    body = tok.encode("ACGTACGTAC", add_special_tokens=False)
    assert tok.tokens("ACGTACGTAC") == [tok.convert_ids_to_tokens([i])[0] for i in body]
    with pytest.raises(ValueError, match="token ids must be in"):
        tok.decode([tok.vocab_size])


# ---- ids of known strings ----------------------------------------------------------------------------------------

def test_byte_ids_and_layout():
    tok = ByteTokenizer()
    assert (tok.vocab_size, tok.pad_id, tok.eos_id, tok.unk_id, tok.mask_id) == (384, 0, 1, 2, 259)
    assert (tok.cls_id, tok.sep_id) == (None, None)
    assert tok.sentinel_ids[:3] == (383, 382, 381) and tok.sentinel_ids[-1] == 260 and len(tok.sentinel_ids) == 124
    assert tok.sentinel_id(0) == 383
    assert tok.encode("ACGTn").tolist() == [68, 70, 74, 87, 113, 1]
    # Non-ASCII text is its UTF-8 bytes: é = C3 A9.
    assert tok.encode("é", add_special_tokens=False).tolist() == [0xC3 + 3, 0xA9 + 3]
    assert tok.decode(tok.encode("ACgtNé")) == "ACgtNé</s>"
    assert tok.decode([0, 68, 259, 383, 1], skip_special_tokens=True) == "A"
    assert tok.decode([68, 383, 69, 382]) == "A<extra_id_0>B<extra_id_1>"
    assert tok.decode([0xC3 + 3]) == "\ufffd"


def test_byte_ids_match_hugging_face_byt5():
    from transformers import ByT5Tokenizer

    hf = ByT5Tokenizer()
    tok = ByteTokenizer()
    texts = ["ACGTNacgtn", "GATTACA-RYK", "é∆ DNA"]
    assert len(hf) == tok.vocab_size
    for text in texts:
        assert tok.encode(text).tolist() == hf(text)["input_ids"]
        assert tok.decode(tok.encode(text)) == hf.decode(hf(text)["input_ids"])
    assert (hf.pad_token_id, hf.eos_token_id, hf.unk_token_id) == (tok.pad_id, tok.eos_id, tok.unk_id)


def test_kmer_dnabert_layout_ids():
    tok = KmerTokenizer(3)
    assert (tok.vocab_size, tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (69, 0, 1, 2, 3, 4)
    # product("ATCG") order: AAA=5, AAT=6, AAC=7, AAG=8, ATA=9, ...; ACG = 5 + 0*16 + 2*4 + 3 = 16.
    assert [tok.vocab[t] for t in ("AAA", "AAT", "AAC", "AAG", "ATA", "ACG", "CGT", "GGG")] == [5, 6, 7, 8, 9, 16,
                                                                                               50, 68]
    assert tok.encode("ACGT").tolist() == [2, 16, 50, 3]
    assert tok.tokens("acgtN") == ["ACG", "CGT", "[UNK]"]
    assert tok.encode("AC").tolist() == [2, 3]
    assert tok.tokens("AC-GTA") == ["[UNK]", "[UNK]", "[UNK]", "GTA"]


def test_kmer_stride_arithmetic():
    tok = KmerTokenizer(6, stride=3)
    assert len(tok.encode(random_dna(1000), add_special_tokens=False)) == 332
    assert tok.body_tokens(1000) == 332 and tok.body_tokens(6) == 1 and tok.body_tokens(5) == 0
    assert len(tok.encode(random_dna(1000))) == 334  # [CLS] + 332 + [SEP]
    assert tok.tokens("AAAAAACCCGGGTTT") == ["AAAAAA", "AAACCC", "CCCGGG", "GGGTTT"]
    overlapping = KmerTokenizer(6)
    assert len(overlapping.encode(random_dna(1000), add_special_tokens=False)) == 995


@pytest.mark.parametrize("k,stride", [(3, 1), (4, 1), (5, 1), (6, 1), (6, 3), (4, 5)])
def test_kmer_tokens_are_the_windows(k, stride):
    tok = KmerTokenizer(k, stride=stride)
    sequences = [random_dna(int(n), "ACGTACGTN") + random_dna(20).lower() for n in RNG.integers(0, 100, 20)]
    flat, lengths = tok.encode_ragged(sequences)
    for seq, body in zip(sequences, np.split(flat, np.cumsum(lengths)[:-1])):
        windows = [seq[i : i + k].upper() for i in range(0, len(seq) - k + 1, stride)]
        assert tok.convert_ids_to_tokens(body) == [w if "N" not in w else "[UNK]" for w in windows]


def test_kmer_decode_merges_overlaps():
    tok = KmerTokenizer(3)
    assert tok.decode(tok.encode("ACGTTGCA")) == "[CLS]ACGTTGCA[SEP]"
    assert tok.decode(tok.encode("ACGTTGCA"), skip_special_tokens=True) == "ACGTTGCA"
    # The N is covered only by [UNK] windows; the bases next to it are known from other windows.
    assert tok.decode(tok.encode("ACGTNACGT", add_special_tokens=False)) == "ACGTNACGT"
    strided = KmerTokenizer(6, stride=3)
    assert strided.decode(strided.encode("AAAAAACCCGGGTTTA", add_special_tokens=False)) == "AAAAAACCCGGGTTT"


def test_nonoverlapping_nt_layout_and_fallback():
    tok = NonOverlappingKmerTokenizer(6)
    assert tok.vocab_size == 4107
    assert (tok.unk_id, tok.pad_id, tok.mask_id, tok.cls_id, tok.eos_id, tok.bos_id) == (0, 1, 2, 3, 4, 5)
    assert tok.sep_id is None
    assert [tok.vocab[t] for t in ("AAAAAA", "AAAAAT", "GGGGGG", "A", "T", "C", "G", "N")] == [
        6, 7, 4101, 4102, 4103, 4104, 4105, 4106]
    assert tok.encode("AAAAAAT").tolist() == [3, 6, 4103]
    five = NonOverlappingKmerTokenizer(5)
    # The examples of the Nucleotide Transformer's own tokenizer documentation.
    assert five.tokens("ATCGAATGGCGATGCAC") == ["ATCGA", "ATGGC", "GATGC", "A", "C"]
    assert five.tokens("ATCGAATNGGCGATGCAC") == ["ATCGA", "A", "T", "N", "GGCGA", "TGCAC"]
    # Other characters are one <unk> each and restart the frame like N; lowercase is folded.
    assert tok.tokens("ACGRTTTTTTAn") == ["A", "C", "G", "<unk>", "TTTTTT", "A", "N"]
    assert tok.tokens("acgtacgtac") == ["ACGTAC", "G", "T", "A", "C"]
    assert tok.tokens("NN") == ["N", "N"] and tok.tokens("") == []
    seq = "ACGTACNNGGGGGGTA"
    assert tok.decode(tok.encode(seq), skip_special_tokens=True) == seq


def nt_reference_tokens(sequence: str, k: int) -> list[str]:
    """The documented rule, written the slow obvious way: split at every non-ACGT character, cut each piece into
    k-mers from its start, single bases for the tail; the separator is N or <unk>."""
    out = []
    for piece, separator in re.findall(r"([ACGT]*)([^ACGT]?)", sequence.upper()):
        full = len(piece) // k * k
        out += [piece[i : i + k] for i in range(0, full, k)] + list(piece[full:])
        if separator:
            out.append("N" if separator == "N" else "<unk>")
    return out


def test_nonoverlapping_batch_matches_the_rule_on_random_input():
    tok = NonOverlappingKmerTokenizer(6)
    sequences = [random_dna(int(n), "ACGTACGTACGTNacgtnR-") for n in RNG.integers(0, 80, 60)] + ["", "N", "", "NA"]
    flat, lengths = tok.encode_ragged(sequences)
    bodies = np.split(flat, np.cumsum(lengths)[:-1])
    for seq, body in zip(sequences, bodies):
        assert tok.convert_ids_to_tokens(body) == nt_reference_tokens(seq, 6), seq


def test_nonoverlapping_matches_hugging_face_esm_on_a_shuffled_vocab(tmp_path):
    """EsmTokenizer is what the released Nucleotide Transformer checkpoints use with their vocab.txt."""
    from transformers import EsmTokenizer

    k = 4
    tokens = list(NonOverlappingKmerTokenizer(k).vocab)
    order = RNG.permutation(len(tokens))
    shuffled = {tokens[j]: i for i, j in enumerate(order)}
    tok = NonOverlappingKmerTokenizer(k, shuffled)
    tok.save_pretrained(tmp_path)
    hf = EsmTokenizer(str(tmp_path / "vocab.txt"))
    sequences = [random_dna(int(n), "ACGTN" if i % 2 else "ACGT") for i, n in enumerate(RNG.integers(0, 60, 30))]
    sequences += ["ACGRACGTA", "NNACGTACGTN"]
    for seq in sequences:
        assert tok.encode(seq, add_special_tokens=False).tolist() == hf(seq, add_special_tokens=False)["input_ids"]
        assert tok.encode(seq)[0] == hf(seq)["input_ids"][0] == shuffled["<cls>"]


# ---- batches: padding, truncation, masks -------------------------------------------------------------------------

def test_batch_rows_equal_single_encodes(any_tokenizer):
    tok = any_tokenizer
    sequences = ["", "A", "acgtNNacgt", random_dna(37), random_dna(300, "ACGTN"), "ACGTRYK-AC"]
    ids, mask = tok.encode_batch(sequences, padding_side="right")
    assert ids.dtype == np.int64 and mask.dtype == np.int64 and ids.shape == mask.shape
    for row, seq in enumerate(sequences):
        single = tok.encode(seq)
        n = len(single)
        assert mask[row].tolist() == [1] * n + [0] * (ids.shape[1] - n)
        assert ids[row, :n].tolist() == single.tolist()
        assert (ids[row, n:] == tok.pad_id).all()
    assert ids.shape[1] == max(len(tok.encode(s)) for s in sequences)


def test_padding_sides_and_truncation(any_tokenizer):
    tok = any_tokenizer
    prefix, suffix = list(tok.prefix_ids), list(tok.suffix_ids)
    long, short = random_dna(400), "ACGTACGTACGT"
    width = len(prefix) + len(suffix) + 3
    ids, mask = tok.encode_batch([long, short], max_length=width, padding_side="left")
    body = tok.encode(long, add_special_tokens=False)[:3].tolist()
    assert ids[0].tolist() == prefix + body + suffix and mask[0].all()
    short_ids = tok.encode(short)
    if len(short_ids) <= width:
        assert ids[1, width - len(short_ids):].tolist() == short_ids.tolist()
        assert mask[1].tolist() == [0] * (width - len(short_ids)) + [1] * len(short_ids)
    ids, mask = tok.encode_batch(["ACGTACGT"], max_length=40, add_special_tokens=False, padding_side="right")
    n = len(tok.encode("ACGTACGT", add_special_tokens=False))
    assert ids.shape == (1, 40) and mask.sum() == n and (ids[0, n:] == tok.pad_id).all()
    with pytest.raises(ValueError, match="truncation is off"):
        tok.encode_batch([long], max_length=width, truncation=False)
    with pytest.raises(ValueError, match="padding_side"):
        tok.encode_batch([short], padding_side="middle")
    if prefix or suffix:
        with pytest.raises(ValueError, match="no room for the special tokens"):
            tok.encode_batch([short], max_length=len(prefix) + len(suffix) - 1)
    empty_ids, empty_mask = tok.encode_batch([])
    assert empty_ids.shape == empty_mask.shape == (0, 0)


def test_every_tokenizer_pads_on_the_right_by_default():
    # One padding convention for every model (genolm.training.trainer explains why).
    assert CharacterTokenizer().encode_batch(["A", "AC"])[1].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert KmerTokenizer(3).encode_batch(["ACG", "ACGT"])[1].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]


# ---- save / load -------------------------------------------------------------------------------------------------

def test_save_load_round_trip_through_the_registry(any_tokenizer, tmp_path):
    tok = any_tokenizer
    config = tok.save_pretrained(tmp_path / "tok")
    assert config.name == "tokenizer_config.json"
    assert json.loads(config.read_text())["tokenizer_class"] == type(tok).__name__
    assert not [p.name for p in (tmp_path / "tok").iterdir() if p.name.startswith(".")]
    loaded = tokenizers.from_pretrained(tmp_path / "tok")
    assert type(loaded) is type(tok)
    assert loaded.vocab == tok.vocab and loaded.special_ids == tok.special_ids
    sequences = [random_dna(int(n), "ACGTN") for n in RNG.integers(0, 500, 8)]
    for a, b in zip(loaded.encode_batch(sequences), tok.encode_batch(sequences)):
        np.testing.assert_array_equal(a, b)
    assert type(tok).from_pretrained(tmp_path / "tok").vocab == tok.vocab


def test_saved_kmer_settings_survive(tmp_path, bpe):
    KmerTokenizer(5, stride=2).save_pretrained(tmp_path / "kmer")
    loaded = tokenizers.from_pretrained(tmp_path / "kmer")
    assert (loaded.k, loaded.stride) == (5, 2)
    bpe.save_pretrained(tmp_path / "bpe")
    loaded_bpe = tokenizers.from_pretrained(tmp_path / "bpe")
    assert (loaded_bpe.word_splitting, loaded_bpe.k, loaded_bpe.training) == ("kmer", 6, bpe.training)
    assert {p.name for p in (tmp_path / "bpe").iterdir()} == {"tokenizer.json", "tokenizer_config.json"}


# ---- errors ------------------------------------------------------------------------------------------------------

def test_not_a_tokenizer_directory(tmp_path):
    with pytest.raises(GenolmInputError, match=f"{tmp_path / 'missing'}: tokenizer directory does not exist"):
        tokenizers.from_pretrained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenolmInputError, match=f"{tmp_path / 'empty'}: not a tokenizer directory"):
        tokenizers.from_pretrained(tmp_path / "empty")
    other = tmp_path / "other"
    other.mkdir()
    (other / "tokenizer_config.json").write_text('{"tokenizer_class": "SomethingElse"}')
    with pytest.raises(GenolmInputError, match=f"{other}: not a tokenizer directory"):
        tokenizers.from_pretrained(other)
    (other / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(GenolmInputError, match="tokenizer_config.json: cannot read"):
        tokenizers.from_pretrained(other)


def test_wrong_class_and_damaged_files(tmp_path, bpe):
    ByteTokenizer().save_pretrained(tmp_path / "byte")
    with pytest.raises(GenolmInputError, match="tokenizer_class is 'ByteTokenizer', expected 'KmerTokenizer'"):
        KmerTokenizer.from_pretrained(tmp_path / "byte")
    config = tmp_path / "byte" / "tokenizer_config.json"
    config.write_text(config.read_text().replace('"mask_id": 259', '"mask_id": 3'))
    with pytest.raises(GenolmInputError, match="id layout"):
        tokenizers.from_pretrained(tmp_path / "byte")

    NonOverlappingKmerTokenizer(3).save_pretrained(tmp_path / "nt")
    (tmp_path / "nt" / "vocab.txt").unlink()
    with pytest.raises(GenolmInputError, match="vocab.txt: cannot read vocabulary"):
        tokenizers.from_pretrained(tmp_path / "nt")

    bpe.save_pretrained(tmp_path / "bpe")
    (tmp_path / "bpe" / "tokenizer.json").write_text("{}")
    with pytest.raises(GenolmInputError, match="tokenizer.json: cannot read the BPE tokenizer"):
        tokenizers.from_pretrained(tmp_path / "bpe")


def test_bad_vocab_txt_names_file_and_line(tmp_path):
    tokens = list(KmerTokenizer(3).vocab)
    (tmp_path / "vocab.txt").write_text("\n".join(tokens + ["ACG"]) + "\n")
    with pytest.raises(GenolmInputError, match=r"vocab.txt: line 70: token 'ACG' also on line"):
        tokenizers.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(tokens + ["ACGT"]) + "\n")
    with pytest.raises(GenolmInputError, match=r"vocab.txt: k-mer tokens must share one length, found lengths \[3, 4\]"):
        tokenizers.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(t for t in tokens if t != "[MASK]") + "\n")
    with pytest.raises(GenolmInputError, match=r"tokens \['\[MASK\]'\] are missing"):
        tokenizers.from_pretrained(tmp_path)


def test_all_kmer_helpers_agree_with_itertools():
    tok = KmerTokenizer(4)
    kmers = ["".join(p) for p in itertools.product("ATCG", repeat=4)]
    assert [tok.vocab[t] for t in kmers] == list(range(5, 5 + 256))
