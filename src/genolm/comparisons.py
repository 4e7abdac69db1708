"""Pre-registered comparisons: is arm A better than arm B, by an interval a reviewer accepts?

A comparison (`$defs/comparison` in genolm/schemas/config.schema.yaml) names two arms, a metric, a split, the
unit (cell line, genome family, species, parent, gene) and the direction the paper reports. For each replicate
(one split, labelled subset, pretraining and fine-tuning chain: `split_seed`, `pretrain_seed`, `seed`) both arms
are scored on the same test units, and the paired difference A - B is taken. The interval comes from a
hierarchical bootstrap: each resample draws replicates with replacement, then units within each drawn replicate
(genolm.metrics.unit_resamples), and the same unit draw weighs both arms (paired). Every metric is a weighted
count over units, so one matrix product scores a block of resamples (as genolm.metrics.group_metrics does; tested
equal to scikit-learn on the resampled rows). The verdict reads the interval only:

    supported      the interval excludes 0 on the side the paper reports
    reversed       the interval excludes 0 on the other side
    inconclusive   the interval holds 0 (or no resample was defined)

A control that must land at chance (a shuffled-label arm) is a comparison with `arm_b: chance` and
`expected_direction: 0`: the difference is arm A's metric minus its chance level under the same resample (what a
prediction independent of the input scores: balanced accuracy 1 / the classes present; accuracy the sum over classes
of the true and the predicted class shares; MCC 0; AUROC 0.5), and the verdict is `consistent` (the interval holds 0:
at chance) or `inconsistent` (it excludes 0: the arm reads something it should not, or less than chance).

A resample in which a drawn replicate's metric is undefined (one class only among the drawn units; AUROC without
both classes) is skipped and counted in `undefined_resamples`.

Where the predictions do not carry the comparison's unit, a UnitSource supplies it: the shard set the jobs were
scored on (each row's unit is that set's column at the row's split and index: ENBED's generation predictions take
their parent, the 12S predictions their species), and a mapping from the rows' group to a coarser unit (virBERT's
genome -> family, so that the interval resamples families, the split unit).

Inputs per arm and replicate: a fine-tuning job directory (its `predictions.parquet`: `split`, `checkpoint`,
`group`, `label`, `probabilities`; for a generation job `target` and `candidates`, from which the per-example
`exact_match` and `edit_distance` columns are derived), or a Parquet/TSV table of per-example or per-unit scores
with `split`, `group` and the score column (jobs without predictions: baselines, generation tasks scored
elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from genolm.atomic import atomic_file
from genolm.errors import GenolmInputError

# genolm.metrics (torch) is imported where it is used: the studies' check_config import this module, and the
# config is validated in environments without torch (the download stages').
PREDICTIONS_FILE = "predictions.parquet"
CHANCE = "chance"  # arm_b of a control that must land at chance: the arm's own chance level, not a run"
RUNS_COLUMNS = ("arm", "replicate", "split_seed", "pretrain_seed", "seed", "path")
# Optional: the shard set a run was scored on, where replicates draw their own split (each run's units are looked
# up in its own replicate's shards rather than in one --group-shards).
RUNS_OPTIONAL_COLUMNS = ("group_shards",)
CLASSIFICATION_METRICS = ("accuracy", "top1_accuracy", "balanced_accuracy", "f1_macro", "mcc", "auroc")
COMPARISONS_SCHEMA: dict[str, pl.DataType] = {
    "comparison": pl.Utf8, "arm_a": pl.Utf8, "arm_b": pl.Utf8, "metric": pl.Utf8, "split": pl.Utf8,
    "unit": pl.Utf8, "expected_direction": pl.Int64, "difference": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "verdict": pl.Utf8, "replicates": pl.Int64, "units": pl.Int64,
    "replicate_differences": pl.Utf8, "resamples": pl.Int64, "undefined_resamples": pl.Int64,
    "level": pl.Float64, "description": pl.Utf8,
}


@dataclass(frozen=True)
class Comparison:
    name: str
    arm_a: str
    arm_b: str
    metric: str
    unit: str
    expected_direction: int
    split: str
    checkpoint: str
    resamples: int
    level: float
    seed: int
    description: str | None = None


def load_comparisons(entries: Sequence[dict], source: str) -> list[Comparison]:
    """Validate config entries against `$defs/comparison` (filling its defaults) and turn them into Comparisons;
    names must be unique and the two arms differ."""
    from genolm.config import load_schema, validate_config

    schema = load_schema()
    wrapper = {"$defs": schema["$defs"], "type": "object", "additionalProperties": False,
               "properties": {"comparisons": {"type": "array", "items": {"$ref": "#/$defs/comparison"}}}}
    entries = validate_config({"comparisons": [dict(e) for e in entries]}, schema=wrapper, source=source)["comparisons"]
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry["name"] in seen:
            raise GenolmInputError(source, f"two comparisons named {entry['name']!r}: names must be unique")
        seen.add(entry["name"])
        if entry["arm_a"] == entry["arm_b"]:
            raise GenolmInputError(source, f"comparison {entry['name']!r} compares arm {entry['arm_a']!r} with itself")
        if (entry["arm_b"] == CHANCE) != (entry["expected_direction"] == 0) or entry["arm_a"] == CHANCE:
            raise GenolmInputError(source, f"comparison {entry['name']!r}: a control at chance has arm_b {CHANCE!r} "
                                           "and expected_direction 0, and only it")
        out.append(Comparison(**entry))
    return out


def unknown_arm(comparisons: Sequence[dict], arms: Sequence[str]) -> tuple[int, str, str] | None:
    """The first (index, key, arm) of a comparison naming an arm not in `arms`, for a study's check_config."""
    known = set(arms)
    for index, entry in enumerate(comparisons):
        for key in ("arm_a", "arm_b"):
            if entry[key] not in known and not (key == "arm_b" and entry[key] == CHANCE):
                return index, key, entry[key]
    return None


# --- metrics as weighted counts over units --------------------------------------------------------------------


class UnitScores:
    """One arm's rows in one replicate, reduced to what its metrics need per unit, so that a metric of unit
    multiplicities `weights` [R, U] (units in `units` order) is a matrix product."""

    def __init__(self, rows: pl.DataFrame, units: np.ndarray, source: str):
        self.rows, self.units, self.source = rows, units, source
        index = {name: i for i, name in enumerate(units)}
        self.unit_of = np.array([index[g] for g in rows["group"].to_list()], dtype=np.int64)
        # Computed on first use and kept: the bootstrap scores the same rows under many weights.
        self._class_data: tuple[np.ndarray, np.ndarray, int] | None = None
        self._confusion: np.ndarray | None = None
        self._pairs: tuple[np.ndarray, np.ndarray] | None = None

    def _classes(self) -> tuple[np.ndarray, np.ndarray, int]:
        if self._class_data is None:
            self._class_data = self._read_classes()
        return self._class_data

    def _read_classes(self) -> tuple[np.ndarray, np.ndarray, int]:
        if "probabilities" not in self.rows.columns or "label" not in self.rows.columns:
            raise GenolmInputError(self.source, "has no label and probabilities columns: a classification metric "
                                                "needs a fine-tuning job's predictions")
        column = self.rows["probabilities"]
        if isinstance(column.dtype, pl.List):  # the trainer writes a fixed-width Array; a hand-made table may not
            widths = column.list.len()
            if widths.n_unique() > 1 or widths.null_count():
                raise GenolmInputError(self.source, "probability vectors of different lengths",
                                       record=f"row {int((widths != widths[0]).fill_null(True).arg_true()[0])}")
            column = column.list.to_array(int(widths[0])) if len(column) else column
        proba = np.asarray(column.to_numpy(), dtype=np.float64)
        if self.rows["label"].null_count():
            raise GenolmInputError(self.source, "an example has no label",
                                   record=f"row {int(self.rows['label'].is_null().arg_true()[0])}")
        labels = self.rows["label"].to_numpy().astype(np.int64)
        if proba.ndim != 2 or (len(labels) and labels.max() >= proba.shape[1]) or (len(labels) and labels.min() < 0):
            raise GenolmInputError(self.source, "labels do not index the probability vectors")
        return proba, labels, proba.shape[1]

    def confusion(self) -> np.ndarray:
        """[U, C*C] counts of (true class, predicted class) per unit, predicted = the most probable class."""
        if self._confusion is None:
            proba, labels, classes = self._classes()
            self._confusion = np.zeros((len(self.units), classes * classes))
            np.add.at(self._confusion, (self.unit_of, labels * classes + proba.argmax(1)), 1.0)
        return self._confusion

    def score(self, metric: str, weights: np.ndarray) -> np.ndarray:
        """The metric under each row of unit multiplicities; NaN where it is undefined."""
        if metric.startswith("mean:"):
            return self._mean_score(metric.partition(":")[2], weights)
        if metric == "auroc":
            return self._auroc(weights)
        classes = self._classes()[2]
        confusion = self.confusion()
        if metric in ("accuracy", "top1_accuracy", "balanced_accuracy"):
            accuracy, balanced = _accuracies(confusion, classes, weights)
            return balanced if metric == "balanced_accuracy" else accuracy
        return _from_confusion(metric, (weights @ confusion).reshape(-1, classes, classes))

    def chance(self, metric: str, weights: np.ndarray) -> np.ndarray:
        """The metric a prediction independent of the input would score under each row of unit multiplicities
        (the chance level a shuffled-label control must land at); NaN where the metric is."""
        if metric == "auroc":
            return np.where(np.isfinite(self._auroc(weights)), 0.5, np.nan)
        if metric not in ("accuracy", "top1_accuracy", "balanced_accuracy", "mcc"):
            raise GenolmInputError(self.source, f"no chance level for metric {metric!r} (accuracy, balanced_accuracy, "
                                                "mcc, auroc)")
        classes = self._classes()[2]
        confusion = (weights @ self.confusion()).reshape(-1, classes, classes)
        true, predicted = confusion.sum(2), confusion.sum(1)
        defined = (true > 0).sum(1) >= 2
        with np.errstate(invalid="ignore", divide="ignore"):
            if metric == "balanced_accuracy":
                level = 1.0 / (true > 0).sum(1)
            elif metric == "mcc":
                level = np.zeros(len(confusion))
            else:
                total = true.sum(1)
                level = (true * predicted).sum(1) / total ** 2
        return np.where(defined, level, np.nan)

    def _mean_score(self, column: str, weights: np.ndarray) -> np.ndarray:
        if column not in self.rows.columns:
            raise GenolmInputError(self.source, f"has no score column {column!r} (columns: {', '.join(self.rows.columns)})")
        values = self.rows[column].cast(pl.Float64).to_numpy()
        if not np.isfinite(values).all():
            raise GenolmInputError(self.source, f"column {column!r} holds missing or non-finite scores",
                                   record=f"row {int(np.flatnonzero(~np.isfinite(values))[0])}")
        n_units = len(self.units)
        per_unit = np.bincount(self.unit_of, weights=values, minlength=n_units) / np.bincount(self.unit_of, minlength=n_units)
        return (weights @ per_unit) / weights.sum(1)

    def _auroc(self, weights: np.ndarray) -> np.ndarray:
        """Binary AUROC of the rows weighted by their unit's multiplicity, as scikit-learn's roc_auc_score on the
        resampled rows (ties count one half). A resample only reweighs units, so the ranked pairs are counted once
        per pair of units: pairs[u, v] = positives of u scored above negatives of v; then each resample's AUROC is
        w pairs w' / (positives x negatives)."""
        if self._pairs is None:
            proba, labels, classes = self._classes()
            if classes != 2:
                raise GenolmInputError(self.source, f"auroc is for two classes; these predictions have {classes}")
            score, n_units = proba[:, 1], len(self.units)
            positive = labels == 1
            # Sorted needles: searchsorted walks the haystack in order (several times faster on 10^5 examples).
            order = np.argsort(score[positive], kind="stable")
            positive_score, positive_unit = score[positive][order], self.unit_of[positive][order]
            negative_score, negative_unit = score[~positive], self.unit_of[~positive]
            pairs = np.zeros((n_units, n_units))
            for unit in range(n_units):
                negatives = np.sort(negative_score[negative_unit == unit])
                if not len(negatives):
                    continue
                below = np.searchsorted(negatives, positive_score, side="left")
                tied = np.searchsorted(negatives, positive_score, side="right") - below
                pairs[:, unit] = np.bincount(positive_unit, weights=below + 0.5 * tied, minlength=n_units)
            counts = np.stack([np.bincount(self.unit_of[positive], minlength=n_units),
                               np.bincount(self.unit_of[~positive], minlength=n_units)], 1).astype(np.float64)
            self._pairs = (pairs, counts)
        pairs, counts = self._pairs
        ranked = ((weights @ pairs) * weights).sum(1)
        positives, negatives = (weights @ counts).T
        total = positives * negatives
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, ranked / np.where(total > 0, total, 1), np.nan)


def _accuracies(confusion: np.ndarray, classes: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and balanced accuracy from genolm.metrics' own weighted scorer (the one definition), fed one
    pseudo-unit per (unit, true class): a unit whose examples have several labels (a genome family) counts in
    each of its classes."""
    per_class = confusion.reshape(len(confusion), classes, classes)
    total = per_class.sum(2)                                              # [U, C] examples per true class
    correct = np.diagonal(per_class, axis1=1, axis2=2)                    # [U, C]
    from genolm import metrics

    unit, label = np.nonzero(total)
    return metrics._weighted_scores(weights[:, unit], label, correct[unit, label], total[unit, label], classes)


def _from_confusion(metric: str, confusion: np.ndarray) -> np.ndarray:
    """Macro F1 and Matthews correlation of each weighted confusion matrix [R, C, C] (rows: true class),
    as scikit-learn computes them on the resampled rows: F1 averages the classes present in the targets or the
    predictions; MCC is 0 where its denominator is. NaN where fewer than two classes are present in the targets,
    the resamples genolm.metrics leaves undefined too."""
    true = confusion.sum(2)
    predicted = confusion.sum(1)
    hits = np.diagonal(confusion, axis1=1, axis2=2)
    defined = (true > 0).sum(1) >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "f1_macro":
            present = (true > 0) | (predicted > 0)
            f1 = np.where(present, 2 * hits / np.where(present, true + predicted, 1), 0.0)
            value = f1.sum(1) / present.sum(1)
        elif metric == "mcc":
            total = true.sum(1)
            covariance = hits.sum(1) * total - (true * predicted).sum(1)
            denominator = np.sqrt((total ** 2 - (predicted ** 2).sum(1)) * (total ** 2 - (true ** 2).sum(1)))
            value = np.where(denominator > 0, covariance / np.where(denominator > 0, denominator, 1), 0.0)
        else:
            raise ValueError(f"unknown metric {metric!r}")
    return np.where(defined, value, np.nan)


# --- the hierarchical bootstrap -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedReplicate:
    """Both arms of one replicate on the same units: `difference(weights)` is metric A - metric B under each row
    of unit multiplicities [R, units]."""

    units: int
    difference: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PairedResult:
    differences: list[float]            # per replicate, on all its units
    difference: float                   # their mean
    ci_low: float
    ci_high: float
    undefined_resamples: int


def _replicate_seed(seed: int, replicate: int) -> int:
    return int(np.random.SeedSequence([seed, replicate]).generate_state(1)[0])


def paired_bootstrap(replicates: Sequence[PairedReplicate], *, seed: int, resamples: int,
                     level: float) -> PairedResult:
    """Mean paired difference over replicates and its hierarchical percentile interval: each resample draws as many
    replicates as there are, with replacement, and for every drawn replicate (each draw its own) a resample of
    its units (genolm.metrics.unit_resamples), applied to both arms. With one replicate the interval is over units
    alone. Resamples with an undefined difference are skipped and counted."""
    from genolm import metrics

    if not replicates:
        raise ValueError("no replicates")
    differences = [float(r.difference(np.ones((1, r.units)))[0]) for r in replicates]
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(replicates), size=(resamples, len(replicates)))
    statistics = np.empty(drawn.shape)
    for index, replicate in enumerate(replicates):
        slots = np.nonzero(drawn == index)
        if len(slots[0]):
            weights = metrics.unit_resamples(replicate.units, seed=_replicate_seed(seed, index), resamples=len(slots[0]))
            statistics[slots] = replicate.difference(weights)
    draws = statistics.mean(1)
    low, high = metrics.percentile_interval(draws, level)
    return PairedResult(differences, float(np.mean(differences)), low, high, int((~np.isfinite(draws)).sum()))


def verdict(ci_low: float, ci_high: float, expected_direction: int) -> str:
    """From the interval alone: which side of zero it lies on, against the direction the paper reports."""
    if expected_direction == 0:  # a control that must land at chance (arm_b: chance)
        if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
            return "inconclusive"
        return "consistent" if ci_low <= 0 <= ci_high else "inconsistent"
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "inconclusive"
    if ci_low > 0:
        return "supported" if expected_direction > 0 else "reversed"
    if ci_high < 0:
        return "supported" if expected_direction < 0 else "reversed"
    return "inconclusive"


# --- runs and their predictions -------------------------------------------------------------------------------


def read_runs(path: str | Path) -> pl.DataFrame:
    """The runs table (TSV): `arm`, `replicate`, `split_seed`, `pretrain_seed`, `seed`, `path` (a job directory or
    a scores table), one row per arm and replicate. Relative paths are read from the working directory."""
    try:
        runs = pl.read_csv(path, separator="\t", infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(path, f"cannot read as a TSV runs table ({str(error).splitlines()[0]})") from None
    return _checked_runs(runs, str(path))


def runs_from_arguments(arguments: Sequence[str], source: str = "--run") -> pl.DataFrame:
    """The runs table from `arm=...,replicate=...,split_seed=...,pretrain_seed=...,seed=...,path=...` strings (a
    rule's repeated --run arguments; seeds may be left empty)."""
    rows = []
    for argument in arguments:
        fields = dict(part.partition("=")[::2] for part in argument.split(","))
        unknown = sorted(set(fields) - set(RUNS_COLUMNS) - set(RUNS_OPTIONAL_COLUMNS))
        if unknown or any("=" not in part for part in argument.split(",")):
            raise GenolmInputError(source, f"expected {'=...,'.join(RUNS_COLUMNS)}=... (unknown or malformed: "
                                           f"{', '.join(unknown) or argument})", record=argument)
        rows.append({column: fields.get(column) or None for column in RUNS_COLUMNS + RUNS_OPTIONAL_COLUMNS})
    return _checked_runs(pl.DataFrame(rows, schema={c: pl.Utf8 for c in RUNS_COLUMNS + RUNS_OPTIONAL_COLUMNS}), source)


def _checked_runs(runs: pl.DataFrame, source: str) -> pl.DataFrame:
    missing = [c for c in RUNS_COLUMNS if c not in runs.columns]
    if missing:
        raise GenolmInputError(source, f"missing column(s) {', '.join(missing)} (a runs table has {', '.join(RUNS_COLUMNS)})")
    runs = runs.select(*RUNS_COLUMNS, *(pl.col(c) if c in runs.columns else pl.lit(None, pl.Utf8).alias(c)
                                        for c in RUNS_OPTIONAL_COLUMNS))
    for column in ("arm", "replicate", "path"):
        if runs[column].null_count():
            raise GenolmInputError(source, f"a run has no {column}", record=f"row {int(runs[column].is_null().arg_true()[0])}")
    for column in ("split_seed", "pretrain_seed", "seed"):
        bad = runs.filter(pl.col(column).is_not_null() & pl.col(column).cast(pl.Int64, strict=False).is_null())
        if len(bad):
            raise GenolmInputError(source, f"{column} {bad[column][0]!r} is not an integer", record=f"arm {bad['arm'][0]}")
    runs = runs.with_columns(pl.col(c).cast(pl.Int64) for c in ("split_seed", "pretrain_seed", "seed"))
    duplicated = runs.filter(pl.struct("arm", "replicate").is_duplicated())
    if len(duplicated):
        raise GenolmInputError(source, "two rows for the same arm and replicate",
                               record=f"arm {duplicated['arm'][0]}, replicate {duplicated['replicate'][0]}")
    return runs


def _derive_generation_scores(rows: pl.DataFrame) -> pl.DataFrame:
    """Per-example exact match and edit distance of the first candidate of a generation job's predictions (the
    scores genolm.metrics.generation_metrics averages)."""
    from torchmetrics.functional.text import edit_distance

    first = [c[0] if c else "" for c in rows["candidates"].to_list()]
    targets = rows["target"].to_list()
    distances = edit_distance(first, targets, reduction="none").double().numpy() if len(targets) else np.zeros(0)
    return rows.with_columns(pl.Series("exact_match", [float(a == b) for a, b in zip(first, targets)]),
                             pl.Series("edit_distance", distances))


@dataclass(frozen=True)
class UnitSource:
    """Where each scored row's unit comes from besides its own `group` column: `shards` (a shard set) and `column`
    - the unit is that column at the row's split and index; `mapping` (group -> unit, read from `mapping_source`)
    - a coarser unit than the group."""

    shards: Path | None = None
    column: str = "sample"
    mapping: dict[str, str] | None = None
    mapping_source: str = ""


def read_unit_map(path: str | Path, from_column: str, to_column: str) -> dict[str, str]:
    """group -> unit from a Parquet or TSV table (e.g. virBERT's genomes.parquet: genome_id -> family); a group
    mapped to two units is refused."""
    path = Path(path)
    try:
        table = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, separator="\t",
                                                                                    infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(path, f"cannot read as a unit map ({str(error).splitlines()[0]})") from None
    missing = [c for c in (from_column, to_column) if c not in table.columns]
    if missing:
        raise GenolmInputError(path, f"no column(s) {', '.join(missing)} (columns: {', '.join(table.columns)})")
    pairs = table.select(pl.col(from_column).cast(pl.Utf8).alias("group"), pl.col(to_column).cast(pl.Utf8).alias("unit"))
    if pairs["group"].null_count() or pairs["unit"].null_count():
        raise GenolmInputError(path, f"a row has no {from_column} or no {to_column}")
    pairs = pairs.unique()
    ambiguous = pairs.filter(pl.col("group").is_duplicated())
    if len(ambiguous):
        raise GenolmInputError(path, f"{from_column} {ambiguous['group'][0]!r} maps to two {to_column} values",
                               record=f"{from_column} {ambiguous['group'][0]}")
    return dict(pairs.iter_rows())


def _groups_from_shards(rows: pl.DataFrame, source: Path, shards: Path, column: str) -> pl.DataFrame:
    """Each row's unit from the shard set's `column` at the row's split and index, checked against what the row
    says about that example (its label, or its generation target), so that a job scored on other shards is
    refused rather than mislabelled."""
    from genolm.datasets.shards import read_shards, shard_columns

    if "index" not in rows.columns:
        raise GenolmInputError(source, "has no index column: the unit cannot be looked up in the shards")
    check = ("target", "target_sequence") if "target" in rows.columns else ("label", "label")
    checkable = check[0] in rows.columns and check[1] in shard_columns(shards)
    parts = []
    for split in rows["split"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("split") == split)
        table = read_shards(shards, split, columns=[column] + ([check[1]] if checkable else []))
        index = part["index"].to_numpy()
        if len(index) and (index.min() < 0 or index.max() >= table.num_rows):
            raise GenolmInputError(source, f"index {int(index.max())} is past the {table.num_rows} rows of split "
                                           f"{split!r} in {shards}: the job was scored on other shards")
        units = np.asarray(table[column].to_pylist(), dtype=object)[index]
        if checkable:
            expected = np.asarray(table[check[1]].to_pylist(), dtype=object)[index]
            differs = np.flatnonzero(expected != np.asarray(part[check[0]].to_list(), dtype=object))
            if len(differs):
                raise GenolmInputError(source, f"the {check[0]} of split {split!r} row {int(index[differs[0]])} is "
                                               f"not the one in {shards}: the job was scored on other shards",
                                       record=f"index {int(index[differs[0]])}")
        if any(u is None for u in units):
            raise GenolmInputError(shards, f"the {column} column is null: every example needs a unit",
                                   record=f"split {split}")
        parts.append(part.with_columns(pl.Series("group", [str(u) for u in units], dtype=pl.Utf8)))
    return pl.concat(parts) if parts else rows.with_columns(pl.lit(None, pl.Utf8).alias("group"))


def _mapped(rows: pl.DataFrame, source: Path, units: UnitSource) -> pl.DataFrame:
    unknown = sorted(set(rows["group"].to_list()) - set(units.mapping))
    if unknown:
        raise GenolmInputError(units.mapping_source, f"has no unit for {len(unknown)} group(s) of {source}",
                               record=f"group {unknown[0]}")
    return rows.with_columns(pl.col("group").replace_strict(units.mapping, return_dtype=pl.Utf8))


def read_scores(path: str | Path, units: UnitSource | None = None) -> tuple[pl.DataFrame, Path]:
    """The rows one run is scored on: a job directory's predictions.parquet, or a Parquet/TSV scores table, with
    each row's unit in `group` (from `units` where given)."""
    path = Path(path)
    source = path / PREDICTIONS_FILE if path.is_dir() else path
    if not source.is_file():
        raise GenolmInputError(source, "missing: a run's path is a job directory with predictions.parquet, or a "
                                       "Parquet/TSV scores table")
    try:
        rows = pl.read_csv(source, separator="\t") if source.suffix in (".tsv", ".txt") else pl.read_parquet(source)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise GenolmInputError(source, f"cannot read ({str(error).splitlines()[0]})") from None
    if units is not None and units.shards is not None:
        if "split" not in rows.columns:
            raise GenolmInputError(source, "has no 'split' column")
        rows = _groups_from_shards(rows, source, units.shards, units.column)
    for column in ("split", "group"):
        if column not in rows.columns:
            raise GenolmInputError(source, f"has no {column!r} column (the unit of each row: train with a "
                                           "group_column, or give a scores table with split and group)")
    if rows["group"].null_count():
        raise GenolmInputError(source, "a row has no unit (group is null)",
                               record=f"row {int(rows['group'].is_null().arg_true()[0])}")
    if "target" in rows.columns and "candidates" in rows.columns:
        rows = _derive_generation_scores(rows)
    rows = rows.with_columns(pl.col("group").cast(pl.Utf8))
    if units is not None and units.mapping is not None:
        rows = _mapped(rows, source, units)
    return rows, source


def _select(rows: pl.DataFrame, comparison: Comparison, source: Path) -> pl.DataFrame:
    chosen = rows.filter(pl.col("split") == comparison.split)
    if not len(chosen):
        raise GenolmInputError(source, f"no rows of split {comparison.split!r}", record=f"comparison {comparison.name}")
    if "checkpoint" in chosen.columns:
        present = set(chosen["checkpoint"].unique().to_list())
        # A job without a validation split (a baseline) chose no best checkpoint: its final weights stand in.
        checkpoint = "last" if comparison.checkpoint == "best" and "best" not in present else comparison.checkpoint
        if checkpoint not in present:
            raise GenolmInputError(source, f"no rows of checkpoint {checkpoint!r} in split {comparison.split!r} "
                                           f"(checkpoints: {', '.join(sorted(map(str, present)))})",
                                   record=f"comparison {comparison.name}")
        chosen = chosen.filter(pl.col("checkpoint") == checkpoint)
    return chosen


def _paired(comparison: Comparison, replicate: str, a: tuple[pl.DataFrame, Path],
            b: tuple[pl.DataFrame, Path]) -> PairedReplicate:
    rows_a, rows_b = _select(a[0], comparison, a[1]), _select(b[0], comparison, b[1])
    units_a, units_b = set(rows_a["group"].to_list()), set(rows_b["group"].to_list())
    if units_a != units_b:
        only, source, other = ((sorted(units_a - units_b), a[1], comparison.arm_b) if units_a - units_b
                               else (sorted(units_b - units_a), b[1], comparison.arm_a))
        raise GenolmInputError(source, f"unit {only[0]!r} of split {comparison.split!r} is missing in arm {other!r} "
                                       f"({len(only)} unit(s) differ): the arms must share the test units",
                               record=f"comparison {comparison.name}, replicate {replicate}")
    units = np.array(sorted(units_a))
    score_a = UnitScores(rows_a, units, str(a[1]))
    score_b = UnitScores(rows_b, units, str(b[1]))
    # Fail on an unusable input now, with the file's name, rather than inside the bootstrap.
    probe = np.ones((1, len(units)))
    score_a.score(comparison.metric, probe), score_b.score(comparison.metric, probe)
    return PairedReplicate(len(units), lambda w: score_a.score(comparison.metric, w) - score_b.score(comparison.metric, w))


def compare(comparisons: Sequence[Comparison], runs: pl.DataFrame, runs_source: str,
            units: UnitSource | None = None) -> pl.DataFrame:
    """The comparisons table (COMPARISONS_SCHEMA), one row per comparison. Replicates are the `replicate` values
    both arms have; a replicate only one arm ran is refused (the arms must be paired). `units`: where the rows'
    units come from when the predictions do not carry them (UnitSource)."""
    cache: dict[tuple[str, str | None], tuple[pl.DataFrame, Path]] = {}

    def scores(run: tuple[str, str | None]) -> tuple[pl.DataFrame, Path]:
        path, shards = run
        if run not in cache:
            own = units if shards is None else replace(units or UnitSource(), shards=Path(shards))
            cache[run] = read_scores(path, own)
        return cache[run]

    rows = []
    for comparison in comparisons:
        if comparison.arm_b == CHANCE:
            paired = _at_chance(comparison, runs, runs_source, scores)
            rows.append(_row(comparison, paired))
            continue
        by_arm = {arm: {r["replicate"]: (r["path"], r["group_shards"])
                        for r in runs.filter(pl.col("arm") == arm).iter_rows(named=True)}
                  for arm in (comparison.arm_a, comparison.arm_b)}
        for arm, replicates in by_arm.items():
            if not replicates:
                raise GenolmInputError(runs_source, f"no runs of arm {arm!r}", record=f"comparison {comparison.name}")
        a, b = by_arm[comparison.arm_a], by_arm[comparison.arm_b]
        if set(a) != set(b):
            lonely = sorted(set(a) ^ set(b))[0]
            raise GenolmInputError(runs_source, f"replicate {lonely!r} ran for only one of the arms {comparison.arm_a!r} "
                                                f"and {comparison.arm_b!r}: the arms must be paired",
                                   record=f"comparison {comparison.name}")
        order = sorted(a, key=lambda r: (len(r), r))
        paired = [_paired(comparison, r, scores(a[r]), scores(b[r])) for r in order]
        rows.append(_row(comparison, paired))
    return pl.DataFrame(rows, schema=COMPARISONS_SCHEMA)


def _at_chance(comparison: Comparison, runs: pl.DataFrame, runs_source: str, scores) -> list[PairedReplicate]:
    """Arm A against its own chance level, replicate by replicate, on the same resampled units."""
    replicates = {r["replicate"]: (r["path"], r["group_shards"])
                  for r in runs.filter(pl.col("arm") == comparison.arm_a).iter_rows(named=True)}
    if not replicates:
        raise GenolmInputError(runs_source, f"no runs of arm {comparison.arm_a!r}", record=f"comparison {comparison.name}")
    paired = []
    for replicate in sorted(replicates, key=lambda r: (len(r), r)):
        rows, source = scores(replicates[replicate])
        chosen = _select(rows, comparison, source)
        units = np.array(sorted(set(chosen["group"].to_list())))
        arm = UnitScores(chosen, units, str(source))
        probe = np.ones((1, len(units)))
        arm.score(comparison.metric, probe), arm.chance(comparison.metric, probe)
        paired.append(PairedReplicate(len(units), lambda w, arm=arm: arm.score(comparison.metric, w)
                                      - arm.chance(comparison.metric, w)))
    return paired


def _row(comparison: Comparison, paired: list[PairedReplicate]) -> dict:
    result = paired_bootstrap(paired, seed=comparison.seed, resamples=comparison.resamples, level=comparison.level)
    return {
            "comparison": comparison.name, "arm_a": comparison.arm_a, "arm_b": comparison.arm_b,
            "metric": comparison.metric, "split": comparison.split, "unit": comparison.unit,
            "expected_direction": comparison.expected_direction, "difference": result.difference,
            "ci_low": result.ci_low, "ci_high": result.ci_high,
            "verdict": verdict(result.ci_low, result.ci_high, comparison.expected_direction),
            "replicates": len(paired), "units": int(round(np.mean([p.units for p in paired]))),
            "replicate_differences": ",".join(f"{d:.6g}" for d in result.differences),
            "resamples": comparison.resamples, "undefined_resamples": result.undefined_resamples,
            "level": comparison.level, "description": comparison.description,
        }


def markdown_table(table: pl.DataFrame) -> str:
    """A readable table: the difference with its interval and the verdict, per comparison."""
    lines = ["| comparison | A | B | metric | unit | paper | A − B | interval | verdict | replicates |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in table.iter_rows(named=True):
        paper = {1: "A > B", -1: "A < B", 0: "A at chance"}[row["expected_direction"]]
        interval = f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}] ({row['level']:.0%})"
        lines.append(f"| {row['comparison']} | {row['arm_a']} | {row['arm_b']} | {row['metric']} | {row['unit']} | "
                     f"{paper} | {row['difference']:+.4f} | {interval} | **{row['verdict']}** | {row['replicates']} |")
    notes = [f"- {row['comparison']}: {row['undefined_resamples']} of {row['resamples']} resamples undefined (skipped)"
             for row in table.iter_rows(named=True) if row["undefined_resamples"]]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def write_comparisons(table: pl.DataFrame, tsv: str | Path, md: str | Path | None = None) -> None:
    with atomic_file(tsv) as tmp:
        table.write_csv(tmp, separator="\t")
    if md is not None:
        with atomic_file(md) as tmp:
            Path(tmp).write_text(markdown_table(table))


__all__ = ["CHANCE", "COMPARISONS_SCHEMA", "Comparison", "PairedReplicate", "PairedResult", "UnitScores", "UnitSource", "compare",
           "load_comparisons", "markdown_table", "paired_bootstrap", "read_runs", "read_scores", "read_unit_map", "runs_from_arguments",
           "unknown_arm",
           "verdict", "write_comparisons"]
