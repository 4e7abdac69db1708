"""Scarce-label subsets (genolm.datasets.labels): stratified, by unit, nested across fractions, seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genolm.datasets.labels import labelled_subset

units_and_labels = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), min_size=1, max_size=200)


def by_unit(pairs):
    """Examples whose unit decides the label (as a cell line decides its lineage)."""
    groups = np.array([f"u{u}" for u, _ in pairs])
    label_of = {}
    labels = np.array([label_of.setdefault(g, lab) for g, (_, lab) in zip(groups, pairs)])
    return labels, groups


@settings(max_examples=60, deadline=None)
@given(units_and_labels, st.floats(0.01, 1.0), st.floats(0.01, 1.0), st.integers(0, 2**16))
def test_a_smaller_fraction_is_a_subset_of_a_larger_one(pairs, a, b, seed):
    labels, groups = by_unit(pairs)
    small, large = sorted((a, b))
    kept_small = set(labelled_subset(labels, small, seed, groups))
    kept_large = set(labelled_subset(labels, large, seed, groups))
    assert kept_small <= kept_large


@settings(max_examples=60, deadline=None)
@given(units_and_labels, st.floats(0.01, 1.0), st.integers(0, 2**16))
def test_whole_units_are_kept_per_class_at_the_fraction(pairs, fraction, seed):
    labels, groups = by_unit(pairs)
    kept = labelled_subset(labels, fraction, seed, groups)
    kept_units = set(groups[kept])
    # A unit is kept with all its examples or not at all.
    assert set(kept) == {i for i, g in enumerate(groups) if g in kept_units}
    for label in np.unique(labels):
        units = set(groups[labels == label])
        assert len(kept_units & units) == max(1, math.ceil(fraction * len(units)))


def test_the_subset_depends_on_the_seed_alone():
    labels = np.repeat([0, 1], 500)
    one = labelled_subset(labels, 0.1, seed=3)
    assert np.array_equal(one, labelled_subset(labels, 0.1, seed=3))
    assert not np.array_equal(one, labelled_subset(labels, 0.1, seed=4))
    assert len(one) == 100 and (labels[one] == 0).sum() == 50


def test_fraction_one_keeps_everything_and_bad_input_is_refused():
    labels = np.array([0, 1, 1])
    assert labelled_subset(labels, 1.0, seed=0).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        labelled_subset(labels, 0.0, seed=0)
    with pytest.raises(ValueError, match="unit 'a' has examples with different labels"):
        labelled_subset(labels, 0.5, seed=0, groups=np.array(["a", "a", "b"]))
