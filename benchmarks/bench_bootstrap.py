"""The bootstrap over units of every classification job (genolm.metrics.group_metrics: three scores, 1,000
resamples each) against the same bootstrap scored by scikit-learn one resample at a time, side by side in one run.

Both draw the same resamples and give the same intervals (checked here, and resample by resample in
tests/test_metrics_groups.py); the default size is the virBERT demo's test split (24 genomes x 16 fragments).

    python benchmarks/bench_bootstrap.py [--units 24] [--per-unit 16] [--classes 2] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from genolm.metrics import group_metrics, percentile_interval, unit_resamples


def scikit_learn_loop(proba: np.ndarray, labels: np.ndarray, unit_of: np.ndarray, *, seed: int,
                      resamples: int) -> dict[str, tuple[float, float]]:
    """The straightforward bootstrap: per resample, gather the drawn units' rows and call scikit-learn."""
    n_units = unit_of.max() + 1
    unit_label = np.zeros(n_units, dtype=np.int64)
    unit_label[unit_of] = labels
    unit_proba = np.zeros((n_units, proba.shape[1]))
    np.add.at(unit_proba, unit_of, proba)
    unit_pred, window_pred = unit_proba.argmax(1), proba.argmax(1)
    members = [np.flatnonzero(unit_of == u) for u in range(n_units)]
    draws: dict[str, list[float]] = {"unit_accuracy": [], "unit_balanced_accuracy": [], "balanced_accuracy": []}
    for row in unit_resamples(n_units, seed=seed, resamples=resamples):
        units = np.repeat(np.arange(n_units), row.astype(int))
        if len(np.unique(unit_label[units])) < 2:
            continue
        rows = np.concatenate([members[u] for u in units])
        draws["unit_accuracy"].append(accuracy_score(unit_label[units], unit_pred[units]))
        draws["unit_balanced_accuracy"].append(balanced_accuracy_score(unit_label[units], unit_pred[units]))
        draws["balanced_accuracy"].append(balanced_accuracy_score(labels[rows], window_pred[rows]))
    return {name: percentile_interval(np.array(values)) for name, values in draws.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=24)
    parser.add_argument("--per-unit", type=int, default=16)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    unit_of = np.repeat(np.arange(args.units), args.per_unit)
    labels = (np.arange(args.units) % args.classes)[unit_of]
    proba = rng.dirichlet(np.ones(args.classes), size=len(labels))
    proba[np.arange(len(labels)), labels] += 0.3  # a model somewhat better than chance
    proba /= proba.sum(1, keepdims=True)
    groups = np.array([f"unit{u:04d}" for u in unit_of])  # names sort in unit order, as the loop numbers them

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns on resamples missing a predicted class
        reference = scikit_learn_loop(proba, labels, unit_of, seed=1, resamples=args.resamples)
    loop_s = time.perf_counter() - start
    start = time.perf_counter()
    ours = group_metrics(proba, labels, groups, seed=1, resamples=args.resamples)
    vector_s = time.perf_counter() - start
    for name, (low, high) in reference.items():
        assert np.allclose(ours[name][1:], (low, high)), (name, ours[name], (low, high))

    print(f"bootstrap over {args.units} units x {args.per_unit} examples, {args.classes} classes, "
          f"{args.resamples} resamples, 3 scores (intervals equal)")
    print(f"  scikit-learn per resample {loop_s:>9.3f} s")
    print(f"  genolm.metrics (vector)   {vector_s:>9.3f} s")
    print(f"  ratio {loop_s / vector_s:.0f}")


if __name__ == "__main__":
    main()
