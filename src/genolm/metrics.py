"""Evaluation metrics, all from torchmetrics (none hand-rolled), as metric collections the training modules update
batch by batch and compute at the end of an epoch (synchronized across processes under DDP).

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
                             and bootstrap intervals over units, from scikit-learn

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


def bootstrap_interval(statistic, units: np.ndarray, *, seed: int, resamples: int = 1000,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of `statistic(chosen units)` over `resamples` draws of the units with replacement."""
    rng = np.random.default_rng(seed)
    draws = [statistic(units[rng.integers(0, len(units), len(units))]) for _ in range(resamples)]
    draws = [d for d in draws if np.isfinite(d)]
    if not draws:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def group_metrics(proba: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, seed: int,
                  resamples: int = 1000) -> dict[str, float | tuple[float, float, float]]:
    """Metrics over units: `unit_accuracy` / `unit_balanced_accuracy` classify each unit by the mean of its
    examples' probabilities; `balanced_accuracy` is the per-example score. Each comes with a bootstrap interval
    over units, as (value, low, high). `units` counts them."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    labels = np.asarray(labels)
    names, unit_of = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    unit_proba = np.zeros((len(names), proba.shape[1]))
    np.add.at(unit_proba, unit_of, proba)
    unit_proba /= np.bincount(unit_of, minlength=len(names))[:, None]
    unit_label = np.zeros(len(names), dtype=np.int64)
    unit_label[unit_of] = labels
    unit_pred = unit_proba.argmax(1)
    window_pred = proba.argmax(1)
    members = [np.flatnonzero(unit_of == u) for u in range(len(names))]

    def score(metric, per_unit: bool):
        def on(units: np.ndarray) -> float:
            if len(np.unique(unit_label[units])) < 2:
                return float("nan")  # a resample with one class has no balanced accuracy
            if per_unit:
                return metric(unit_label[units], unit_pred[units])
            rows = np.concatenate([members[u] for u in units])
            return metric(labels[rows], window_pred[rows])
        return on

    everything = np.arange(len(names))
    out: dict[str, float | tuple[float, float, float]] = {"units": float(len(names))}
    for name, metric, per_unit in (("unit_accuracy", accuracy_score, True),
                                   ("unit_balanced_accuracy", balanced_accuracy_score, True),
                                   ("balanced_accuracy", balanced_accuracy_score, False)):
        statistic = score(metric, per_unit)
        out[name] = (float(statistic(everything)), *bootstrap_interval(statistic, everything, seed=seed,
                                                                        resamples=resamples))
    return out


__all__ = ["bootstrap_interval", "group_metrics", "GroupedMultilabelAUROC", "MaskedTokenAccuracy", "PredictedClassRate",
           "classification_metrics", "generation_metrics", "levenshtein",
           "localization_metrics", "multilabel_metrics", "token_metrics"]
