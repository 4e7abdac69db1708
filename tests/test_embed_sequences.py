"""Embeddings from any backbone (genolm.inference.embedding, `genolm embed-sequences`): layers, poolings, a
sequence ten times the context chunked with overlap and pooled by owned bases, strands, Parquet output."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from genolm import models, tokenizers
from genolm.inference.embedding import chunk_bounds, embed_sequences
from genolm.sources.fasta import reverse_complement
from genolm.models.heads import pool_hidden_states
from conftest import TINY_HYENADNA, run_genolm
from zoo_util import random_dna, zoo_test_setup  # noqa: F401 (autouse fixture: seeded, one thread)


def tiny_bert():
    tokenizer = tokenizers.build("kmer", k=3)
    model = models.build("bert", {"preset": "bert-tiny", "hidden_size": 32, "num_hidden_layers": 2,
                                  "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64},
                         tokenizer=tokenizer)
    return model.eval(), tokenizer


def tiny_hyenadna():
    return models.build("hyenadna", {k: v for k, v in TINY_HYENADNA.items() if k != "name"}).eval(), tokenizers.build("character")


@torch.no_grad()
def one(model, tokenizer, sequence: str, hidden_of, pooling: str) -> np.ndarray:
    """One sequence alone, framed as in training, no padding."""
    ids = torch.as_tensor(tokenizer.encode(sequence))[None]
    hidden = hidden_of(ids)
    return pool_hidden_states(hidden, torch.ones_like(ids), pooling)[0].numpy()


@pytest.mark.parametrize("pooling", ["cls", "mean", "last"])
def test_bert_layers_and_poolings(pooling):
    model, tokenizer = tiny_bert()
    sequences = random_dna(3, 30, seed=1) + ["ACGTTGCA"]  # a short one: padding must not leak into the pooling
    for layer, hidden_of in ((-1, lambda ids: model(ids).hidden),
                             (0, lambda ids: model.hf.bert.embeddings(input_ids=ids)),
                             (1, lambda ids: model.hf.bert(input_ids=ids, output_hidden_states=True).hidden_states[1])):
        vectors, chunks = embed_sequences(model, tokenizer, sequences, chunk=60, overlap=10, layer=layer,
                                          pooling=pooling, max_tokens=64)
        expected = np.stack([one(model, tokenizer, s, hidden_of, pooling) for s in sequences])
        np.testing.assert_allclose(vectors, expected, atol=1e-5)
        assert chunks.tolist() == [1, 1, 1, 1]
    cls, mean = (embed_sequences(model, tokenizer, sequences, chunk=60, overlap=10, pooling=p)[0] for p in ("cls", "mean"))
    assert not np.allclose(cls, mean)


def test_hyenadna_layers_count_embeddings_blocks_and_the_final_output():
    model, tokenizer = tiny_hyenadna()
    sequences = random_dna(2, 40, seed=2)
    final, _ = embed_sequences(model, tokenizer, sequences, chunk=60, overlap=0, layer=-1)
    last_index, _ = embed_sequences(model, tokenizer, sequences, chunk=60, overlap=0, layer=model.config.n_layer)
    embeddings, _ = embed_sequences(model, tokenizer, sequences, chunk=60, overlap=0, layer=0)
    np.testing.assert_allclose(final, last_index, atol=1e-6)
    expected = np.stack([one(model, tokenizer, s, lambda ids: model.model.backbone.embeddings(ids), "mean") for s in sequences])
    np.testing.assert_allclose(embeddings, expected, atol=1e-6)
    with pytest.raises(ValueError, match="out of range|exceeds"):
        embed_sequences(model, tokenizer, sequences, chunk=60, overlap=0, layer=model.config.n_layer + 5)


def test_chunk_bounds_cover_the_sequence_once_by_ownership():
    for length, chunk, overlap in ((640, 64, 16), (1000, 100, 0), (101, 100, 99), (64, 64, 10)):
        bounds = chunk_bounds(length, chunk, overlap)
        assert sum(owned for _, _, owned in bounds) == length
        assert bounds[0][0] == 0 and bounds[-1][1] == length
        assert all(end - start == min(chunk, length) for start, end, _ in bounds)
        assert all(b[0] < a[1] - overlap + 1 for a, b in zip(bounds, bounds[1:]))  # consecutive chunks share >= overlap


@torch.no_grad()
def test_a_sequence_ten_times_the_context_is_the_owned_base_weighted_mean_of_its_chunks():
    model, tokenizer = tiny_hyenadna()
    context = 64  # bases per chunk; the model's l_max is 66 tokens ([SEP] included)
    sequence = random_dna(1, 10 * context, seed=5)[0]
    overlap = 16
    vectors, chunks = embed_sequences(model, tokenizer, [sequence], chunk=context, overlap=overlap, pooling="mean",
                                      max_tokens=model.config.l_max)
    # The definition, written again: n chunks with starts spread evenly, each owning up to the middle of the
    # overlap it shares with the next one.
    n = math.ceil((len(sequence) - overlap) / (context - overlap))
    starts = [round(j * (len(sequence) - context) / (n - 1)) for j in range(n)]
    cuts = [0] + [(starts[j + 1] + starts[j] + context) // 2 for j in range(n - 1)] + [len(sequence)]
    owned = np.diff(cuts)
    per_chunk = np.stack([one(model, tokenizer, sequence[s : s + context], lambda ids: model(ids).hidden, "mean")
                          for s in starts])
    expected = (owned[:, None] * per_chunk).sum(axis=0) / owned.sum()
    assert chunks.tolist() == [n] and n >= 10
    np.testing.assert_allclose(vectors[0], expected, atol=1e-5)
    assert not np.allclose(vectors[0], per_chunk.mean(axis=0), atol=1e-7)  # the weights matter


def test_strands_both_averages_the_reverse_complement():
    model, tokenizer = tiny_bert()
    sequences = random_dna(2, 90, seed=6)
    both, _ = embed_sequences(model, tokenizer, sequences, chunk=60, overlap=20, strands="both")
    forward, _ = embed_sequences(model, tokenizer, sequences, chunk=60, overlap=20)
    reverse, _ = embed_sequences(model, tokenizer, [reverse_complement(s) for s in sequences], chunk=60, overlap=20)
    np.testing.assert_allclose(both, (forward + reverse) / 2, atol=1e-6)
    assert not np.allclose(forward, reverse)


def test_command_writes_parquet_from_a_fasta(tmp_path):
    model, tokenizer = tiny_bert()
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    sequences = random_dna(3, 200, seed=7)
    (tmp_path / "in.fa").write_text("".join(f">seq{i} description\n{s}\n" for i, s in enumerate(sequences)))
    run_genolm("embed-sequences", "--model", str(tmp_path / "model"), "--sequences", str(tmp_path / "in.fa"),
               "--out", str(tmp_path / "emb.parquet"), "--pooling", "cls", "--strands", "both", "--layer", "1")
    table = pl.read_parquet(tmp_path / "emb.parquet")
    assert table["id"].to_list() == ["seq0", "seq1", "seq2"]
    assert table["length"].to_list() == [200] * 3
    assert table.schema["embedding"] == pl.Array(pl.Float32, 32)
    # 64 positions hold [CLS] 62 3-mers [SEP]: 64-base chunks, default overlap 16 -> 4 chunks for 200 bases.
    assert table["chunks"].to_list() == [4] * 3
    expected, _ = embed_sequences(model, tokenizer, sequences, chunk=64, overlap=16, layer=1, pooling="cls",
                                  strands="both", max_tokens=64)
    np.testing.assert_allclose(np.stack(table["embedding"].to_list()), expected, atol=1e-5)


@pytest.mark.slow
def test_the_workflow_embeds_a_configured_dataset(tmp_path):
    """Config `embeddings`: rule embed_sequences runs `genolm embed-sequences` on a named dataset with its settings."""
    import subprocess
    import sys

    import yaml

    from conftest import REPO

    extra = tmp_path / "embeddings.yaml"
    extra.write_text(yaml.safe_dump({"embeddings": {"flu": {
        "model": "data/demo/backbones/tiny-1k/seed1", "sequences": "data/demo/enbed/sequences.fasta",
        "pooling": "last", "chunk": 16, "overlap": 4}}}))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(REPO / "config.yaml"), str(extra), "--cores", "1", "results/embeddings/flu.parquet"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600,
                            env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "results" / "logs" / "embed_sequences_flu.log").read_text()
    assert "--pooling last" in log.splitlines()[0] and "--chunk 16 --overlap 4" in log.splitlines()[0]
    table = pl.read_parquet(tmp_path / "results" / "embeddings" / "flu.parquet")
    fasta = (REPO / "data" / "demo" / "enbed" / "sequences.fasta").read_text()
    assert table.height == fasta.count(">") and (table["chunks"] > 1).any()
