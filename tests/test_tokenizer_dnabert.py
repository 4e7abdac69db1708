"""KmerTokenizer against the real peer: Hugging Face's BertTokenizer on a DNABERT vocab.txt in a shuffled order."""

import json

import numpy as np
import pytest
from transformers import BertConfig, BertTokenizer

import genolm.tokenizers as tokenizers
from genolm.errors import GenolmInputError
from genolm.tokenizers import KmerTokenizer

RNG = np.random.default_rng(11)


def write_shuffled_vocab(directory, k):
    """A DNABERT vocabulary whose lines (special tokens included) are in a random order."""
    tokens = list(KmerTokenizer(k).vocab)
    RNG.shuffle(tokens)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("".join(t + "\n" for t in tokens))
    return {t: i for i, t in enumerate(tokens)}


def kmer_sentence(sequence, k):
    """What DNABERT's scripts feed BertTokenizer: the space-separated overlapping k-mers."""
    return " ".join(sequence[i : i + k] for i in range(len(sequence) - k + 1))


def sequences():
    out = ["", "A", "ACGTAC", "NNNNNNNN", "ACGTNACGTNNACGT"]
    for n in RNG.integers(0, 300, 25):
        out.append("".join(RNG.choice(list("ACGT") * 8 + ["N"], size=int(n))))
    return out


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_same_ids_as_bert_tokenizer(tmp_path, k):
    vocab = write_shuffled_vocab(tmp_path / "dnabert", k)
    hf = BertTokenizer(str(tmp_path / "dnabert" / "vocab.txt"), do_lower_case=False)
    tok = tokenizers.from_pretrained(tmp_path / "dnabert")
    assert isinstance(tok, KmerTokenizer) and (tok.k, tok.stride) == (k, 1)
    assert tok.vocab == vocab == hf.get_vocab()
    assert (tok.cls_id, tok.sep_id, tok.pad_id, tok.unk_id, tok.mask_id) == (
        hf.cls_token_id, hf.sep_token_id, hf.pad_token_id, hf.unk_token_id, hf.mask_token_id)

    seqs = sequences()
    sentences = [kmer_sentence(s, k) for s in seqs]
    ids, mask = tok.encode_batch(seqs)
    expected = hf(sentences, padding=True, return_tensors="np")
    np.testing.assert_array_equal(ids, expected["input_ids"])
    np.testing.assert_array_equal(mask, expected["attention_mask"])

    ids, mask = tok.encode_batch(seqs, max_length=40)
    expected = hf(sentences, padding="max_length", truncation=True, max_length=40, return_tensors="np")
    np.testing.assert_array_equal(ids, expected["input_ids"])
    np.testing.assert_array_equal(mask, expected["attention_mask"])

    for s, sentence in zip(seqs[:8], sentences):
        assert tok.encode(s, add_special_tokens=False).tolist() == hf(sentence, add_special_tokens=False)["input_ids"]


def test_lowercase_is_folded_before_kmerization(tmp_path):
    """Soft-masked (lowercase) reference bases are bases: genolm uppercases, as DNABERT's preprocessing does before
    building k-mers. BertTokenizer(do_lower_case=False) on lowercase k-mers would give [UNK] for every one."""
    write_shuffled_vocab(tmp_path, 6)
    hf = BertTokenizer(str(tmp_path / "vocab.txt"), do_lower_case=False)
    tok = tokenizers.from_pretrained(tmp_path)
    seq = "acgtNNacgtacgTTGCAaa"
    assert tok.encode(seq).tolist() == hf(kmer_sentence(seq.upper(), 6))["input_ids"]
    assert set(hf(kmer_sentence(seq, 6), add_special_tokens=False)["input_ids"]) == {hf.unk_token_id}


def test_checkpoint_saved_by_hugging_face(tmp_path):
    """transformers>=5 saves the WordPiece vocabulary only in tokenizer.json; config.json is the model's."""
    write_shuffled_vocab(tmp_path / "src", 5)
    hf = BertTokenizer(str(tmp_path / "src" / "vocab.txt"), do_lower_case=False)
    checkpoint = tmp_path / "checkpoint"
    hf.save_pretrained(checkpoint)
    BertConfig(vocab_size=len(hf), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
               intermediate_size=64).save_pretrained(checkpoint)
    reloaded = BertTokenizer.from_pretrained(checkpoint)
    tok = tokenizers.from_pretrained(checkpoint)
    assert isinstance(tok, KmerTokenizer) and tok.k == 5
    seqs = sequences()
    np.testing.assert_array_equal(tok.encode_batch(seqs)[0],
                                  reloaded([kmer_sentence(s, 5) for s in seqs], padding=True,
                                           return_tensors="np")["input_ids"])

    # With both files present they must agree.
    (checkpoint / "vocab.txt").write_text("".join(t + "\n" for t in KmerTokenizer(5).vocab))
    with pytest.raises(GenolmInputError, match="tokenizer.json: its WordPiece vocabulary differs from vocab.txt"):
        tokenizers.from_pretrained(checkpoint)


def test_model_config_smaller_than_vocabulary(tmp_path):
    write_shuffled_vocab(tmp_path, 4)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": 100}))
    with pytest.raises(GenolmInputError, match=r"config.json: vocab_size 100 is smaller than the 261 tokens"):
        tokenizers.from_pretrained(tmp_path)


def test_genolm_saved_kmer_directory_loads_in_hugging_face(tmp_path):
    tok = KmerTokenizer(6, stride=3)
    tok.save_pretrained(tmp_path)
    hf = BertTokenizer(str(tmp_path / "vocab.txt"), do_lower_case=False)
    seq = "".join(RNG.choice(list("ACGT"), size=100))
    strided = " ".join(seq[i : i + 6] for i in range(0, len(seq) - 5, 3))
    assert tok.encode(seq).tolist() == hf(strided)["input_ids"]
