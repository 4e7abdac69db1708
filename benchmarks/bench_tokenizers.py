"""Tokenizer throughput: encode_batch sequences/s of every genolm tokenizer at several lengths, side by side in one run.

The last rows compare the overlapping 6-mer tokenizer with Hugging Face's BertTokenizer (the full call with padding
to numpy arrays, and its Rust backend alone) on the input DNABERT feeds it: the space-separated k-mers, built
beforehand and not timed, so the ratios favour Hugging Face. Each cell is the best of --repeats timed calls on one batch of --bases-per-batch bases.

    python benchmarks/bench_tokenizers.py [--lengths 1000 10000] [--bases-per-batch 262144] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable

import numpy as np

from genolm.tokenizers import (
    ByteTokenizer,
    CharacterTokenizer,
    KmerBPETokenizer,
    KmerTokenizer,
    NonOverlappingKmerTokenizer,
    Tokenizer,
)


def random_sequences(rng: np.random.Generator, n: int, length: int) -> list[str]:
    # Mostly ACGT with some N and soft-masked stretches, as in a reference genome.
    letters = np.array(list("ACGTacgtN"))
    probs = np.array([0.22] * 4 + [0.03] * 4 + [0.0])
    probs[-1] = 1 - probs[:-1].sum()
    return ["".join(rng.choice(letters, size=length, p=probs)) for _ in range(n)]


def best_rate(call: Callable[[], object], n_sequences: int, repeats: int) -> float:
    call()  # warm-up: caches, thread pools
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return n_sequences / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--bases-per-batch", type=int, default=1 << 18)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bpe-corpus-bases", type=int, default=2_000_000,
                        help="bases the BPE tokenizers are trained on before timing")
    args = parser.parse_args()

    from transformers import BertTokenizer

    rng = np.random.default_rng(0)
    corpus = random_sequences(rng, max(1, args.bpe_corpus_bases // 100_000), 100_000)
    started = time.perf_counter()
    bpe6 = KmerBPETokenizer.train(corpus, 6, 5000)
    bpe_random = KmerBPETokenizer.train(corpus, None, 5000, word_splitting="random", seed=0, n_resamples=2)
    print(f"BPE training on {sum(map(len, corpus)):,} bases (6-mer and random splitting, 5,000 tokens): "
          f"{time.perf_counter() - started:.1f} s")

    kmer6 = KmerTokenizer(6)
    candidates: dict[str, Tokenizer] = {
        "character": CharacterTokenizer(),
        "byte": ByteTokenizer(),
        "kmer k=6": kmer6,
        "kmer k=6 stride=3": KmerTokenizer(6, stride=3),
        "nonoverlapping k=6": NonOverlappingKmerTokenizer(6),
        "kmer_bpe 6-mer words": bpe6,
        "kmer_bpe random words": bpe_random,
    }
    with tempfile.TemporaryDirectory() as tmp:
        kmer6.save_pretrained(tmp)
        bert = BertTokenizer(f"{tmp}/vocab.txt", do_lower_case=False)

    print(f"encode_batch, best of {args.repeats}, {args.bases_per_batch:,} bases per batch (sequences/s)")
    header = f"{'tokenizer':<24}" + "".join(f"{f'{n:,} nt':>14}" for n in args.lengths)
    print(header)
    batches = {n: random_sequences(rng, max(1, args.bases_per_batch // n), n) for n in args.lengths}
    rates: dict[str, dict[int, float]] = {}
    for label, tok in candidates.items():
        rates[label] = {n: best_rate(lambda b=batch, t=tok: t.encode_batch(b), len(batch), args.repeats)
                        for n, batch in batches.items()}
        print(f"{label:<24}" + "".join(f"{rates[label][n]:>14,.0f}" for n in args.lengths))

    hf_rates, backend_rates = {}, {}
    for n, batch in batches.items():
        sentences = [" ".join(s[i : i + 6].upper() for i in range(len(s) - 5)) for s in batch]
        hf_rates[n] = best_rate(lambda s=sentences: bert(s, padding=True, return_tensors="np"), len(batch),
                                args.repeats)
        # The Rust tokenizer alone, without transformers' padding and array conversion.
        backend_rates[n] = best_rate(lambda s=sentences: bert.backend_tokenizer.encode_batch_fast(s), len(batch),
                                     args.repeats)
    print(f"{'HF BertTokenizer 6-mers':<24}" + "".join(f"{hf_rates[n]:>14,.0f}" for n in args.lengths))
    print(f"{'  its Rust backend only':<24}" + "".join(f"{backend_rates[n]:>14,.0f}" for n in args.lengths))
    print(f"{'kmer k=6 / HF':<24}" + "".join(f"{rates['kmer k=6'][n] / hf_rates[n]:>13.1f}x" for n in args.lengths))
    print(f"{'kmer k=6 / HF backend':<24}"
          + "".join(f"{rates['kmer k=6'][n] / backend_rates[n]:>13.1f}x" for n in args.lengths))


if __name__ == "__main__":
    main()
