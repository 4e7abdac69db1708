"""Per-unit metrics and bootstrap intervals over units (genolm.metrics.group_metrics), checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
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


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_every_bootstrap_resample_scores_as_scikit_learn_on_the_resampled_rows():
    """The vectorized resamples (unit multiplicities) give, resample by resample, scikit-learn's scores on the rows
    of the drawn units, three classes, one of which some resamples lack."""
    from sklearn.metrics import accuracy_score

    from genolm.metrics import _weighted_scores, unit_resamples

    rng = np.random.default_rng(3)
    unit_label = np.array([0, 1, 2, 0, 1, 0, 1, 2, 0, 1])
    windows = rng.integers(1, 6, len(unit_label))
    unit_of = np.repeat(np.arange(len(unit_label)), windows)
    labels = unit_label[unit_of]
    predicted = np.where(rng.uniform(size=len(labels)) < 0.6, labels, rng.integers(0, 3, len(labels)))
    correct = np.bincount(unit_of, weights=(predicted == labels).astype(float))
    draws = unit_resamples(len(unit_label), seed=5, resamples=200)
    assert (draws.sum(1) == len(unit_label)).all()
    accuracy, balanced = _weighted_scores(draws, unit_label, correct, windows.astype(float), 3)
    for row, acc, bal in zip(draws, accuracy, balanced):
        rows = np.concatenate([np.flatnonzero(unit_of == u).repeat(int(k)) for u, k in enumerate(row) if k])
        if len(np.unique(labels[rows])) < 2:
            assert np.isnan(acc) and np.isnan(bal)
            continue
        assert acc == pytest.approx(accuracy_score(labels[rows], predicted[rows]), abs=1e-12)
        assert bal == pytest.approx(balanced_accuracy_score(labels[rows], predicted[rows]), abs=1e-12)
