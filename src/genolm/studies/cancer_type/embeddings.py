"""Pooled embeddings of reference windows and mutated windows: from a fine-tuned classifier's backbone (its head's
pooling), or from a pretrained backbone with no fine-tuning (the thesis' Figures 4.1-4.4 embed with the pretrained
450K HyenaDNA; mean pooling, HyenaDNA's own fine-tuning default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from tqdm import tqdm

from genolm.errors import GenolmInputError
from genolm.models.base import require_capability
from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import read_manifest, read_shards
from genolm.models.heads import pool_hidden_states
from genolm.objectives.base import encode

EMBEDDING_COLUMNS = ["kind", "split", "chrom", "ref_start", "ref_end", "chrom_length", "sample", "label", "lineage"]


@torch.no_grad()
def embed_sequences(backbone: Any, tokenizer: Any, sequences: list[str], *, context_length: int, pooling: str,
                    batch_size: int = 32, device: str = "cpu", desc: str = "embedding") -> np.ndarray:
    """Pooled backbone states over the real tokens, one row per sequence."""
    backbone = backbone.to(device).eval()
    out = []
    for start in tqdm(range(0, len(sequences), batch_size), desc=desc, unit="batch", mininterval=5):
        ids, mask = encode(tokenizer, sequences[start : start + batch_size], context_length)
        output = backbone(ids.to(device), mask.to(device), with_logits=False)
        out.append(pool_hidden_states(output.hidden.float(), output.mask, pooling).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, backbone.d_model), dtype=np.float32)


def _windows(shards: Path, split: str, kind: str, lengths: dict[str, int], label_names: list[str]) -> pl.DataFrame:
    table = pl.from_arrow(read_shards(shards, split, columns=["sequence", "label", "sample", "chrom", "ref_start", "ref_end"]))
    return table.with_columns(
        pl.lit(kind).alias("kind"),
        pl.lit(split).alias("split"),
        pl.col("chrom").replace_strict(lengths, default=None, return_dtype=pl.Int64).alias("chrom_length"),
        pl.col("label").replace_strict(dict(enumerate(label_names)), default=None, return_dtype=pl.Utf8).alias("lineage"),
    )


def embedding_table(model_dir: Path, *, reference: Path, mutated_shards: Path, mutated_splits: list[str],
                    reference_shards: Path, context_length: int, label_names: list[str] | None = None,
                    batch_size: int = 32, device: str = "cpu") -> pl.DataFrame:
    """One row per window: descriptive columns (EMBEDDING_COLUMNS) and `embedding` (list of float32). `model_dir`
    is a fine-tuned model (genolm.heads.load_task_model: its backbone, its head's pooling and label names) or a
    pretrained backbone (genolm.inference.loading.load_model, mean pooling; `label_names` name the shards' labels)."""
    from genolm.heads.model_dir import HEAD_FILE, load_task_model
    from genolm.inference.loading import load_model

    if (Path(model_dir) / HEAD_FILE).is_file():
        task, tokenizer, head = load_task_model(model_dir)
        backbone, pooling, label_names = task.backbone, head["pooling"], head["label_names"]
    else:
        if label_names is None:
            raise GenolmInputError(model_dir, "a backbone without a head: give the shards' label names (--label-names)")
        backbone, tokenizer = load_model(model_dir)
        try:
            require_capability(backbone, "pooled_embedding", "genolm embed")
        except ValueError as error:
            raise GenolmInputError(model_dir, str(error)) from None
        pooling = "mean"
    lengths = ReferenceGenome(reference).lengths
    parts = [_windows(mutated_shards, s, "mutated", lengths, label_names) for s in mutated_splits]
    for split in read_manifest(reference_shards)["splits"]:
        parts.append(_windows(reference_shards, split, "reference", lengths, label_names))
    table = pl.concat(parts, how="vertical_relaxed")
    vectors = embed_sequences(backbone, tokenizer, table["sequence"].to_list(), context_length=context_length,
                              pooling=pooling, batch_size=batch_size, device=device)
    return table.select(EMBEDDING_COLUMNS).with_columns(
        pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1]))
    )
