"""Mutation-generation candidates ranked by the noise-identification classifier (the paper's Methods, "Mutation
generation": the five beam-search candidates are ranked "using the noise identification pipeline above", and the
one "least likely to be identified as having noise present" is the prediction).

A generation job writes its candidates in beam order (most likely first: its top-1 is the likeliest beam). Here
each candidate gets the classifier's probability of the noisy class and the candidates are reordered by it,
lowest first; equal probabilities keep beam order. Top-k over all k candidates is unchanged by a reordering; top-1
and the edit distance of the first candidate are what the ranking decides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from tqdm import tqdm

from genolm.errors import GenolmInputError
from genolm.metrics import generation_metrics
from genolm.objectives.base import encode

PREDICTION_COLUMNS = ("split", "checkpoint", "index", "target", "candidates")


def load_classifier(model_dir: Path, noisy_label: str) -> tuple[Any, Any, int]:
    """(task model, tokenizer, index of `noisy_label` among its head's labels) of a fine-tuned classifier."""
    from genolm.heads.model_dir import load_task_model

    task, tokenizer, head = load_task_model(model_dir)
    labels = head.get("label_names") or []
    if head.get("name") != "classification" or noisy_label not in labels:
        raise GenolmInputError(model_dir, f"not a classifier with a {noisy_label!r} class (head {head.get('name')!r}, "
                                          f"labels {labels})")
    return task, tokenizer, labels.index(noisy_label)


@torch.no_grad()
def noise_probabilities(task: Any, tokenizer: Any, noisy: int, sequences: list[str], *, batch_size: int = 64,
                        device: str = "cpu") -> np.ndarray:
    """The classifier's probability of the noisy class for each sequence."""
    task = task.to(device).eval()
    out = []
    for start in tqdm(range(0, len(sequences), batch_size), desc="noise classifier", unit="batch", mininterval=5):
        batch = sequences[start : start + batch_size]
        ids, mask = encode(tokenizer, batch, max(len(tokenizer.encode(s)) for s in batch))
        logits = task(ids.to(device), mask.to(device)).float()
        out.append(torch.softmax(logits, dim=-1)[:, noisy].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def rank_predictions(predictions: pl.DataFrame, probabilities: np.ndarray) -> pl.DataFrame:
    """`predictions` (one row per example, `candidates` in beam order) with the candidates reordered by
    `probabilities` (one per candidate, in the order the rows' candidates are listed), lowest first, and their
    probabilities in `noise_probability`."""
    lengths = predictions["candidates"].list.len().to_numpy()
    if int(lengths.sum()) != len(probabilities):
        raise ValueError(f"{len(probabilities)} probabilities for {int(lengths.sum())} candidates")
    ranked, scores, start = [], [], 0
    for candidates, n in zip(predictions["candidates"].to_list(), lengths):
        p = probabilities[start : start + n]
        order = np.argsort(p, kind="stable")
        ranked.append([candidates[i] for i in order])
        scores.append([float(p[i]) for i in order])
        start += n
    return predictions.with_columns(pl.Series("candidates", ranked, dtype=pl.List(pl.Utf8)),
                                    pl.Series("noise_probability", scores, dtype=pl.List(pl.Float64)))


def ranked_metrics(predictions: pl.DataFrame) -> dict[str, float]:
    """generation_metrics of each split and checkpoint, keyed "split@checkpoint/metric" (genolm.results.metric_rows),
    top-k at the number of candidates."""
    k = int(predictions["candidates"].list.len().max() or 1)
    values = {}
    for (split, checkpoint), rows in predictions.group_by(["split", "checkpoint"], maintain_order=True):
        metrics = generation_metrics(rows["candidates"].to_list(), rows["target"].to_list(), top_k=(k,))
        values.update({f"{split}@{checkpoint}/{name}": value for name, value in metrics.items()})
        values[f"{split}@{checkpoint}/examples"] = float(rows.height)
    return values


def read_predictions(path: Path) -> pl.DataFrame:
    try:
        table = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(path, f"cannot read: {error}") from None
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise GenolmInputError(path, f"not a generation job's predictions: no column {', '.join(missing)}")
    empty = table.filter(pl.col("candidates").list.len() == 0)
    if empty.height:
        raise GenolmInputError(path, "an example without candidates",
                               record=f"split {empty['split'][0]}, index {empty['index'][0]}")
    return table.select(PREDICTION_COLUMNS)
