"""Per-unit metrics and bootstrap intervals over units (genolm.metrics.group_metrics), checked against scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from genolm.metrics import group_metrics


def test_units_vote_by_mean_probability_and_match_scikit_learn():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"cell{i}" for i in range(12)], 5)
    unit_label = np.array([0, 1] * 6)
    labels = np.repeat(unit_label, 5)
    proba_one = np.clip(0.5 + (labels - 0.5) * 0.3 + rng.normal(0, 0.3, len(labels)), 0, 1)
    proba = np.stack([1 - proba_one, proba_one], axis=1)
    out = group_metrics(proba, labels, groups, seed=1)

    unit_pred = np.array([proba[groups == g].mean(0).argmax() for g in np.unique(groups)])
    unit_truth = np.array([labels[groups == g][0] for g in np.unique(groups)])
    assert out["units"] == 12
    assert out["unit_balanced_accuracy"][0] == balanced_accuracy_score(unit_truth, unit_pred)
    value, low, high = out["balanced_accuracy"]
    assert value == balanced_accuracy_score(labels, proba.argmax(1))
    assert low <= value <= high and high - low > 0


def test_an_uninformative_model_has_an_interval_around_chance():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(40).astype(str), 10)
    labels = np.repeat(np.arange(40) % 2, 10)
    proba_one = rng.uniform(size=len(labels))
    out = group_metrics(np.stack([1 - proba_one, proba_one], 1), labels, groups, seed=0)
    _, low, high = out["balanced_accuracy"]
    assert low < 0.5 < high
