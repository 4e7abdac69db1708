"""Pooled embeddings of reference windows and mutated windows from a trained classifier's backbone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from tqdm import tqdm

from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import read_manifest, read_shards
from genolm.models.heads import TaskModel, pool_hidden_states
from genolm.objectives.base import encode

EMBEDDING_COLUMNS = ["kind", "split", "chrom", "ref_start", "ref_end", "chrom_length", "sample", "label", "lineage"]


@torch.no_grad()
def embed_sequences(task: TaskModel, tokenizer: Any, sequences: list[str], *, context_length: int, pooling: str,
                    batch_size: int = 32, device: str = "cpu", desc: str = "embedding") -> np.ndarray:
    """Pooled backbone states (the head's own pooling over the real tokens), one row per sequence."""
    task = task.to(device).eval()
    out = []
    for start in tqdm(range(0, len(sequences), batch_size), desc=desc, unit="batch", mininterval=5):
        ids, mask = encode(tokenizer, sequences[start : start + batch_size], context_length)
        output = task.backbone(ids.to(device), mask.to(device), with_logits=False)
        out.append(pool_hidden_states(output.hidden.float(), output.mask, pooling).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, task.backbone.d_model), dtype=np.float32)


def _windows(shards: Path, split: str, kind: str, lengths: dict[str, int], label_names: list[str]) -> pl.DataFrame:
    table = pl.from_arrow(read_shards(shards, split, columns=["sequence", "label", "sample", "chrom", "ref_start", "ref_end"]))
    return table.with_columns(
        pl.lit(kind).alias("kind"),
        pl.lit(split).alias("split"),
        pl.col("chrom").replace_strict(lengths, default=None, return_dtype=pl.Int64).alias("chrom_length"),
        pl.col("label").replace_strict(dict(enumerate(label_names)), default=None, return_dtype=pl.Utf8).alias("lineage"),
    )


def embedding_table(model_dir: Path, *, reference: Path, mutated_shards: Path, mutated_splits: list[str],
                    reference_shards: Path, context_length: int, device: str = "cpu") -> pl.DataFrame:
    """One row per window: descriptive columns (EMBEDDING_COLUMNS) and `embedding` (list of float32), from the
    fine-tuned model in `model_dir` (genolm.heads.load_task_model)."""
    from genolm.heads import load_task_model

    task, tokenizer, head = load_task_model(model_dir)
    lengths = ReferenceGenome(reference).lengths
    label_names = head["label_names"]
    parts = [_windows(mutated_shards, s, "mutated", lengths, label_names) for s in mutated_splits]
    for split in read_manifest(reference_shards)["splits"]:
        parts.append(_windows(reference_shards, split, "reference", lengths, label_names))
    table = pl.concat(parts, how="vertical_relaxed")
    vectors = embed_sequences(task, tokenizer, table["sequence"].to_list(), context_length=context_length,
                              pooling=head["pooling"], device=device)
    return table.select(EMBEDDING_COLUMNS).with_columns(
        pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1]))
    )
