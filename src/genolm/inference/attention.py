"""Attention maps of one encoder layer, one per head, as a query x key matrix over the input's tokens (ENBED paper,
Figure 2: "We visualize the twelve attention heads of the pre-trained ENBED foundation model").

Models built on a Hugging Face transformer (`model.hf`: BERT, ALBERT, Longformer, ENBED's LongT5) are asked for
their attentions (`output_attentions=True`; the encoder's for an encoder-decoder). Dense attention comes as
[heads, L, L]. LongT5's transient-global attention comes per block: each block of `block_len` queries attends to
its own and the two neighbouring blocks (3 x block_len keys) and to the global tokens; here it is laid back onto
the [L, L] grid (keys outside a query's window are NaN: never attended), and the weight each query gives the global
tokens is returned apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genolm.objectives.base import encode


def _encoder(model: Any) -> Any:
    hf = getattr(model, "hf", None)
    if hf is None:
        raise ValueError(f"a {model.name!r} model has no Hugging Face transformer to ask for its attentions")
    if hasattr(hf, "get_encoder") and getattr(hf.config, "is_encoder_decoder", False):
        return hf.get_encoder()
    for name in ("bert", "albert", "longformer"):
        if hasattr(hf, name):
            return getattr(hf, name)
    return hf


def dense_from_blocks(blocks: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """LongT5 local attention [blocks, heads, block_len, 3 * block_len + globals] -> ([heads, length, length]
    with NaN outside each query's window, [heads, length, globals])."""
    n_blocks, heads, block_len, keys = blocks.shape
    n_global = keys - 3 * block_len
    dense = np.full((heads, length, length), np.nan, dtype=np.float32)
    global_weight = np.zeros((heads, length, max(n_global, 0)), dtype=np.float32)
    for b in range(n_blocks):
        for i in range(block_len):
            query = b * block_len + i
            if query >= length:
                break
            for k in range(3 * block_len):
                key = (b - 1) * block_len + k
                if 0 <= key < length:
                    dense[:, query, key] = blocks[b, :, i, k]
            global_weight[:, query] = blocks[b, :, i, 3 * block_len:]
    return dense, global_weight


@torch.no_grad()
def attention_maps(model: Any, tokenizer: Any, sequence: str, *, layer: int = -1) -> dict[str, np.ndarray]:
    """`maps` [heads, L, L] of encoder layer `layer` (-1: the last) for `sequence`, its `tokens` (strings), and
    for transient-global attention the weight on the global tokens (`global_weight` [heads, L, globals])."""
    ids, mask = encode(tokenizer, [sequence], len(tokenizer.encode(sequence)))
    encoder = _encoder(model)
    # Fused attention kernels (SDPA) return no weights: the eager implementation computes the same, with them.
    previous = getattr(model.hf.config, "_attn_implementation", None)
    if previous not in (None, "eager") and hasattr(model.hf, "set_attn_implementation"):
        model.hf.set_attn_implementation("eager")
    try:
        attentions = encoder(input_ids=ids, attention_mask=mask, output_attentions=True).attentions
    finally:
        if previous not in (None, "eager") and hasattr(model.hf, "set_attn_implementation"):
            model.hf.set_attn_implementation(previous)
    if not attentions:
        raise ValueError(f"a {model.name!r} model returned no attentions")
    if not -len(attentions) <= layer < len(attentions):
        raise ValueError(f"layer {layer} out of range: the encoder has {len(attentions)} layers")
    weights = attentions[layer][0].float().numpy()
    length = ids.shape[1]
    tokens = tokenizer.convert_ids_to_tokens(ids[0].numpy())
    if weights.ndim == 3:  # [heads, L, L]
        return {"maps": weights[:, :length, :length], "tokens": np.asarray(tokens)}
    dense, global_weight = dense_from_blocks(weights, length)
    return {"maps": dense, "global_weight": global_weight, "tokens": np.asarray(tokens)}
