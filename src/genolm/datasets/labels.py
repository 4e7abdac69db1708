"""Scarce-label experiments: which training examples keep their label at a given label fraction.

The subsample is
  * stratified: each class keeps the same fraction of its units (at least one unit per class);
  * by unit: where examples belong to a unit (a genome, a cell line), whole units are kept or dropped, so a
    unit's fragments never straddle labelled and unlabelled;
  * nested: units are ranked once per seed, and a fraction keeps the first ceil(fraction x n) of the ranking, so
    the 1 % subset lies inside the 10 % subset of the same seed;
  * seeded: the ranking is a numpy permutation drawn from the seed alone.

The shuffled-label control (`shuffled_labels`) permutes the labels among the same units, so that what a model
then scores above chance is read from something other than the labels.
"""

from __future__ import annotations

import math

import numpy as np


def labelled_subset(labels: np.ndarray, fraction: float, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of the examples that keep their label. `groups[i]` names example i's unit (None: each
    example is its own unit); a unit whose examples disagree on the label is an error."""
    if not 0 < fraction <= 1:
        raise ValueError(f"label fraction must lie in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    if fraction == 1:
        return np.arange(len(labels))
    units = np.arange(len(labels)) if groups is None else np.asarray(groups)
    unit_names, unit_of_example = np.unique(units, return_inverse=True)
    unit_label = np.full(len(unit_names), -1, dtype=np.int64)
    unit_label[unit_of_example] = labels
    if groups is not None and (unit_label[unit_of_example] != labels).any():
        bad = unit_names[unit_of_example[unit_label[unit_of_example] != labels][0]]
        raise ValueError(f"unit {str(bad)!r} has examples with different labels")
    rank = np.random.default_rng(seed).permutation(len(unit_names))  # unit u's position in the ranking
    position = np.empty_like(rank)
    position[rank] = np.arange(len(rank))
    keep_unit = np.zeros(len(unit_names), dtype=bool)
    for label in np.unique(unit_label):
        members = np.flatnonzero(unit_label == label)
        kept = members[np.argsort(position[members], kind="stable")][: max(1, math.ceil(fraction * len(members)))]
        keep_unit[kept] = True
    return np.flatnonzero(keep_unit[unit_of_example])


def shuffled_labels(labels: np.ndarray, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """The labels permuted among the units by the seed (each example its own unit where `groups` is None): the
    class counts over units stay, every example of a unit keeps one label, and which unit has which is random.
    A unit whose examples disagree on the label is an error, as in labelled_subset."""
    labels = np.asarray(labels)
    units = np.arange(len(labels)) if groups is None else np.asarray(groups)
    unit_names, first, unit_of_example = np.unique(units, return_index=True, return_inverse=True)
    unit_label = labels[first]
    if groups is not None and (unit_label[unit_of_example] != labels).any():
        bad = unit_names[unit_of_example[unit_label[unit_of_example] != labels][0]]
        raise ValueError(f"unit {str(bad)!r} has examples with different labels")
    permuted = unit_label[np.random.default_rng(seed).permutation(len(unit_names))]
    return permuted[unit_of_example]
