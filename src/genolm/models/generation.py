"""Beam search over any zoo model that gives next-token logits (`model.next_token_logits`): the ENBED
encoder-decoder (the decoder reads the encoder's states) and the decoder-only ablation (a prefix language model
that reads the prompt and the generated tokens as one sequence).

One search for both, so that the arms of the mutation-generation comparison differ only in the model. It is the
textbook search Hugging Face's `generate(num_beams=...)` runs: `num_beams` hypotheses per input, each step
keeps the best `num_beams` extensions by summed log-probability; a hypothesis that emits the end token is
finished and carried along unchanged; the finished hypotheses are ranked by log-probability divided by their
length (`length_penalty` 1.0, Hugging Face's default). No key/value cache: every step reruns the decoder over the
prefix, which costs nothing that matters at the lengths of the study's pairs (500 nt) and keeps it model-agnostic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


@torch.no_grad()
def beam_search(step: Callable[[Tensor], Tensor], start: Tensor, *, num_beams: int, max_new_tokens: int,
                end_id: int, pad_id: int, length_penalty: float = 1.0) -> list[list[list[int]]]:
    """For each of the B rows of `start` [B, s] (the decoder's first tokens), the `num_beams` generated id lists
    (end token dropped), best first. `step(prefixes [B * num_beams, t])` returns the logits of the next token
    [B * num_beams, V]; rows b * num_beams .. (b + 1) * num_beams - 1 belong to input b."""
    if num_beams < 1 or max_new_tokens < 1:
        raise ValueError(f"need num_beams and max_new_tokens >= 1, got {num_beams}, {max_new_tokens}")
    batch, k = start.shape[0], num_beams
    prefixes = start.repeat_interleave(k, dim=0)
    scores = torch.full((batch, k), float("-inf"), device=start.device)
    scores[:, 0] = 0.0  # the beams start identical: only the first may extend, or the beams would duplicate
    finished = torch.zeros(batch * k, dtype=torch.bool, device=start.device)
    lengths = torch.zeros(batch * k, dtype=torch.long, device=start.device)
    for _ in range(max_new_tokens):
        logp = torch.log_softmax(step(prefixes).float(), dim=-1)
        vocab = logp.shape[-1]
        logp[finished] = float("-inf")
        logp[finished, pad_id] = 0.0  # a finished hypothesis only pads, at no cost
        top, index = (scores.reshape(-1, 1) + logp).reshape(batch, k * vocab).topk(k, dim=1)
        rows = (torch.arange(batch, device=start.device)[:, None] * k + index // vocab).reshape(-1)
        tokens = (index % vocab).reshape(-1)
        prefixes = torch.cat([prefixes[rows], tokens[:, None]], dim=1)
        was_finished = finished[rows]
        lengths = lengths[rows] + (~was_finished).long()
        finished = was_finished | (tokens == end_id)
        scores = top
        if bool(finished.all()):
            break
    ranked = (scores.reshape(-1) / lengths.clamp(min=1).float() ** length_penalty).reshape(batch, k)
    order = ranked.argsort(dim=1, descending=True)
    generated = prefixes[:, start.shape[1]:].tolist()
    out = []
    for b in range(batch):
        beams = []
        for j in order[b].tolist():
            ids = generated[b * k + j]
            beams.append(ids[: ids.index(end_id)] if end_id in ids else ids)
        out.append(beams)
    return out
