"""`generation`: the `target_sequence` of each input (e.g. parent -> child), by an encoder-decoder (ENBED), a
decoder-only model as a prefix language model (input, end token, target) or copy-the-parent.

The backbone's own language-model head generates, so the head adds no layer: the model is trained with teacher
forcing (genolm.training.modules.Seq2SeqModule), the checkpoint is chosen on validation loss, and each evaluation
split is scored by beam search (genolm.models.generation): exact match of the top-1 and top-k candidates, mean
and median Levenshtein distance of the top-1 (genolm.metrics.generation_metrics)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor, nn

from genolm.errors import GenolmInputError
from genolm.heads.backbone import copies_its_input, generates, is_causal, is_encoder_decoder
from genolm.heads.base import Head, SplitEvaluation
from genolm.heads.registry import register
from genolm.models.base import end_of_sequence_id
from genolm.objectives.base import encode


@register
class Generation(Head):
    name = "generation"
    label_column = "target_sequence"
    monitor, monitor_mode = "val/loss", "min"
    history_metrics = ("val/token_accuracy",)
    teacher_forced = True
    scarce_labels = False

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.causal = False  # set by build: a decoder-only model reads input and target as one sequence

    def check_backbone(self, backbone: Any) -> None:
        if not generates(backbone):
            raise GenolmInputError("spec", f"a generation head needs a model that generates (encoder-decoder, "
                                           f"decoder-only with next_token_logits, or copy); {backbone.name!r} does not")

    def build(self, backbone: Any) -> None:
        self.causal = is_causal(backbone)
        return None  # the model's own language-model head generates

    def unfreeze_groups(self, backbone: Any) -> list[nn.Module] | None:
        return None  # the decoder generates too: every layer group of the model

    def collate(self, tokenizer: Any, sequences: list[str], targets: list, max_length: int) -> dict[str, Tensor]:
        return PairCollator(tokenizer, max_length, causal=self.causal)(list(zip(sequences, targets)))

    def evaluate_split(self, evaluation: SplitEvaluation) -> tuple[dict[str, float], pl.DataFrame]:
        from genolm.metrics import generation_metrics

        candidates = generate_candidates(evaluation.backbone, evaluation.tokenizer, evaluation.sequences,
                                         max_length=evaluation.max_length, num_beams=self.spec["num_beams"],
                                         batch_size=evaluation.batch_size)
        values = generation_metrics(candidates, list(evaluation.targets), self.spec["top_k"])
        return values, generation_frame(evaluation.split, evaluation.checkpoint, evaluation.targets, candidates)


def generation_frame(split: str, checkpoint: str, targets: np.ndarray, candidates: list[list[str]]) -> pl.DataFrame:
    """predictions.parquet rows of a generating model: each input's target and its candidates, best first."""
    return pl.DataFrame({"split": [split] * len(targets), "checkpoint": [checkpoint] * len(targets),
                         "index": np.arange(len(targets)), "target": list(targets), "candidates": candidates},
                        schema={"split": pl.Utf8, "checkpoint": pl.Utf8, "index": pl.Int64, "target": pl.Utf8,
                                "candidates": pl.List(pl.Utf8)})


def target_rows(tokenizer: Any, sequences: list[str], max_length: int) -> list[np.ndarray]:
    """Each sequence's tokens without framing, cut to max_length - 1, then the end token: what a decoder emits."""
    flat, lengths = tokenizer.encode_ragged(sequences)
    end = np.asarray([end_of_sequence_id(tokenizer)], dtype=np.int64)
    bodies = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return [np.concatenate([body[: max_length - 1], end]) for body in bodies]


def pad_rows(rows: list[np.ndarray], value: int) -> tuple[Tensor, Tensor]:
    """Right-padded [B, T] ids and their mask."""
    ids = torch.full((len(rows), max(map(len, rows))), value, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.from_numpy(row)
        mask[i, : len(row)] = 1
    return ids, mask


class PairCollator:
    """(input, target) sequence pairs -> a teacher-forced batch whose `labels` line up with the model's logits.

    encoder-decoder   input_ids: the input (framed as the tokenizer frames it); labels: target tokens + end
                      (the model shifts them right behind its decoder start token)
    decoder-only      input_ids: input tokens, end, target tokens, end (a prefix LM); labels[t] = input_ids[t + 1]
                      on the target's positions and the end token, -100 on the prompt
    Inputs and targets are each cut to `max_length` tokens."""

    def __init__(self, tokenizer: Any, max_length: int, causal: bool):
        self.tokenizer, self.max_length, self.causal = tokenizer, max_length, causal

    def __call__(self, batch: list[tuple[str, str]]) -> dict[str, Tensor]:
        sources, targets = (list(x) for x in zip(*batch))
        target = target_rows(self.tokenizer, targets, self.max_length)
        if not self.causal:
            ids, mask = encode(self.tokenizer, sources, self.max_length)
            labels, _ = pad_rows(target, -100)
            return {"input_ids": ids, "attention_mask": mask, "labels": labels}
        prompts = target_rows(self.tokenizer, sources, self.max_length)
        rows = [np.concatenate([p, t]) for p, t in zip(prompts, target)]
        ids, mask = pad_rows(rows, self.tokenizer.pad_id)
        labels = torch.full_like(ids, -100)
        for i, (prompt, row) in enumerate(zip(prompts, rows)):
            start = len(prompt) - 1  # the prompt's end token predicts the target's first token
            labels[i, start : len(row) - 1] = torch.from_numpy(row[start + 1 :])
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@torch.no_grad()
def generate_candidates(model: Any, tokenizer: Any, sources: list[str], *, max_length: int, num_beams: int,
                        batch_size: int) -> list[list[str]]:
    """The `num_beams` beam-search candidates of every source, best first (one process, the model's device).

    The encoder-decoder reads right-padded inputs; the decoder-only model reads its prompt (input tokens) and
    the generated tokens as one sequence, so its inputs are batched by length and never padded."""
    from genolm.models.generation import beam_search

    if copies_its_input(model):
        return model.generate(sources)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    end_id, pad_id = end_of_sequence_id(tokenizer), tokenizer.pad_id
    out: dict[int, list[str]] = {}
    encoder_decoder = is_encoder_decoder(model)
    if encoder_decoder:
        start_id = model.config.decoder_start_token_id
        batches = [list(range(i, min(i + batch_size, len(sources)))) for i in range(0, len(sources), batch_size)]
    else:
        prompts = [row[:-1] for row in target_rows(tokenizer, sources, max_length)]
        by_length: dict[int, list[int]] = {}
        for index, prompt in enumerate(prompts):
            by_length.setdefault(len(prompt), []).append(index)
        batches = [group[i : i + batch_size] for group in by_length.values() for i in range(0, len(group), batch_size)]
    for members in batches:
        if encoder_decoder:
            ids, mask = encode(tokenizer, [sources[i] for i in members], max_length)
            start = torch.full((len(members), 1), start_id, dtype=torch.long)
        else:
            ids = torch.from_numpy(np.stack([prompts[i] for i in members]))
            mask = torch.ones_like(ids)
            start = torch.full((len(members), 1), end_id, dtype=torch.long)  # the prompt ends with the end token
        ids, mask = (t.repeat_interleave(num_beams, dim=0).to(device) for t in (ids, mask))
        cache: dict[str, Tensor | None] = {"encoder": None}

        def step(prefixes: Tensor) -> Tensor:
            logits, cache["encoder"] = model.next_token_logits(ids, mask, prefixes, cache["encoder"])
            return logits

        beams = beam_search(step, start.to(device), num_beams=num_beams, max_new_tokens=max_length,
                            end_id=end_id, pad_id=pad_id)
        for index, candidates in zip(members, beams):
            out[index] = [tokenizer.decode(c, skip_special_tokens=True) for c in candidates]
    model.train(was_training)
    return [out[i] for i in range(len(sources))]
