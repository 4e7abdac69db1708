"""Every metric of genolm.metrics equals scikit-learn's (or the textbook formula where scikit-learn has none) on
random binary, multi-class and multilabel cases, including classes absent from the targets, classes never
predicted and tied scores; metrics undefined on the data are NaN and reach the results table as null with a note."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    matthews_corrcoef,
    recall_score,
    roc_auc_score,
    top_k_accuracy_score,
)

from genolm.metrics import (
    classification_metrics,
    edit_distances,
    generation_metrics,
    group_metrics,
    localization_metrics,
    multilabel_metrics,
    token_metrics,
    unit_resamples,
)
from genolm.results import metric_rows, read_metrics, write_table
from test_enbed import levenshtein  # the textbook edit distance, independent of torchmetrics

# scikit-learn warns where it falls back to a convention (absent classes, zero denominators): expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


def as_float32(scores: np.ndarray) -> np.ndarray:
    """The scores as the modules feed them (float32), in float64 for scikit-learn: values a float64 division makes
    unequal in the last bit can be equal in float32, and ties decide AUROC."""
    return scores.astype(np.float32).astype(np.float64)


def compute(metrics, batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Update batch by batch (as an epoch does), then compute."""
    for scores, target in batches:
        metrics.update(torch.from_numpy(scores).float(), torch.from_numpy(target))
    return {k: float(v) for k, v in metrics.compute().items()}


def random_case(seed: int, num_classes: int, *, absent: bool, never_predicted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities [N, C] (rows sum to 1, no ties in a row) and targets [N], better than chance. `absent`:
    the last class never occurs in the targets (but may be predicted); `never_predicted`: the first class is
    never the argmax (but occurs in the targets)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 80))
    classes = num_classes - 1 if absent else num_classes
    labels = rng.integers(0, classes, n)
    labels[: classes] = np.arange(classes)  # every class that may occur does
    proba = rng.dirichlet(np.ones(num_classes), n)
    proba[np.arange(n), labels] += rng.uniform(0, 0.8, n)
    if absent:
        proba[rng.uniform(size=n) < 0.3, -1] += 1.0  # the absent class is predicted now and then
    if never_predicted:
        proba[:, 0] = proba.min(1) * rng.uniform(0.1, 0.9, n)
    proba /= proba.sum(1, keepdims=True)
    return as_float32(proba), labels


def in_batches(proba: np.ndarray, labels: np.ndarray, size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(proba[i:i + size], labels[i:i + size]) for i in range(0, len(labels), size)]


def present_class_auroc(labels: np.ndarray, proba: np.ndarray) -> float:
    """One-vs-rest AUROC from scikit-learn, class by class, averaged over the classes in the targets."""
    present = np.unique(labels)
    if len(present) < 2:
        return float("nan")
    return float(np.mean([roc_auc_score(labels == c, proba[:, c]) for c in present]))


CASES = [(seed, num_classes, absent, never)
         for seed in range(12) for num_classes in (2, 3, 6)
         for absent, never in ((False, False), (True, False), (False, True), (True, True))
         if not (num_classes == 2 and absent)]  # two classes with one absent: the one-class tests below


@pytest.mark.parametrize(("seed", "num_classes", "absent", "never_predicted"), CASES)
def test_classification_metrics_equal_scikit_learn(seed, num_classes, absent, never_predicted):
    proba, labels = random_case(seed, num_classes, absent=absent, never_predicted=never_predicted)
    names = [f"class {chr(65 + c)}" for c in range(num_classes)]
    values = compute(classification_metrics(num_classes, top_k=(2, 3), label_names=names), in_batches(proba, labels))
    predicted = proba.argmax(1)
    everything = list(range(num_classes))

    assert values["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    # Mean recall over the classes in the targets: a predicted but absent class does not count as recall 0.
    assert values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predicted))
    assert values["recall_macro"] == pytest.approx(recall_score(labels, predicted, average="macro", zero_division=0))
    assert values["f1_macro"] == pytest.approx(f1_score(labels, predicted, average="macro", zero_division=0))
    assert values["mcc"] == pytest.approx(matthews_corrcoef(labels, predicted), abs=1e-9)
    assert values["auroc_macro"] == pytest.approx(present_class_auroc(labels, proba), abs=1e-6)
    if not absent:
        ovr = roc_auc_score(labels, proba[:, 1]) if num_classes == 2 else \
            roc_auc_score(labels, proba, multi_class="ovr", labels=everything)
        assert values["auroc_macro"] == pytest.approx(ovr, abs=1e-6)
    if num_classes > 2:
        assert values["top2_accuracy"] == pytest.approx(top_k_accuracy_score(labels, proba, k=2, labels=everything))
    if num_classes > 3:
        assert values["top3_accuracy"] == pytest.approx(top_k_accuracy_score(labels, proba, k=3, labels=everything))

    # Per class, by label name; NaN exactly where scikit-learn's formula divides by zero.
    recall = recall_score(labels, predicted, labels=everything, average=None, zero_division=np.nan)
    f1 = f1_score(labels, predicted, labels=everything, average=None, zero_division=np.nan)
    for c, name in enumerate(names):
        np.testing.assert_allclose(values[f"recall/{name}"], recall[c], rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(values[f"f1/{name}"], f1[c], rtol=1e-9, equal_nan=True)
        assert values[f"predicted_rate/{name}"] == pytest.approx((predicted == c).mean())
    assert not any("_class" in key for key in values)


def test_balanced_accuracy_leaves_out_a_predicted_class_absent_from_the_targets():
    """The demo's case: torchmetrics' macro accuracy scored a predicted but absent class as recall 0."""
    labels = np.array([0, 0, 0, 1, 1, 1])
    proba = np.eye(3)[[0, 0, 2, 1, 1, 1]] * 0.8 + 0.2 / 3  # one class-0 example predicted as the absent class 2
    values = compute(classification_metrics(3), [(proba, labels)])
    assert values["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, proba.argmax(1)))
    assert values["recall_macro"] == pytest.approx((2 / 3 + 1 + 0) / 3)  # scikit-learn's recall_score: 0 for it


def test_tied_scores_give_scikit_learns_auroc():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 90)
    proba = np.round(rng.dirichlet([1, 1, 1], 90) + 0.3 * np.eye(3)[labels], 1)  # many equal scores
    proba = as_float32(proba / proba.sum(1, keepdims=True))
    values = compute(classification_metrics(3), in_batches(proba, labels))
    assert values["auroc_macro"] == pytest.approx(roc_auc_score(labels, proba, multi_class="ovr"), abs=1e-6)
    binary = (labels == 1).astype(np.int64)
    scores = np.round(rng.uniform(size=90) + 0.3 * binary, 1)
    two = as_float32(np.stack([1 - scores / 2, scores / 2], 1))
    values = compute(classification_metrics(2), [(two, binary)])
    assert values["auroc_macro"] == pytest.approx(roc_auc_score(binary, two[:, 1]), abs=1e-6)


@pytest.mark.parametrize("num_classes", [2, 4])
def test_one_class_targets_leave_mcc_and_auroc_undefined(num_classes):
    """A split with one class: MCC and AUROC have nothing to tell apart (torchmetrics reported 0.90 or 1.0 and
    0.0); they are NaN. Balanced accuracy stays scikit-learn's (the recall of that class)."""
    rng = np.random.default_rng(num_classes)
    labels = np.ones(40, dtype=np.int64)
    proba = rng.dirichlet(np.ones(num_classes), 40)
    proba[:30, 1] += 2
    proba /= proba.sum(1, keepdims=True)
    values = compute(classification_metrics(num_classes), [(proba, labels)])
    assert np.isnan(values["mcc"]) and np.isnan(values["auroc_macro"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        assert np.isnan(roc_auc_score(labels == 1, proba[:, 1]))  # scikit-learn: undefined too
    assert values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, proba.argmax(1)))
    assert np.isnan(values["recall/0"]) and values["recall/1"] == pytest.approx((proba.argmax(1) == 1).mean())


def test_mcc_is_zero_where_the_predictions_hold_one_class():
    """Two classes in the targets, one predicted: scikit-learn's zero-denominator convention, 0.0."""
    labels = np.array([0, 1, 0, 1, 1])
    proba = np.tile([0.2, 0.8], (5, 1))
    values = compute(classification_metrics(2), [(proba, labels)])
    assert values["mcc"] == 0.0 == matthews_corrcoef(labels, proba.argmax(1))


def test_per_class_metrics_named_by_index_without_label_names():
    values = compute(classification_metrics(3), [(np.eye(3)[[0, 1, 2]], np.array([0, 1, 2]))])
    assert {"recall/0", "f1/2", "predicted_rate/1"} <= set(values)
    with pytest.raises(ValueError, match="2 label names for 3 classes"):
        classification_metrics(3, label_names=["a", "b"])
    with pytest.raises(ValueError, match="label names repeat"):
        classification_metrics(3, label_names=["a", "b", "a"])


@pytest.mark.parametrize("seed", range(6))
def test_multilabel_metrics_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n, names = 60, ["CTCF", "DNase", "H3K4me3", "H3K27ac", "rare"]
    target = (rng.uniform(size=(n, len(names))) < [0.3, 0.5, 0.4, 0.2, 0.0]).astype(np.int64)
    target[:, 3] = 1 if seed % 2 else target[:, 3]  # some seeds: a label positive everywhere (AUROC undefined)
    scores = np.clip(rng.uniform(size=target.shape) * 0.7 + 0.3 * target, 0, 1)
    scores = as_float32(np.round(scores, 1) if seed % 3 == 0 else scores)  # some seeds: ties
    groups = {"tf": ["CTCF"], "histone": ["H3K4me3", "H3K27ac"], "other": ["rare"]}
    values = compute(multilabel_metrics(names, groups), in_batches(scores, target))

    per_label = {}
    for j, name in enumerate(names):
        defined = 0 < target[:, j].sum() < n
        per_label[name] = roc_auc_score(target[:, j], scores[:, j]) if defined else np.nan
        np.testing.assert_allclose(values[f"auroc/{name}"], per_label[name], atol=1e-6, equal_nan=True)
    for group, members in groups.items():
        expected = np.nanmean([per_label[m] for m in members]) if any(np.isfinite(per_label[m]) for m in members) \
            else np.nan
        np.testing.assert_allclose(values[f"auroc_group/{group}"], expected, atol=1e-6, equal_nan=True)
    assert np.isnan(values["auroc_group/other"])  # "rare" never occurs
    assert values["auroc_macro"] == pytest.approx(np.nanmean(list(per_label.values())), abs=1e-6)
    # Macro F1 over the labels in the targets or the predictions (threshold 0.5).
    predicted = (scores > 0.5).astype(np.int64)
    occurring = [j for j in range(len(names)) if target[:, j].any() or predicted[:, j].any()]
    assert values["f1_macro"] == pytest.approx(f1_score(target, predicted, labels=occurring, average="macro"))


def test_token_metrics_equal_accuracy_and_exp_log_loss_over_scored_positions():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 9, 7))
    labels = rng.integers(0, 7, (4, 9))
    labels[rng.uniform(size=labels.shape) < 0.4] = -100
    metrics = token_metrics(7)
    metrics.update(torch.from_numpy(logits).float(), torch.from_numpy(labels))
    values = {k: float(v) for k, v in metrics.compute().items()}
    scored = labels.reshape(-1) != -100
    flat_logits, flat_labels = logits.reshape(-1, 7)[scored], labels.reshape(-1)[scored]
    proba = np.exp(flat_logits) / np.exp(flat_logits).sum(1, keepdims=True)
    assert values["masked_accuracy"] == pytest.approx(accuracy_score(flat_labels, flat_logits.argmax(1)))
    assert values["perplexity"] == pytest.approx(np.exp(log_loss(flat_labels, proba, labels=range(7))), rel=1e-5)


def test_localization_metrics_equal_scikit_learn():
    rng = np.random.default_rng(4)
    scores = rng.dirichlet(np.ones(12), 50)
    sites = rng.integers(0, 12, 50)
    scores[np.arange(50), sites] += rng.uniform(0, 0.3, 50)
    values = compute(localization_metrics(12, top_k=(3,)), in_batches(scores, sites))
    assert values["accuracy"] == pytest.approx(accuracy_score(sites, scores.argmax(1)))
    assert values["top3_accuracy"] == pytest.approx(top_k_accuracy_score(sites, scores, k=3, labels=range(12)))


def test_generation_metrics_equal_textbook_edit_distance_and_exact_match():
    rng = np.random.default_rng(5)
    targets = ["".join(rng.choice(list("ACGT"), rng.integers(3, 12))) for _ in range(30)]
    candidates = [["".join(rng.choice(list("ACGT"), rng.integers(2, 12))) for _ in range(3)] for _ in targets]
    for i in range(0, 30, 4):
        candidates[i][i % 3] = targets[i]
    out = generation_metrics(candidates, targets, top_k=(3,))
    distances = [levenshtein(c[0], t) for c, t in zip(candidates, targets)]
    assert out["levenshtein_mean"] == pytest.approx(np.mean(distances))
    assert out["levenshtein_median"] == pytest.approx(np.median(distances))
    assert out["exact_match_top1"] == pytest.approx(np.mean([c[0] == t for c, t in zip(candidates, targets)]))
    assert out["exact_match_top3"] == pytest.approx(np.mean([t in c for c, t in zip(candidates, targets)]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text("ACGTN", max_size=40), st.text("ACGTN", max_size=40)), min_size=1, max_size=8))
def test_edit_distances_equal_torchmetrics_and_the_textbook_programme(pairs):
    from torchmetrics.functional.text import edit_distance

    predictions, references = [p for p, _ in pairs], [r for _, r in pairs]
    ours = edit_distances(predictions, references)
    assert ours.tolist() == [levenshtein(p, r) for p, r in pairs]
    assert ours.tolist() == edit_distance(predictions, references, reduction="none").tolist()


def test_group_metrics_balanced_accuracy_leaves_out_absent_classes_and_counts_defined_resamples():
    """Per-example and per-unit balanced accuracy as scikit-learn's with a predicted but absent class; the
    bootstrap says how many of its resamples held two classes (the others have no score and are skipped)."""
    rng = np.random.default_rng(8)
    unit_label = np.array([0, 0, 0, 0, 0, 0, 1])  # one unit of class 1: many resamples miss it
    windows = rng.integers(2, 6, len(unit_label))
    unit_of = np.repeat(np.arange(len(unit_label)), windows)
    labels = unit_label[unit_of]
    proba = np.eye(3)[np.where(rng.uniform(size=len(labels)) < 0.7, labels, 2)] * 0.7 + 0.1  # class 2: absent
    groups = np.array([f"unit{u}" for u in unit_of])
    out = group_metrics(proba, labels, groups, seed=3, resamples=300)
    assert out["balanced_accuracy"][0] == pytest.approx(balanced_accuracy_score(labels, proba.argmax(1)))
    unit_pred = np.array([proba[unit_of == u].mean(0).argmax() for u in range(len(unit_label))])
    assert out["unit_balanced_accuracy"][0] == pytest.approx(balanced_accuracy_score(unit_label, unit_pred))
    draws = unit_resamples(len(unit_label), seed=3, resamples=300)
    two_classes = int((draws[:, unit_label == 1].sum(1) > 0).sum())
    assert 0 < two_classes < 300
    assert out["bootstrap_resamples"] == 300 and out["bootstrap_resamples_defined"] == two_classes


def test_group_metrics_on_one_class_score_the_point_and_have_no_interval():
    labels = np.zeros(12, dtype=np.int64)
    proba = np.tile([0.6, 0.4], (12, 1))
    proba[:3] = [0.3, 0.7]
    out = group_metrics(proba, labels, np.repeat(["a", "b", "c", "d"], 3), seed=0, resamples=50)
    value, low, high = out["balanced_accuracy"]
    assert value == pytest.approx(balanced_accuracy_score(labels, proba.argmax(1)))  # 0.75, as scikit-learn
    assert np.isnan(low) and np.isnan(high) and out["bootstrap_resamples_defined"] == 0


def test_undefined_metrics_are_written_null_with_a_note(tmp_path):
    """metrics.parquet holds no number for an undefined metric: null value, the reason in `note`."""
    labels = np.zeros(10, dtype=np.int64)
    proba = np.tile([0.7, 0.3], (10, 1))
    values = {f"test@best/{k}": v for k, v in compute(classification_metrics(2, label_names=["other", "phage"]),
                                                      [(proba, labels)]).items()}
    values["test@best/unit_balanced_accuracy"] = (1.0, float("nan"), float("nan"))
    frame = metric_rows({"study": "s", "experiment": "e", "seed": 1}, values, "run")
    write_table(frame, tmp_path / "metrics.parquet")
    table = read_metrics(tmp_path / "metrics.parquet").sort("metric")
    rows = {r["metric"]: r for r in table.iter_rows(named=True)}
    assert rows["mcc"]["value"] is None and "fewer than two classes" in rows["mcc"]["note"]
    assert rows["auroc_macro"]["value"] is None and rows["auroc_macro"]["note"]
    assert rows["recall/phage"]["value"] is None and "absent from the targets" in rows["recall/phage"]["note"]
    assert rows["f1/phage"]["value"] is None and rows["f1/phage"]["note"]
    assert rows["accuracy"]["value"] == 1.0 and rows["accuracy"]["note"] is None
    assert rows["unit_balanced_accuracy"]["ci_low"] is None and rows["unit_balanced_accuracy"]["value"] == 1.0
    assert table.filter(pl.col("value").is_nan()).is_empty()
    assert table.filter(pl.col("value").is_null())["note"].null_count() == 0


def test_a_table_written_before_the_note_column_reads_back_with_null_notes(tmp_path):
    frame = metric_rows({"study": "s", "experiment": "e", "seed": 1}, {"test/accuracy": 0.5}, "run").drop("note")
    frame.write_parquet(tmp_path / "old.parquet")
    table = read_metrics(tmp_path / "old.parquet")
    assert "note" in table.columns and table["note"].to_list() == [None]


def test_metric_names_with_label_characters_mlflow_refuses_are_logged(tmp_path):
    """Per-class names carry labels (`f1/Lung (NSCLC)`); MLflow refuses parentheses and commas in metric names."""
    from mlflow.tracking import MlflowClient

    from genolm.training.tracking import TrackedRun

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = TrackedRun(tracking_uri=uri, experiment="metrics", job_dir=tmp_path / "job", run_name="r")
    run.log_metrics({"test/f1/Lung (NSCLC), left": 0.5, "test/auroc/DNase:5": 0.7,
                     "test/mcc": float("nan")})  # undefined metrics reach MLflow as NaN
    logged = MlflowClient(uri).get_run(run.run_id).data.metrics
    assert np.isnan(logged.pop("test/mcc"))
    assert logged == {"test/f1/Lung _NSCLC__ left": 0.5, "test/auroc/DNase_5": 0.7}
