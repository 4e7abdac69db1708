"""Chromatin profiles (thesis 4.2.4, Table 5.4): the DeepSEA bundle -> multi-label shards, and the k-mer baseline.

Dataset. `train.mat` (MATLAB 7.3 / HDF5), `valid.mat` and `test.mat` (MATLAB v5) are read by
genolm.sources.deepsea (one-hot in A/G/C/T order decoded to strings). Each file is one split (the bundle's own
split: train / val / test; the thesis instead re-split the first 200,000 examples of train.mat 81/9/10). The first
`max_examples` of each file are kept (thesis: 200,000 of train.mat). Each row: `sequence`, `targets` = the chosen
label columns (float 0/1, all 919 by default), `sample` = "<file>:<index>". The model reads the first
context_length - 2 tokens of each sequence, as the thesis did.

Labels are named `<group>:<column>` (DeepSEA's columns carry no names in the .mat files): DNase 0-124, TF 125-814,
Histone 815-918 (genolm.sources.deepsea.LABEL_GROUPS); the groups' mean AUROCs are Table 5.4's per-group columns.

Baseline (`kmer_baseline`): one L2 logistic regression per label on the k-mer frequencies of the same sequences
(genolm.models.baselines.kmer_spectrum), scored with the same AUROC metrics as the models.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from genolm.sources.deepsea import LABEL_GROUPS, N_LABELS

SPLIT_FILES = {"train": "train", "val": "valid", "test": "test"}  # shard split -> the arrays' split in the bundle


def group_of(column: int) -> str:
    for group, columns in LABEL_GROUPS.items():
        if column in columns:
            return group
    raise ValueError(f"label column {column} is outside 0..{N_LABELS - 1}")


def label_names(columns: list[int] | None) -> list[str]:
    return [f"{group_of(c)}:{c}" for c in (range(N_LABELS) if columns is None else columns)]


def label_groups(columns: list[int] | None) -> dict[str, list[str]]:
    """Group -> its label names among the chosen columns (groups without a chosen column are left out)."""
    groups: dict[str, list[str]] = {}
    for name in label_names(columns):
        groups.setdefault(name.split(":")[0], []).append(name)
    return groups


def chromatin_table(split: str, sequences: list[str], labels: np.ndarray, columns: list[int] | None,
                    source: str, first_id: int) -> pa.Table:
    """Shard rows (shard_schema(targets=True)) of one split."""
    targets = labels if columns is None else labels[:, columns]
    n = len(sequences)
    return pa.table({
        "sequence": pa.array(sequences, pa.large_string()),
        "label": pa.nulls(n, pa.int64()),
        "sample": pa.array([f"{source}:{i}" for i in range(n)], pa.string()),
        "targets": pa.array(list(targets.astype(np.float32)), pa.list_(pa.float32())),
        "split": pa.array([split] * n, pa.string()),
        "window_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
    })


def kmer_baseline(train: tuple[list[str], np.ndarray], evaluate: dict[str, tuple[list[str], np.ndarray]], *,
                  names: list[str], groups: dict[str, list[str]], k: int, C: float) -> dict[str, float]:
    """"split@last/metric" -> value of one logistic regression per label on k-mer frequencies. A label without
    both classes in the training split predicts its training prevalence (AUROC 0.5)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from genolm.metrics import multilabel_metrics
    from genolm.models.baselines import kmer_spectrum

    features = kmer_spectrum(train[0], k)
    scaled = {split: kmer_spectrum(seqs, k) for split, (seqs, _) in evaluate.items()}
    probabilities = {split: np.zeros((len(seqs), len(names)), dtype=np.float32) for split, (seqs, _) in evaluate.items()}
    for column in range(len(names)):
        y = train[1][:, column]
        if y.min() == y.max():
            for split in probabilities:
                probabilities[split][:, column] = y.mean()
            continue
        model = LogisticRegression(C=C, max_iter=2000).fit(features, y.astype(int))
        for split in probabilities:
            probabilities[split][:, column] = model.predict_proba(scaled[split])[:, 1]
    values: dict[str, float] = {}
    for split, (_, targets) in evaluate.items():
        metrics = multilabel_metrics(names, groups)
        metrics.update(torch.from_numpy(probabilities[split]), torch.from_numpy(targets.astype(np.int64)))
        values.update({f"{split}@last/{key}": float(value) for key, value in metrics.compute().items()})
        values[f"{split}@last/examples"] = float(len(targets))
    return values
