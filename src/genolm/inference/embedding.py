"""Sequence embeddings from any backbone: a layer, a pooling, long sequences chunked, strands averaged.

Layers. `layer=-1` (the default) is the backbone's final output, what heads read (`ModelOutput.hidden`: the
encoder's for ENBED). `layer=i >= 0` is the i-th entry of the stack's hidden states as Hugging Face counts them:
0 the token embeddings, i the output of block i (for BERT-style encoders the last index is the final output
too). For HyenaDNA, whose blocks add to a residual stream, i is that stream after block i and the last index
(the number of blocks) is the final normalized output.

Pooling over the real tokens of each input (genolm.models.heads.pool_hidden_states): `cls` the first token
([CLS] for the encoders), `mean` all of them, `last` the last one (the only position of a causal model that has
read the whole input).

Chunking. A sequence longer than `chunk` bases is cut into chunks of exactly `chunk` bases, consecutive chunks
overlapping by at least `overlap` bases: n = ceil((L - overlap) / (chunk - overlap)) chunks, starts spread
evenly from 0 to L - chunk. Every base is owned by one chunk: the bases two chunks share are split at the middle
of their overlap (the earlier chunk owns the first half). The sequence's embedding is the mean of its chunks'
pooled embeddings weighted by the bases each chunk owns (weights sum to L), so each base counts once.

Strands. With `strands="both"` the reverse complement is embedded the same way and the two embeddings are
averaged element-wise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from genolm.inference.variants import STRANDS
from genolm.sources.fasta import reverse_complement
from genolm.models.heads import POOLINGS, pool_hidden_states
from genolm.objectives.base import encode


def chunk_bounds(length: int, chunk: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, owned bases) of each chunk of a `length`-base sequence (module docstring)."""
    if chunk < 1 or not 0 <= overlap < chunk:
        raise ValueError(f"need chunk >= 1 and 0 <= overlap < chunk, got chunk {chunk}, overlap {overlap}")
    if length <= chunk:
        return [(0, length, length)]
    count = math.ceil((length - overlap) / (chunk - overlap))
    starts = [round(j * (length - chunk) / (count - 1)) for j in range(count)]
    ends = [s + chunk for s in starts]
    # Ownership boundaries: the middle of each overlap.
    cuts = [0] + [(starts[j + 1] + ends[j]) // 2 for j in range(count - 1)] + [length]
    return [(s, e, cuts[j + 1] - cuts[j]) for j, (s, e) in enumerate(zip(starts, ends))]


def layer_hidden_states(model: Any, ids: Tensor, mask: Tensor, layer: int) -> Tensor:
    """[B, L, D] hidden states at `layer` (module docstring) of a batch of framed, right-padded ids."""
    if layer == -1:
        return model(ids, mask, with_logits=False).hidden
    if layer < 0:
        raise ValueError(f"layer must be -1 (the final output) or a non-negative index, got {layer}")
    if model.name == "hyenadna":
        backbone = model.model.backbone
        if layer > len(backbone.layers):
            raise ValueError(f"layer {layer} out of range: the model has layers 0..{len(backbone.layers)}")
        if layer == len(backbone.layers):
            return backbone(ids)
        hidden, residual = backbone.embeddings(ids), None
        for block in backbone.layers[:layer]:
            hidden, residual = block(hidden, residual)
        return hidden if residual is None else hidden + residual
    if model.name in ("bert", "albert", "longformer", "longalbert"):
        stack = model.backbone if model.name == "longalbert" else getattr(model.hf, model.hf.base_model_prefix)
        extra = {}
        if model.name in ("longformer", "longalbert"):
            from genolm.models.longformer import longformer_inputs

            extra = longformer_inputs(model.config, ids, mask)
            extra.pop("attention_mask")
        states = stack(input_ids=ids, attention_mask=mask, output_hidden_states=True, **extra).hidden_states
    elif model.name == "enbed":
        states = model.hf.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    elif model.name == "enbed-decoder":
        states = model.stack(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False).hidden_states
    else:
        raise ValueError(f"per-layer states of a {model.name!r} model are not available: use layer -1")
    if layer >= len(states):
        raise ValueError(f"layer {layer} out of range: the model has layers 0..{len(states) - 1}")
    return states[layer][:, : ids.shape[1]]  # Longformer pads to its window internally


@torch.no_grad()
def embed_chunks(model: Any, tokenizer: Any, chunks: list[str], *, layer: int, pooling: str, max_tokens: int | None,
                 batch_size: int, device: str) -> np.ndarray:
    """Pooled embedding [N, D] of each chunk (each fits the model's context)."""
    out = []
    for start in range(0, len(chunks), batch_size):
        ids, mask = encode(tokenizer, chunks[start : start + batch_size], None)
        if max_tokens is not None and ids.shape[1] > max_tokens:
            raise ValueError(f"a chunk needs {ids.shape[1]} tokens, more than the model's {max_tokens}: use a "
                             "smaller chunk")
        hidden = layer_hidden_states(model, ids.to(device), mask.to(device), layer)
        out.append(pool_hidden_states(hidden.float(), mask.to(device), pooling).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.d_model), dtype=np.float32)


def embed_sequences(model: Any, tokenizer: Any, sequences: list[str], *, chunk: int, overlap: int, layer: int = -1,
                    pooling: str = "mean", strands: str = "forward", max_tokens: int | None = None,
                    batch_size: int = 16, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(embeddings [N, D] float32, chunks per sequence [N]) of `sequences` (module docstring)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if strands not in STRANDS:
        raise ValueError(f"strands must be one of {STRANDS}, got {strands!r}")
    model = model.to(device).eval()
    oriented = [sequences] if strands == "forward" else [sequences, [reverse_complement(s) for s in sequences]]
    if any(not s for s in sequences):
        raise ValueError("cannot embed an empty sequence")
    counts = np.zeros(len(sequences), dtype=np.int64)
    strand_means: list[np.ndarray] = []
    for strand in oriented:
        # Every chunk of every sequence, batched together; then each sequence's owned-base weighted mean.
        owner, chunks, weights = [], [], []
        for index, sequence in enumerate(strand):
            for start, end, owned in chunk_bounds(len(sequence), chunk, overlap):
                owner.append(index)
                chunks.append(sequence[start:end])
                weights.append(owned)
        vectors = np.concatenate([
            embed_chunks(model, tokenizer, chunks[start : start + batch_size], layer=layer, pooling=pooling,
                         max_tokens=max_tokens, batch_size=batch_size, device=device)
            for start in tqdm(range(0, len(chunks), batch_size), desc="embedding", unit="batch", mininterval=5)
        ]) if chunks else np.zeros((0, model.d_model))
        owner_index, weight = np.asarray(owner, dtype=np.int64), np.asarray(weights, dtype=np.float64)
        total = np.zeros((len(sequences), model.d_model), dtype=np.float64)
        np.add.at(total, owner_index, weight[:, None] * vectors)
        total_weight = np.bincount(owner_index, weights=weight, minlength=len(sequences))
        counts = np.bincount(owner_index, minlength=len(sequences))
        strand_means.append(total / total_weight[:, None])
    return np.mean(strand_means, axis=0).astype(np.float32), counts
