"""k-mer BPE and BigBird-style random word splitting, trained with Hugging Face tokenizers on tiny corpora."""

import numpy as np
import pytest
from tokenizers import Tokenizer as HFTokenizer

import genolm.tokenizers as tokenizers
from genolm.tokenizers import KmerBPETokenizer
from genolm.tokenizers.bpe import random_fragments

RNG = np.random.default_rng(5)


def corpus(n_sequences=6, length=2000):
    # A few repeated motifs give BPE something to learn beyond uniform noise.
    motifs = ["TATAAA", "GGGCGG", "CCAAT", "TTAGGG"]
    out = []
    for _ in range(n_sequences):
        parts = [RNG.choice(motifs) if RNG.random() < 0.3 else "".join(RNG.choice(list("ACGT"), size=5))
                 for _ in range(length // 5)]
        out.append("".join(parts))
    return out


@pytest.mark.parametrize("k,target", [(6, 200), (9, 400), (12, 400)])
def test_kmer_bpe_hits_the_target_vocabulary(k, target):
    tok = KmerBPETokenizer.train(corpus(), k, target)
    assert tok.vocab_size == target
    vocab = tok.vocab
    assert [vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 1, 2, 3, 4]
    assert all(t in vocab for t in "ACGTN")
    # k-mer words bound the merges: no token is longer than k.
    assert max(len(t) for t in vocab if not t.startswith("[")) <= k


def test_kmer_bpe_stops_at_the_largest_possible_vocabulary():
    seqs = ["ACGTTGCAAC" * 30, "TTTTGGGGCC" * 30]
    tok = KmerBPETokenizer.train(seqs, 4, 10_000)
    assert tok.vocab_size < 10_000
    # Every k-mer word of the corpus has become one token: nothing is left to merge.
    for seq in seqs:
        words = [seq[i : i + 4] for i in range(0, len(seq), 4)]
        assert tok.tokens(seq) == words


def test_kmer_bpe_round_trips_and_frames():
    seqs = corpus(3, 1000)
    tok = KmerBPETokenizer.train(seqs, 6, 150)
    for seq in seqs + ["acgtnnACGT", "ACGTA"]:
        ids = tok.encode(seq)
        assert ids[0] == tok.cls_id and ids[-1] == tok.sep_id
        assert tok.decode(ids, skip_special_tokens=True) == seq.upper()
        assert tok.decode(ids) == "[CLS]" + seq.upper() + "[SEP]"
        # Tokens never cross a k-mer word boundary.
        ends = np.cumsum([len(t) for t in tok.tokens(seq)])
        assert set(range(6, len(seq), 6)) <= set(ends.tolist())
    # Characters never seen in training are [UNK], not dropped.
    assert tok.tokens("RY") == ["[UNK]", "[UNK]"]
    assert tok.decode(tok.encode("ARYA", add_special_tokens=False)) == "A[UNK][UNK]A"


def test_hugging_face_reads_the_saved_tokenizer_json(tmp_path):
    tok = KmerBPETokenizer.train(corpus(2, 1000), 6, 100)
    tok.save_pretrained(tmp_path)
    hf = HFTokenizer.from_file(str(tmp_path / "tokenizer.json"))
    seq = corpus(1, 500)[0]
    assert hf.encode(seq).ids == tok.encode(seq).tolist()
    assert hf.decode(hf.encode(seq).ids) == seq


def test_random_fragments_tile_the_sequence_within_bounds():
    seq = "".join(RNG.choice(list("ACGT"), size=30_000))
    fragments = random_fragments(seq, np.random.default_rng(0))
    assert "".join(fragments) == seq
    lengths = np.array([len(f) for f in fragments])
    assert lengths.max() <= 500 and lengths.min() >= 1
    # Only a sentence's last fragment may be shorter than 50 nt; sentences are at least 50 nt long.
    assert (lengths < 50).mean() < 0.2 and np.median(lengths) > 200
    tiny = random_fragments("ACGT", np.random.default_rng(0))
    assert tiny == ["ACGT"] and random_fragments("", np.random.default_rng(0)) == []


def test_random_word_splitting_is_deterministic_per_seed():
    seq = "".join(RNG.choice(list("ACGT"), size=5000))
    same = [random_fragments(seq, np.random.default_rng(3)) for _ in range(2)]
    assert same[0] == same[1]
    assert random_fragments(seq, np.random.default_rng(4)) != same[0]

    seqs = corpus(4, 3000)
    a = KmerBPETokenizer.train(seqs, None, 300, word_splitting="random", seed=1, n_resamples=3)
    b = KmerBPETokenizer.train(seqs, None, 300, word_splitting="random", seed=1, n_resamples=3)
    c = KmerBPETokenizer.train(seqs, None, 300, word_splitting="random", seed=2, n_resamples=3)
    assert a.vocab == b.vocab and a.hf_tokenizer.to_str() == b.hf_tokenizer.to_str()
    assert a.hf_tokenizer.to_str() != c.hf_tokenizer.to_str()
    assert a.vocab_size == 300 and (a.word_splitting, a.k) == ("random", None)
    assert a.training == {"vocab_size": 300, "min_frequency": 0, "seed": 1, "n_resamples": 3,
                          "fragment_length": [50, 500], "max_sentence_length": 10_000}
    # Merges are not bounded by k, and a sequence is one word at encode time.
    assert max(len(t) for t in a.vocab) > 6
    for seq in seqs[:2]:
        assert a.decode(a.encode(seq), skip_special_tokens=True) == seq


def test_training_arguments_are_checked():
    with pytest.raises(ValueError, match="word_splitting"):
        KmerBPETokenizer.train(["ACGT"], 3, 50, word_splitting="bigbird")
    with pytest.raises(ValueError, match="positive k"):
        KmerBPETokenizer.train(["ACGT"], None, 50)
    with pytest.raises(ValueError, match="fragment lengths"):
        KmerBPETokenizer.train(["ACGT"], None, 50, word_splitting="random", fragment_length=(500, 50))


def test_generator_corpus_is_read_once(tmp_path):
    seqs = corpus(3, 800)
    consumed = []

    def reads():
        for s in seqs:
            consumed.append(s)
            yield s

    tok = KmerBPETokenizer.train(reads(), None, 120, word_splitting="random", seed=0, n_resamples=2)
    assert consumed == seqs and tok.vocab_size == 120
    tok.save_pretrained(tmp_path)
    assert tokenizers.from_pretrained(tmp_path).encode(seqs[0]).tolist() == tok.encode(seqs[0]).tolist()
