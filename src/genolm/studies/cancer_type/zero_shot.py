"""The zero-shot arm of the cancer-type study: a pretrained backbone's variant scores of each cell line's
mutations (`genolm score-variants` on the study's mutation table), compared between lineages and used to classify
cell lines, beside the fine-tuned arms.

Which mutations: scoring costs a forward pass per allele and strand (measured on the demo's shared 2-core CPU,
both strands, startup included: 0.17 s per allele for tiny-1k at 256 bases, 0.46 s for the 512-base small-32k
stand-in), so `sample_mutations`
keeps at most `max_per_cell_line` mutations of each selected cell line, drawn with the study's seed; every
mutation of a selected cell line is counted as kept or `over_cell_line_cap`.

Per cell line, the distribution of its scored mutations' `llr` is summarised by FEATURES: the count scored, the
mean, the standard deviation and the 10th, 25th, 50th, 75th and 90th percentiles.

Lineage comparison: for every pair of selected lineages (a, b) in config order, the difference of the lineages'
means of the per-cell-line mean `llr` (a minus b), over the selected cell lines of every split, with a 95%
percentile bootstrap interval that resamples cell lines within each lineage (1,000 draws, the study's seed). The
pairs the config pre-registers (`zero_shot.lineage_comparisons`: name, lineage_a, lineage_b, expected_direction)
get a verdict from the interval alone (genolm.comparisons.verdict: supported, reversed, inconclusive).

Zero-shot classifier: a logistic regression on the standardised FEATURES, fitted on the train split's cell lines
and scored on the test split's: balanced accuracy of cell lines (`unit_balanced_accuracy`, the metric the fine-tuned
arms report per cell line) with a bootstrap interval over test cell lines, and chance (1 / lineages).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import polars as pl

from genolm.errors import GenolmInputError
from genolm.metrics import percentile_interval, unit_resamples
from genolm.qc import QCCounts

FEATURES = ["n_scored", "llr_mean", "llr_sd", "llr_q10", "llr_q25", "llr_q50", "llr_q75", "llr_q90"]
ALLELE = ["chrom", "pos", "ref", "alt"]


def sample_mutations(mutations: pl.DataFrame, cell_lines: pl.DataFrame, *, max_per_cell_line: int | None,
                     seed: int, qc: QCCounts) -> pl.DataFrame:
    """The mutations of the selected cell lines, at most `max_per_cell_line` of each (a uniform draw with `seed`;
    None keeps all), in the mutation table's order; the rest counted as `over_cell_line_cap`."""
    if max_per_cell_line is not None and max_per_cell_line < 1:
        raise GenolmInputError("--max-per-cell-line", f"must be positive, got {max_per_cell_line}")
    selected = mutations.with_row_index("_row").filter(pl.col("sample").is_in(cell_lines["sample"].implode()))
    qc.add("mutations_of_selected_cell_lines", selected.height)
    if max_per_cell_line is not None:
        # A random rank per mutation, then the lowest ranks of each cell line: one draw, independent of row order
        # within a cell line's block of other cell lines.
        ranks = np.random.default_rng(seed).permutation(selected.height)
        selected = selected.with_columns(pl.Series("_rank", ranks)).filter(
            pl.col("_rank").rank("ordinal").over("sample") <= max_per_cell_line).drop("_rank")
    qc.add("mutations_kept", selected.height)
    qc.add("over_cell_line_cap", qc.total("mutations_of_selected_cell_lines") - selected.height)
    qc.require_balance(("mutations_of_selected_cell_lines", "mutations_kept", ("over_cell_line_cap",)))
    return selected.sort("_row").drop("_row")


def cell_line_features(mutations: pl.DataFrame, scores: pl.DataFrame, cell_lines: pl.DataFrame, *,
                       qc: QCCounts) -> pl.DataFrame:
    """One row per selected cell line (sample, lineage, label, split and FEATURES); every mutation of a selected
    cell line is counted as scored or `mutation_not_scored` (the scoring stage's QC says why)."""
    selected = mutations.filter(pl.col("sample").is_in(cell_lines["sample"].implode())).select("sample", *ALLELE)
    joined = selected.join(scores.select(*ALLELE, "llr"), on=ALLELE, how="left")
    qc.add("mutations_of_selected_cell_lines", joined.height)
    qc.add("mutation_not_scored", joined.filter(pl.col("llr").is_null()).height)
    joined = joined.filter(pl.col("llr").is_not_null())
    qc.add("mutations_scored", joined.height)
    qc.require_balance(("mutations_of_selected_cell_lines", "mutations_scored", ("mutation_not_scored",)))
    llr = pl.col("llr")
    features = joined.group_by("sample").agg(
        pl.len().cast(pl.Float64).alias("n_scored"), llr.mean().alias("llr_mean"), llr.std(ddof=0).alias("llr_sd"),
        *(llr.quantile(q / 100, interpolation="linear").alias(f"llr_q{q}") for q in (10, 25, 50, 75, 90)))
    table = cell_lines.select("sample", "lineage", "label", "split").join(features, on="sample", how="left")
    missing = table.filter(pl.col("n_scored").is_null())
    if missing.height:
        raise GenolmInputError("--scores", f"no scored mutation for cell line {missing['sample'][0]} "
                                           f"({missing.height} cell lines without any): score the study's mutations")
    return table.sort("label", "sample")


def lineage_comparison(features: pl.DataFrame, lineages: Sequence[str], *, seed: int,
                       resamples: int = 1000) -> dict[str, tuple[float, float, float]]:
    """`mean_llr_difference/<a>-<b>`: (difference, ci_low, ci_high) for each lineage pair (module docstring)."""
    means = {lineage: features.filter(pl.col("lineage") == lineage)["llr_mean"].to_numpy() for lineage in lineages}
    draws = {}
    for offset, (lineage, values) in enumerate(means.items()):
        if not len(values):
            raise GenolmInputError("--cell-lines", f"no cell line of lineage {lineage!r}")
        weights = unit_resamples(len(values), seed=seed + offset, resamples=resamples)
        draws[lineage] = weights @ values / len(values)
    out = {}
    for a, b in itertools.combinations(lineages, 2):
        low, high = percentile_interval(draws[a] - draws[b])
        out[f"mean_llr_difference/{a}-{b}"] = (float(means[a].mean() - means[b].mean()), low, high)
    return out


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray, weights: np.ndarray, classes: np.ndarray) -> float:
    recalls = []
    for label in classes:
        member = (labels == label) * weights
        if member.sum() > 0:
            recalls.append(float((member * (predicted == label)).sum() / member.sum()))
    return float(np.mean(recalls)) if recalls else float("nan")


def lineage_verdicts(comparison: dict[str, tuple[float, float, float]], registered: Sequence[dict]) -> pl.DataFrame:
    """One row per pre-registered lineage comparison: its difference, interval and verdict (module docstring)."""
    from genolm.comparisons import verdict

    rows = []
    for entry in registered:
        key = f"mean_llr_difference/{entry['lineage_a']}-{entry['lineage_b']}"
        if key not in comparison:
            raise GenolmInputError("--lineage-comparisons", f"comparison {entry['name']!r} names a lineage that is "
                                                            f"not selected ({entry['lineage_a']}, {entry['lineage_b']}) "
                                                            "or lists them out of config order")
        difference, low, high = comparison[key]
        rows.append({"comparison": entry["name"], "lineage_a": entry["lineage_a"], "lineage_b": entry["lineage_b"],
                     "expected_direction": int(entry["expected_direction"]), "difference": difference,
                     "ci_low": low, "ci_high": high, "verdict": verdict(low, high, int(entry["expected_direction"])),
                     "description": entry.get("description")})
    return pl.DataFrame(rows, schema={"comparison": pl.Utf8, "lineage_a": pl.Utf8, "lineage_b": pl.Utf8,
                                      "expected_direction": pl.Int64, "difference": pl.Float64,
                                      "ci_low": pl.Float64, "ci_high": pl.Float64, "verdict": pl.Utf8,
                                      "description": pl.Utf8})


def zero_shot_markdown(title: str, verdicts: pl.DataFrame, values: dict[str, tuple[float, float, float] | float]
                       ) -> str:
    """The report's page of one backbone's zero-shot arm: classifier and pre-registered lineage comparisons."""
    accuracy, low, high = values["test/unit_balanced_accuracy"]
    lines = [f"### Zero-shot arm: {title}", "",
             f"Test balanced accuracy over cell lines {accuracy:.3f} [{low:.3f}, {high:.3f}] (chance "
             f"{values['test/chance_balanced_accuracy']:.3f}), a logistic regression on the distribution of each "
             "cell line's mutation scores (LLR of ALT against REF).", "",
             "| comparison | lineages (a − b) | mean LLR difference | 95% interval over cell lines | expected | verdict |",
             "| --- | --- | ---: | --- | ---: | --- |"]
    for row in verdicts.iter_rows(named=True):
        lines.append(f"| {row['comparison']} | {row['lineage_a']} − {row['lineage_b']} | {row['difference']:+.4f} | "
                     f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}] | {row['expected_direction']:+d} | {row['verdict']} |")
    return "\n".join(lines) + "\n"


def zero_shot_classification(features: pl.DataFrame, *, seed: int, resamples: int = 1000
                             ) -> dict[str, tuple[float, float, float] | float]:
    """`test/unit_balanced_accuracy` of the zero-shot classifier with its interval over test cell lines, and
    `test/chance_balanced_accuracy`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = (features.filter(pl.col("split") == split) for split in ("train", "test"))
    if train["label"].n_unique() < 2 or not test.height:
        raise GenolmInputError("--cell-lines", "the zero-shot classifier needs train cell lines of two lineages "
                                               "and test cell lines")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train.select(FEATURES).fill_null(0.0).to_numpy(), train["label"].to_numpy())
    labels = test["label"].to_numpy()
    predicted = model.predict(test.select(FEATURES).fill_null(0.0).to_numpy())
    classes = np.unique(features["label"].to_numpy())
    point = balanced_accuracy(labels, predicted, np.ones(len(labels)), classes)
    draws = [balanced_accuracy(labels, predicted, w, classes)
             for w in unit_resamples(len(labels), seed=seed, resamples=resamples)]
    low, high = percentile_interval(np.asarray(draws))
    return {"test/unit_balanced_accuracy": (point, low, high), "test/chance_balanced_accuracy": 1.0 / len(classes)}
