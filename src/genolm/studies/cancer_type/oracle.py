"""The oracle baseline: a classifier that is *told* the mutations each window carries.

A sequence model sees a window's bases and must find its cell line's mutations itself; the oracle gets them as
a list. Its features are the window's mutational spectrum: single-base substitutions in their trinucleotide
context, folded onto the pyrimidine strand (the 96 SBS classes of COSMIC signatures), plus counts of insertions,
deletions and multi-base substitutions, all as counts per window. A logistic regression on them (scikit-learn)
shows how much lineage signal the mutations carry at a context length: the ceiling a sequence model could reach
by reading the mutations, not the reference regions they fall in.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genolm.datasets.shards import read_manifest, read_shards
from genolm.sources.reference import ReferenceGenome

_COMPLEMENT = str.maketrans("ACGT", "TGCA")
SBS_CLASSES = [f"{left}[{ref}>{alt}]{right}" for ref, alts in (("C", "AGT"), ("T", "ACG"))
               for alt in alts for left, right in itertools.product("ACGT", repeat=2)]
FEATURES = [*SBS_CLASSES, "insertion", "deletion", "mnv", "other"]
_INDEX = {name: i for i, name in enumerate(FEATURES)}


def sbs_class(context: str, alt: str) -> str | None:
    """`context` is the reference trinucleotide around the substituted base; None where it holds an N."""
    if len(context) != 3 or any(b not in "ACGT" for b in context + alt):
        return None
    if context[1] in "GA":  # fold onto the pyrimidine strand
        context, alt = context.translate(_COMPLEMENT)[::-1], alt.translate(_COMPLEMENT)
    return f"{context[0]}[{context[1]}>{alt}]{context[2]}"


def spectrum(mutations: list[dict], chrom: str, reference: ReferenceGenome) -> np.ndarray:
    counts = np.zeros(len(FEATURES), dtype=np.float32)
    for m in mutations:
        ref, alt = m["ref"], m["alt"]
        if len(ref) == len(alt) == 1:
            pos = m["pos"] - 1
            start, end = max(0, pos - 1), min(reference.lengths[reference.canonical(chrom)], pos + 2)
            name = sbs_class(reference.fetch(chrom, start, end), alt)
            counts[_INDEX[name or "other"]] += 1
        elif len(ref) == len(alt):
            counts[_INDEX["mnv"]] += 1
        else:
            counts[_INDEX["insertion" if len(alt) > len(ref) else "deletion"]] += 1
    return counts


def features(shards: Path, split: str, reference: ReferenceGenome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spectra [windows, features], labels, cell lines) of one split."""
    table = read_shards(shards, split, columns=["label", "sample", "chrom", "mutations"]).to_pylist()
    x = np.stack([spectrum(row["mutations"], row["chrom"], reference) for row in table]) if table else \
        np.zeros((0, len(FEATURES)), dtype=np.float32)
    return x, np.array([row["label"] for row in table]), np.array([row["sample"] for row in table])


def fit_and_score(shards: Path, reference: Path, label_names: list[str], seed: int) -> tuple[dict, pl.DataFrame]:
    """Fit on train, score every other split: metric values (as genolm.results.metric_rows takes them; per-class
    metrics named by `label_names`, the lineages in label order) and the per-window probabilities."""
    from genolm.metrics import classification_metrics, group_metrics

    import torch

    num_classes = len(label_names)
    genome = ReferenceGenome(reference)
    x, y, _ = features(shards, "train", genome)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)).fit(x, y)
    values: dict = {}
    predictions = []
    for split in (s for s in ("val", "test") if s in read_manifest(shards)["splits"]):
        x, y, groups = features(shards, split, genome)
        proba = np.zeros((len(y), num_classes), dtype=np.float32)
        proba[:, model.classes_] = model.predict_proba(x)
        metrics = classification_metrics(num_classes, label_names=label_names)
        metrics.update(torch.from_numpy(proba), torch.from_numpy(y))
        values.update({f"{split}@last/{k}": float(v) for k, v in metrics.compute().items()})
        values[f"{split}@last/chance_balanced_accuracy"] = 1 / num_classes
        values.update({f"{split}@last/{k}": v for k, v in group_metrics(proba, y, groups, seed=seed).items()})
        predictions.append(pl.DataFrame({"split": split, "checkpoint": "last", "index": np.arange(len(y)),
                                         "group": groups.astype(str), "label": y, "probabilities": proba}))
    return values, pl.concat(predictions)
