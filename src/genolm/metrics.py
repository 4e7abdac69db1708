"""Evaluation metrics: torchmetrics collections the training modules update batch by batch and compute at the end
of an epoch (synchronized across processes under DDP), and the bootstrap over units, written here because it
scores a thousand resamples in one matrix product (about 300x scikit-learn per resample, benchmarks/bench_bootstrap.py;
tested equal to it resample by resample).

    classification_metrics   accuracy, balanced accuracy (= macro recall), macro recall, macro F1, Matthews
                             correlation (multi-class), macro AUROC, top-k accuracy; per class c: recall
                             (`recall_class<c>`), one-vs-rest F1 (`f1_class<c>`: with two classes, the binary F1
                             with c as the positive class, e.g. phage) and the share of examples predicted c
                             (`predicted_rate_class<c>`)
    multilabel_metrics       AUROC per label and per label group (mean of the group's per-label AUROCs), macro F1
    token_metrics            masked-token accuracy and perplexity over the scored positions (labels != -100)
    localization_metrics     accuracy of the predicted site token, and top-k
    levenshtein              mean edit distance between generated and reference sequences
    generation_metrics       exact match of the top-1 / top-k candidates, mean and median edit distance
    group_metrics            per-unit metrics (a cell line's or genome's examples average their probabilities)
                             and bootstrap intervals over units (vectorized; equal to scikit-learn's per resample)

The unit a label belongs to (a cell line, a genome) is the unit of confidence intervals: the windows of one cell
line are not independent draws, so the intervals resample units, never windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

import torchmetrics
from torch import Tensor
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassF1Score,
    MulticlassMatthewsCorrCoef,
    MulticlassRecall,
    MulticlassStatScores,
    MultilabelAUROC,
    MultilabelF1Score,
)
from torchmetrics.text import EditDistance, Perplexity
from torchmetrics.wrappers import ClasswiseWrapper


class PredictedClassRate(MulticlassStatScores):
    """Share of the examples predicted as each class, (TP + FP) / N per class, from torchmetrics' stat scores
    (e.g. how often a phage classifier says "phage": the documents saw every model over-predict it)."""

    def __init__(self, num_classes: int):
        super().__init__(num_classes, average=None)

    def compute(self) -> Tensor:
        tp, fp, tn, fn = self._final_state()[:4]
        return (tp + fp).float() / (tp + fp + tn + fn).clamp(min=1).float()


def classification_metrics(num_classes: int, top_k: Sequence[int] = (2,)) -> torchmetrics.MetricCollection:
    metrics: dict[str, torchmetrics.Metric] = {
        "accuracy": MulticlassAccuracy(num_classes, average="micro"),
        # Balanced accuracy is the mean of the per-class recalls: each class weighs the same whatever its size.
        "balanced_accuracy": MulticlassAccuracy(num_classes, average="macro"),
        "recall_macro": MulticlassRecall(num_classes, average="macro"),
        "f1_macro": MulticlassF1Score(num_classes, average="macro"),
        "mcc": MulticlassMatthewsCorrCoef(num_classes),
        "auroc_macro": MulticlassAUROC(num_classes, average="macro"),
    }
    for k in top_k:
        if 1 < k < num_classes:
            metrics[f"top{k}_accuracy"] = MulticlassAccuracy(num_classes, top_k=k, average="micro")
    # Per class c (by label index): recall_class<c>, f1_class<c> (one-vs-rest: the binary F1 with c positive),
    # predicted_rate_class<c>.
    metrics["recall_per_class"] = ClasswiseWrapper(MulticlassRecall(num_classes, average=None), prefix="recall_class")
    metrics["f1_per_class"] = ClasswiseWrapper(MulticlassF1Score(num_classes, average=None), prefix="f1_class")
    metrics["predicted_rate_per_class"] = ClasswiseWrapper(PredictedClassRate(num_classes), prefix="predicted_rate_class")
    # compute_groups=False: torchmetrics would otherwise merge metrics whose states happen to be equal after the
    # first batch (top-1 and top-k accuracy when the first batch's top-1 predictions are all right) and report
    # top-k = top-1 from then on.
    return torchmetrics.MetricCollection(metrics, compute_groups=False)


class GroupedMultilabelAUROC(torchmetrics.Metric):
    """AUROC of every label (`auroc/<label>`) and the mean over each group of labels (`auroc_group/<group>`),
    e.g. DeepSEA's transcription factors, DNase and histone marks. Per-label AUROC comes from torchmetrics."""

    full_state_update = False

    def __init__(self, label_names: Sequence[str], groups: Mapping[str, Sequence[str]] | None = None):
        super().__init__()
        self.label_names = list(label_names)
        index = {name: i for i, name in enumerate(self.label_names)}
        self.groups = {}
        for group, members in (groups or {}).items():
            unknown = [m for m in members if m not in index]
            if unknown:
                raise ValueError(f"label group {group!r} names unknown labels {unknown}")
            self.groups[group] = [index[m] for m in members]
        self.auroc = MultilabelAUROC(num_labels=len(self.label_names), average=None)

    def update(self, preds: Tensor, target: Tensor) -> None:
        self.auroc.update(preds, target.long())

    def compute(self) -> dict[str, Tensor]:
        per_label = self.auroc.compute()
        out = {f"auroc/{name}": per_label[i] for i, name in enumerate(self.label_names)}
        for group, members in self.groups.items():
            out[f"auroc_group/{group}"] = per_label[members].mean()
        out["auroc_macro"] = per_label.mean()
        return out

    def reset(self) -> None:
        super().reset()
        self.auroc.reset()


def multilabel_metrics(label_names: Sequence[str], groups: Mapping[str, Sequence[str]] | None = None) -> torchmetrics.MetricCollection:
    return torchmetrics.MetricCollection({
        "auroc": GroupedMultilabelAUROC(label_names, groups),
        "f1_macro": MultilabelF1Score(num_labels=len(label_names), average="macro"),
    })


class MaskedTokenAccuracy(MulticlassAccuracy):
    """Accuracy over the scored tokens of [B, L, V] logits and [B, L] labels (-100 = not scored)."""

    def __init__(self, vocab_size: int):
        super().__init__(num_classes=vocab_size, average="micro", ignore_index=-100)

    def update(self, logits: Tensor, labels: Tensor) -> None:
        super().update(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1))


def token_metrics(vocab_size: int) -> torchmetrics.MetricCollection:
    return torchmetrics.MetricCollection({
        "masked_accuracy": MaskedTokenAccuracy(vocab_size),
        "perplexity": Perplexity(ignore_index=-100),
    })


def localization_metrics(max_tokens: int, top_k: Sequence[int] = (3,)) -> torchmetrics.MetricCollection:
    metrics: dict[str, torchmetrics.Metric] = {"accuracy": MulticlassAccuracy(max_tokens, average="micro")}
    for k in top_k:
        if 1 < k < max_tokens:
            metrics[f"top{k}_accuracy"] = MulticlassAccuracy(max_tokens, top_k=k, average="micro")
    # compute_groups=False: torchmetrics would otherwise merge metrics whose states happen to be equal after the
    # first batch (top-1 and top-k accuracy when the first batch's top-1 predictions are all right) and report
    # top-k = top-1 from then on.
    return torchmetrics.MetricCollection(metrics, compute_groups=False)


def levenshtein() -> EditDistance:
    """Mean character-level edit distance between predicted and reference strings."""
    return EditDistance(reduction="mean")


def generation_metrics(candidates: Sequence[Sequence[str]], targets: Sequence[str],
                       top_k: Sequence[int] = (5,)) -> dict[str, float]:
    """Sequence-to-sequence scores of ranked candidates (best first) against the reference targets:
    `exact_match_top1` and `exact_match_top<k>` (share of targets equal to the first / one of the first k
    candidates), and `levenshtein_mean` / `levenshtein_median` of the first candidate (torchmetrics' edit
    distance: substitutions, insertions and deletions). `examples` counts the pairs."""
    from torchmetrics.functional.text import edit_distance

    if len(candidates) != len(targets) or not targets:
        raise ValueError(f"need one candidate list per target, got {len(candidates)} for {len(targets)}")
    if any(not c for c in candidates):
        raise ValueError("every target needs at least one candidate")
    first = [c[0] for c in candidates]
    distances = edit_distance(first, list(targets), reduction="none").double().numpy()
    out = {"examples": float(len(targets)), "exact_match_top1": float(np.mean([c == t for c, t in zip(first, targets)])),
           "levenshtein_mean": float(distances.mean()), "levenshtein_median": float(np.median(distances))}
    for k in top_k:
        if k > 1:
            out[f"exact_match_top{k}"] = float(np.mean([t in c[:k] for c, t in zip(candidates, targets)]))
    return out


def unit_resamples(n_units: int, *, seed: int, resamples: int = 1000) -> np.ndarray:
    """How often each of `n_units` units is drawn in each of `resamples` bootstrap draws (with replacement, as
    many draws as units): a [resamples, n_units] matrix of multiplicities, each row summing to n_units."""
    rng = np.random.default_rng(seed)
    # One draw per resample, as the per-resample loop drew them: the intervals stay those already reported.
    drawn = np.stack([rng.integers(0, n_units, n_units) for _ in range(resamples)])
    counts = np.zeros((resamples, n_units), dtype=np.float64)
    np.add.at(counts, (np.arange(resamples)[:, None], drawn), 1.0)
    return counts


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite bootstrap statistics (a draw can be undefined, e.g. one class only)."""
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def _weighted_scores(weights: np.ndarray, unit_label: np.ndarray, correct: np.ndarray, total: np.ndarray,
                     num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and balanced accuracy (mean recall over the classes present, as scikit-learn's) for each row of
    unit multiplicities `weights` [R, U], from each unit's correct and total example counts. NaN where a row holds
    fewer than two classes: such a resample has no balanced accuracy."""
    onehot = np.eye(num_classes)[unit_label]                       # [U, C]
    hits = weights @ (onehot * correct[:, None])                   # [R, C] correct examples per class
    seen = weights @ (onehot * total[:, None])                     # [R, C] examples per class
    present = seen > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, hits / np.where(present, seen, 1), 0.0)
        balanced = recall.sum(1) / present.sum(1)
        accuracy = hits.sum(1) / seen.sum(1)
    defined = present.sum(1) >= 2
    return np.where(defined, accuracy, np.nan), np.where(defined, balanced, np.nan)


def group_metrics(proba: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, seed: int,
                  resamples: int = 1000) -> dict[str, float | tuple[float, float, float]]:
    """Metrics over units: `unit_accuracy` / `unit_balanced_accuracy` classify each unit by the mean of its
    examples' probabilities; `balanced_accuracy` is the per-example score. Each comes with a bootstrap interval
    over units, as (value, low, high). `units` counts them.

    A resample is a vector of unit multiplicities, so every score is a weighted count: one matrix product scores
    all resamples (equal to scikit-learn's scores on the resampled rows; tests/test_metrics_groups.py)."""
    labels = np.asarray(labels).astype(np.int64)
    names, unit_of = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    n_units, num_classes = len(names), proba.shape[1]
    windows = np.bincount(unit_of, minlength=n_units).astype(np.float64)
    unit_proba = np.zeros((n_units, num_classes))
    np.add.at(unit_proba, unit_of, proba)
    unit_proba /= windows[:, None]
    unit_label = np.zeros(n_units, dtype=np.int64)
    unit_label[unit_of] = labels
    unit_correct = (unit_proba.argmax(1) == unit_label).astype(np.float64)
    window_correct = np.bincount(unit_of, weights=(proba.argmax(1) == labels).astype(np.float64), minlength=n_units)

    everything = np.ones((1, n_units))
    draws = unit_resamples(n_units, seed=seed, resamples=resamples)
    out: dict[str, float | tuple[float, float, float]] = {"units": float(n_units)}
    for prefix, correct, total in (("unit_", unit_correct, np.ones(n_units)), ("", window_correct, windows)):
        point_accuracy, point_balanced = _weighted_scores(everything, unit_label, correct, total, num_classes)
        draw_accuracy, draw_balanced = _weighted_scores(draws, unit_label, correct, total, num_classes)
        if prefix:
            out["unit_accuracy"] = (float(point_accuracy[0]), *percentile_interval(draw_accuracy))
        out[f"{prefix}balanced_accuracy"] = (float(point_balanced[0]), *percentile_interval(draw_balanced))
    return out


__all__ = ["group_metrics", "percentile_interval", "unit_resamples", "GroupedMultilabelAUROC", "MaskedTokenAccuracy", "PredictedClassRate",
           "classification_metrics", "generation_metrics", "levenshtein",
           "localization_metrics", "multilabel_metrics", "token_metrics"]
