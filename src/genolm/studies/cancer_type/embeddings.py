"""Pooled embeddings of reference windows and mutated windows from a trained classifier's backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import torch
from tqdm import tqdm

from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import read_manifest, read_shards
from genolm.models.heads import SequenceClassifier
from genolm.tokenizers import CharacterTokenizer

EMBEDDING_COLUMNS = ["kind", "split", "chrom", "ref_start", "ref_end", "chrom_length", "sample", "label", "lineage"]


@torch.no_grad()
def embed_sequences(classifier: SequenceClassifier, sequences: list[str], *, context_length: int, batch_size: int = 32,
                    device: str = "cpu", desc: str = "embedding") -> np.ndarray:
    tokenizer = CharacterTokenizer()
    classifier = classifier.to(device).eval()
    out = []
    for start in tqdm(range(0, len(sequences), batch_size), desc=desc, unit="batch", mininterval=5):
        ids, mask = tokenizer.encode_batch(sequences[start : start + batch_size], max_length=context_length + 1,
                                           padding_side="left")
        pooled = classifier.embed(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
        out.append(pooled.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, classifier.classifier.in_features), dtype=np.float32)


def _windows(shards: Path, split: str, kind: str, lengths: dict[str, int], label_names: list[str]) -> pl.DataFrame:
    table = pl.from_arrow(read_shards(shards, split, columns=["sequence", "label", "sample", "chrom", "ref_start", "ref_end"]))
    return table.with_columns(
        pl.lit(kind).alias("kind"),
        pl.lit(split).alias("split"),
        pl.col("chrom").replace_strict(lengths, default=None, return_dtype=pl.Int64).alias("chrom_length"),
        pl.col("label").replace_strict(dict(enumerate(label_names)), default=None, return_dtype=pl.Utf8).alias("lineage"),
    )


def embedding_table(classifier: SequenceClassifier, meta: dict, *, reference: Path, mutated_shards: Path,
                    mutated_splits: list[str], reference_shards: Path, device: str = "cpu") -> pl.DataFrame:
    """One row per window: descriptive columns (EMBEDDING_COLUMNS) and `embedding` (list of float32)."""
    lengths = ReferenceGenome(reference).lengths
    label_names = meta["label_names"]
    parts = [_windows(mutated_shards, s, "mutated", lengths, label_names) for s in mutated_splits]
    for split in read_manifest(reference_shards)["splits"]:
        parts.append(_windows(reference_shards, split, "reference", lengths, label_names))
    table = pl.concat(parts, how="vertical_relaxed")
    vectors = embed_sequences(classifier, table["sequence"].to_list(), context_length=meta["context_length"], device=device)
    return table.select(EMBEDDING_COLUMNS).with_columns(
        pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1]))
    )
