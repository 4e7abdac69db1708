"""Evaluation metrics: torchmetrics collections the training modules update batch by batch and compute at the end
of an epoch (synchronized across processes under DDP), and the bootstrap over units, written here because it
scores a thousand resamples in one matrix product (about 300x scikit-learn per resample, benchmarks/bench_bootstrap.py;
tested equal to it resample by resample).

    classification_metrics   accuracy, balanced accuracy (mean recall over the classes in the targets), macro
                             recall, macro F1, Matthews correlation (multi-class), macro one-vs-rest AUROC, top-k
                             accuracy; per class, named by its label: recall (`recall/<label>`), one-vs-rest F1
                             (`f1/<label>`: with two classes, the binary F1 with that class positive, e.g.
                             `f1/phage`) and the share of examples predicted as it (`predicted_rate/<label>`)
    multilabel_metrics       AUROC per label and per label group (mean of the group's per-label AUROCs), macro F1
    token_metrics            masked-token accuracy and perplexity over the scored positions (labels != -100)
    localization_metrics     accuracy of the predicted site token, and top-k
    edit_distances           edit distance of each generated sequence to its reference (rapidfuzz)
    generation_metrics       exact match of the top-1 / top-k candidates, mean and median edit distance
    group_metrics            per-unit metrics (a cell line's or genome's examples average their probabilities)
                             and bootstrap intervals over units (vectorized; equal to scikit-learn's per resample)

Every metric equals scikit-learn's on the same predictions (tests/test_metrics_sklearn.py). A metric undefined on
the data is NaN, never a number: AUROC with one class (or one label value) in the targets, Matthews correlation
with one class in the targets, a per-class recall or F1 whose formula divides by zero. `undefined_reason` says
why, and the results table writes it missing with that note (genolm.results.metric_rows).

The unit a label belongs to (a cell line, a genome) is the unit of confidence intervals: the windows of one cell
line are not independent draws, so the intervals resample units, never windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torchmetrics
from torch import Tensor
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassRecall,
    MulticlassStatScores,
    MultilabelAUROC,
    MultilabelF1Score,
)
from torchmetrics.text import Perplexity
from torchmetrics.utilities import dim_zero_cat


class BalancedAccuracy(MulticlassStatScores):
    """Mean recall over the classes present in the targets (scikit-learn's `balanced_accuracy_score`). A class
    that is predicted but absent from the targets has no recall and does not count; torchmetrics' macro accuracy
    would score it 0. NaN when there are no targets."""

    def __init__(self, num_classes: int):
        super().__init__(num_classes, average=None)

    def compute(self) -> Tensor:
        tp, fp, tn, fn = self._final_state()[:4]
        support = (tp + fn).double()
        present = support > 0
        if not present.any():
            return torch.tensor(float("nan"), dtype=torch.float64)
        return (tp.double()[present] / support[present]).mean()


class MatthewsCorrelation(MulticlassConfusionMatrix):
    """Matthews correlation (multi-class, Gorodkin's R_K) with scikit-learn's formula and conventions: 0.0 where
    the predictions hold one class (zero denominator, as `matthews_corrcoef`), NaN where the targets hold one
    class or none (nothing to correlate with; torchmetrics reports 1.0 or other numbers there)."""

    def __init__(self, num_classes: int):
        super().__init__(num_classes)

    def compute(self) -> Tensor:
        confusion = self.confmat.double()                  # rows: targets, columns: predictions
        targets, predicted = confusion.sum(1), confusion.sum(0)
        n = confusion.sum()
        if (targets > 0).sum() < 2:
            return torch.tensor(float("nan"), dtype=torch.float64)
        cov_true_pred = confusion.trace() * n - targets @ predicted
        cov_pred_pred = n * n - predicted @ predicted
        cov_true_true = n * n - targets @ targets
        if cov_pred_pred == 0:
            return torch.tensor(0.0, dtype=torch.float64)
        return cov_true_pred / torch.sqrt(cov_true_true * cov_pred_pred)


class MacroAUROC(MulticlassAUROC):
    """One-vs-rest AUROC (exact, ties as scikit-learn's `roc_auc_score`) averaged over the classes present in the
    targets; a class absent from them has no AUROC (scikit-learn: undefined; torchmetrics: 0). NaN with fewer than
    two classes present."""

    def __init__(self, num_classes: int):
        super().__init__(num_classes, average=None)

    def compute(self) -> Tensor:
        target = dim_zero_cat(self.target)
        present = torch.bincount(target.long(), minlength=self.num_classes) > 0
        if present.sum() < 2:
            return torch.tensor(float("nan"), dtype=torch.float64)
        with warnings.catch_warnings():  # torchmetrics warns about the absent classes, which are left out below
            warnings.filterwarnings("ignore", message="No positive samples in targets")
            per_class = super().compute()
        return per_class[present].double().mean()


class PerClassScores(MulticlassStatScores):
    """Per class, named by its label (`recall/<label>`, `f1/<label>`, `predicted_rate/<label>`; the class index
    where the head has no label names): recall, one-vs-rest F1 (with two classes, the binary F1 with that class
    positive, e.g. phage) and the share of examples predicted as the class, (TP + FP) / N (the documents saw every
    phage classifier over-predict "phage"). Recall is NaN for a class absent from the targets and F1 NaN for a
    class neither present nor predicted: their formulas divide by zero there (scikit-learn warns and writes 0)."""

    def __init__(self, label_names: Sequence[str]):
        super().__init__(len(label_names), average=None)
        self.label_names = [str(name) for name in label_names]
        repeated = sorted({name for name in self.label_names if self.label_names.count(name) > 1})
        if repeated:  # two classes would write one metric name
            raise ValueError(f"label names repeat: {repeated}")

    def compute(self) -> dict[str, Tensor]:
        tp, fp, tn, fn = (s.double() for s in self._final_state()[:4])
        nan = torch.full_like(tp, float("nan"))
        recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), nan)
        f1 = torch.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn).clamp(min=1), nan)
        rate = (tp + fp) / (tp + fp + tn + fn).clamp(min=1)
        out = {}
        for name, scores in (("recall", recall), ("f1", f1), ("predicted_rate", rate)):
            out.update({f"{name}/{label}": scores[c] for c, label in enumerate(self.label_names)})
        return out


def classification_metrics(num_classes: int, top_k: Sequence[int] = (2,),
                           label_names: Sequence[str] | None = None) -> torchmetrics.MetricCollection:
    """Metrics of a `num_classes` classifier fed probabilities [N, C] and targets [N]. `label_names` name the
    per-class metrics (`f1/phage`); without them the class index names them (`f1/1`)."""
    if label_names is not None and len(label_names) != num_classes:
        raise ValueError(f"{len(label_names)} label names for {num_classes} classes")
    metrics: dict[str, torchmetrics.Metric] = {
        "accuracy": MulticlassAccuracy(num_classes, average="micro"),
        "balanced_accuracy": BalancedAccuracy(num_classes),
        # Macro recall over the classes in the targets or the predictions (scikit-learn's `recall_score`): a
        # predicted but absent class counts as recall 0 here, unlike in balanced accuracy.
        "recall_macro": MulticlassRecall(num_classes, average="macro"),
        # Over the classes in the targets or the predictions, as scikit-learn's `f1_score`.
        "f1_macro": MulticlassF1Score(num_classes, average="macro"),
        "mcc": MatthewsCorrelation(num_classes),
        "auroc_macro": MacroAUROC(num_classes),
    }
    for k in top_k:
        if 1 < k < num_classes:
            metrics[f"top{k}_accuracy"] = MulticlassAccuracy(num_classes, top_k=k, average="micro")
    metrics["per_class"] = PerClassScores(label_names if label_names is not None else range(num_classes))
    # compute_groups=False: torchmetrics would otherwise merge metrics whose states happen to be equal after the
    # first batch (top-1 and top-k accuracy when the first batch's top-1 predictions are all right) and report
    # top-k = top-1 from then on.
    return torchmetrics.MetricCollection(metrics, compute_groups=False)


class GroupedMultilabelAUROC(torchmetrics.Metric):
    """AUROC of every label (`auroc/<label>`) and the mean over each group of labels (`auroc_group/<group>`),
    e.g. DeepSEA's transcription factors, DNase and histone marks. Per-label AUROC comes from torchmetrics; it is
    NaN for a label whose targets hold one value only (undefined, as scikit-learn's), and the group and macro means
    are over the labels where it is defined (NaN where none is)."""

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
        # Own summed states (synchronized with this metric under DDP, unlike the child's, which synchronizes only
        # inside its own compute): which labels have both values in the targets.
        self.add_state("positives", torch.zeros(len(self.label_names), dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("examples", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        self.auroc.update(preds, target.long())
        self.positives += target.long().sum(0)
        self.examples += len(target)

    def compute(self) -> dict[str, Tensor]:
        defined = (self.positives > 0) & (self.positives < self.examples)
        with warnings.catch_warnings():  # the undefined labels torchmetrics warns about are set NaN below
            warnings.filterwarnings("ignore", message="No (positive|negative) samples in targets")
            per_label = self.auroc.compute().double()
        per_label = torch.where(defined, per_label, torch.full_like(per_label, float("nan")))
        out = {f"auroc/{name}": per_label[i] for i, name in enumerate(self.label_names)}
        for group, members in self.groups.items():
            out[f"auroc_group/{group}"] = per_label[members].nanmean()
        out["auroc_macro"] = per_label.nanmean()
        return out

    def reset(self) -> None:
        super().reset()
        self.auroc.reset()


def multilabel_metrics(label_names: Sequence[str], groups: Mapping[str, Sequence[str]] | None = None) -> torchmetrics.MetricCollection:
    return torchmetrics.MetricCollection({
        "auroc": GroupedMultilabelAUROC(label_names, groups),
        # Over the labels present in the targets or the predictions (torchmetrics leaves out a label with no
        # positive and no positive prediction; scikit-learn's multilabel default would count it as F1 0).
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


def edit_distances(predictions: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """The Levenshtein distance (substitutions, insertions and deletions, each costing 1) of each pair, by
    rapidfuzz's compiled implementation: the values of torchmetrics' `edit_distance` (tests/test_metrics_sklearn.py),
    which is pure Python and took 37 s of the 53 s the demo's ENBED pair split spent comparing its clades."""
    from rapidfuzz.distance import Levenshtein

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    return np.array([Levenshtein.distance(p, r) for p, r in zip(predictions, references)], dtype=np.float64)


def generation_metrics(candidates: Sequence[Sequence[str]], targets: Sequence[str],
                       top_k: Sequence[int] = (5,)) -> dict[str, float]:
    """Sequence-to-sequence scores of ranked candidates (best first) against the reference targets:
    `exact_match_top1` and `exact_match_top<k>` (share of targets equal to the first / one of the first k
    candidates), and `levenshtein_mean` / `levenshtein_median` of the first candidate (`edit_distances`:
    substitutions, insertions and deletions). `examples` counts the pairs."""
    if len(candidates) != len(targets) or not targets:
        raise ValueError(f"need one candidate list per target, got {len(candidates)} for {len(targets)}")
    if any(not c for c in candidates):
        raise ValueError("every target needs at least one candidate")
    first = [c[0] for c in candidates]
    distances = edit_distances(first, list(targets))
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
                     num_classes: int, min_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and balanced accuracy (mean recall over the classes present, as scikit-learn's) for each row of
    unit multiplicities `weights` [R, U], from each unit's correct and total example counts. NaN where a row holds
    fewer than `min_classes` classes: a resample of one class says nothing about telling classes apart, so the
    bootstrap skips it (the point estimate, like scikit-learn's, needs one class only)."""
    onehot = np.eye(num_classes)[unit_label]                       # [U, C]
    hits = weights @ (onehot * correct[:, None])                   # [R, C] correct examples per class
    seen = weights @ (onehot * total[:, None])                     # [R, C] examples per class
    present = seen > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, hits / np.where(present, seen, 1), 0.0)
        balanced = recall.sum(1) / present.sum(1)
        accuracy = hits.sum(1) / seen.sum(1)
    defined = present.sum(1) >= min_classes
    return np.where(defined, accuracy, np.nan), np.where(defined, balanced, np.nan)


def group_metrics(proba: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, seed: int,
                  resamples: int = 1000) -> dict[str, float | tuple[float, float, float]]:
    """Metrics over units: `unit_accuracy` / `unit_balanced_accuracy` classify each unit by the mean of its
    examples' probabilities; `balanced_accuracy` is the per-example score. Each comes with a bootstrap interval
    over units, as (value, low, high). `units` counts them; `bootstrap_resamples` counts the resamples drawn and
    `bootstrap_resamples_defined` those the intervals come from (a resample that drew units of one class only
    has no score and is skipped).

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
        point_accuracy, point_balanced = _weighted_scores(everything, unit_label, correct, total, num_classes,
                                                          min_classes=1)
        draw_accuracy, draw_balanced = _weighted_scores(draws, unit_label, correct, total, num_classes)
        if prefix:
            out["unit_accuracy"] = (float(point_accuracy[0]), *percentile_interval(draw_accuracy))
        out[f"{prefix}balanced_accuracy"] = (float(point_balanced[0]), *percentile_interval(draw_balanced))
    # Whether a resample is defined depends on the classes of the units it drew only: the same for every score.
    out["bootstrap_resamples"] = float(resamples)
    out["bootstrap_resamples_defined"] = float(np.isfinite(draw_balanced).sum())
    return out


# Why a metric can be missing (NaN in the module, null in metrics.parquet), by the metric's name: the first rule
# whose prefix the name starts with. genolm.results writes the reason in the results table's `note` column.
UNDEFINED_REASONS: tuple[tuple[str, str], ...] = (
    ("auroc_group/", "undefined: no label of the group has both values in the targets"),
    ("auroc/", "undefined: the label has one value only in the targets"),
    ("auroc", "undefined: fewer than two classes in the targets"),
    ("mcc", "undefined: fewer than two classes in the targets"),
    ("recall/", "undefined: the class is absent from the targets"),
    ("f1/", "undefined: the class is neither in the targets nor predicted"),
)


def undefined_reason(metric: str) -> str:
    """The reason a metric named `metric` has no value, for the results table's `note` column."""
    for prefix, reason in UNDEFINED_REASONS:
        if metric.startswith(prefix):
            return reason
    return "undefined on this split (e.g. no examples)"


__all__ = ["group_metrics", "percentile_interval", "unit_resamples", "undefined_reason", "BalancedAccuracy",
           "GroupedMultilabelAUROC", "MacroAUROC", "MaskedTokenAccuracy", "MatthewsCorrelation", "PerClassScores",
           "classification_metrics", "edit_distances", "generation_metrics",
           "localization_metrics", "multilabel_metrics", "token_metrics"]
