"""Controls that must land at chance as pre-registered comparisons (genolm.comparisons, `arm_b: chance`,
`expected_direction: 0`): the chance level equals a prediction independent of the input, a shuffled-label arm is
`consistent`, an arm that reads the labels is `inconsistent`, and the entries are refused unless both keys agree."""

from __future__ import annotations

import numpy as np
import pytest

from genolm.comparisons import UnitScores, compare, load_comparisons, markdown_table, verdict
from genolm.errors import GenolmInputError
from genolm.metrics import unit_resamples
from test_comparisons import comparison, one_hot_guess, predictions, write_study


def test_the_chance_level_is_what_an_input_independent_prediction_scores():
    rng = np.random.default_rng(0)
    n, classes = 400, 3
    groups = rng.integers(0, 30, n)
    labels = rng.choice(classes, n, p=[0.5, 0.3, 0.2])
    rows = predictions(groups, labels, rng.dirichlet(np.ones(classes), n))
    units = np.array(sorted({str(g) for g in groups}))
    scores = UnitScores(rows, units, "predictions.parquet")
    weights = unit_resamples(len(units), seed=1, resamples=4)
    predicted = rows["probabilities"].to_numpy().argmax(1)
    for r in range(len(weights)):
        drawn = np.repeat(np.arange(n), weights[r][scores.unit_of].astype(int))
        true_share = np.bincount(labels[drawn], minlength=classes) / len(drawn)
        predicted_share = np.bincount(predicted[drawn], minlength=classes) / len(drawn)
        assert scores.chance("accuracy", weights[r:r + 1])[0] == pytest.approx(true_share @ predicted_share)
        assert scores.chance("balanced_accuracy", weights[r:r + 1])[0] == pytest.approx(1 / (true_share > 0).sum())
    assert (scores.chance("mcc", weights) == 0).all()
    with pytest.raises(GenolmInputError, match="no chance level"):
        scores.chance("f1_macro", weights)


def study(tmp_path, accuracy: float, seed: int):
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(3):
        groups = np.repeat(np.arange(24), 5)
        labels = np.repeat(rng.permutation(np.arange(24) % 2), 5)
        replicates.append(predictions(groups, labels, one_hot_guess(labels, rng.random(len(labels)) < accuracy)))
    return write_study(tmp_path, {"shuffled": replicates})


def test_a_shuffled_label_arm_at_chance_is_consistent_and_one_that_reads_labels_is_not(tmp_path):
    entry = load_comparisons([comparison(name="shuffled-at-chance", arm_a="shuffled", arm_b="chance",
                                         metric="balanced_accuracy", expected_direction=0, resamples=400)], "test")
    at_chance = compare(entry, study(tmp_path / "chance", 0.5, 1), "runs.tsv")
    assert at_chance["verdict"][0] == "consistent" and at_chance["replicates"][0] == 3
    leaking = compare(entry, study(tmp_path / "leak", 0.85, 2), "runs.tsv")
    assert leaking["verdict"][0] == "inconsistent" and leaking["ci_low"][0] > 0.2
    assert "A at chance" in markdown_table(leaking)
    assert verdict(-0.1, 0.1, 0) == "consistent" and verdict(0.01, 0.1, 0) == "inconsistent"


def test_chance_needs_direction_zero_and_direction_zero_needs_chance():
    with pytest.raises(GenolmInputError, match="control at chance"):
        load_comparisons([comparison(arm_b="chance", expected_direction=1)], "test")
    with pytest.raises(GenolmInputError, match="control at chance"):
        load_comparisons([comparison(arm_b="B", expected_direction=0)], "test")
