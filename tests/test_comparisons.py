"""Pre-registered comparisons (genolm.comparisons, `genolm compare`): the paired difference by hand, each
bootstrap metric equal to scikit-learn's on a resample, coverage and verdicts in simulated studies, the refusals,
the schema and the command's outputs."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, matthews_corrcoef, roc_auc_score

from genolm.cli import main
from genolm.comparisons import (
    COMPARISONS_SCHEMA,
    UnitScores,
    compare,
    load_comparisons,
    markdown_table,
    read_runs,
    runs_from_arguments,
    verdict,
)
from genolm.config import load_config, validate_config
from genolm.errors import GenolmInputError
from genolm.metrics import unit_resamples


def predictions(groups, labels, proba, split="test", checkpoint="best") -> pl.DataFrame:
    """A predictions table as genolm.training.trainer writes it."""
    n = len(labels)
    return pl.DataFrame({"split": [split] * n, "checkpoint": [checkpoint] * n, "index": np.arange(n),
                         "group": [str(g) for g in groups], "label": np.asarray(labels, dtype=np.int64),
                         "probabilities": np.asarray(proba, dtype=np.float32)},
                        schema_overrides={"group": pl.Utf8})


def one_hot_guess(labels, correct, classes=2):
    """Probabilities that put 0.9 on the true class where `correct`, else on the next class."""
    guess = np.where(correct, labels, (np.asarray(labels) + 1) % classes)
    proba = np.full((len(labels), classes), 0.1 / (classes - 1))
    proba[np.arange(len(labels)), guess] = 0.9
    return proba


def comparison(**overrides) -> dict:
    entry = {"name": "a_vs_b", "arm_a": "A", "arm_b": "B", "metric": "accuracy", "unit": "cell line",
             "expected_direction": 1, "resamples": 400}
    entry.update(overrides)
    return entry


def write_study(tmp_path, arms: dict[str, list[pl.DataFrame]]) -> pl.DataFrame:
    """Job directories with predictions.parquet per arm and replicate, and the runs table naming them."""
    rows = []
    for arm, replicates in arms.items():
        for index, frame in enumerate(replicates):
            job = tmp_path / arm / f"rep{index}"
            job.mkdir(parents=True)
            frame.write_parquet(job / "predictions.parquet")
            rows.append({"arm": arm, "replicate": str(index), "split_seed": str(index), "pretrain_seed": str(index),
                         "seed": str(index + 1), "path": str(job)})
    runs = pl.DataFrame(rows)
    runs.write_csv(tmp_path / "runs.tsv", separator="\t")
    return read_runs(tmp_path / "runs.tsv")


def test_paired_difference_equals_hand_computation(tmp_path):
    labels = [0, 0, 1, 1, 0, 1]
    groups = ["u1", "u1", "u2", "u2", "u3", "u3"]
    # Replicate 0: A right on 5 of 6, B on 3 of 6. Replicate 1: A 4 of 6, B 4 of 6.
    a0 = predictions(groups, labels, one_hot_guess(labels, [1, 1, 1, 1, 1, 0]))
    b0 = predictions(groups, labels, one_hot_guess(labels, [1, 0, 1, 0, 1, 0]))
    a1 = predictions(groups, labels, one_hot_guess(labels, [1, 1, 0, 1, 1, 0]))
    b1 = predictions(groups, labels, one_hot_guess(labels, [0, 1, 1, 1, 0, 1]))
    runs = write_study(tmp_path, {"A": [a0, a1], "B": [b0, b1]})
    table = compare(load_comparisons([comparison()], "test"), runs, "runs.tsv")
    row = table.row(0, named=True)
    assert row["replicate_differences"] == f"{5 / 6 - 3 / 6:.6g},0"
    assert row["difference"] == pytest.approx(((5 / 6 - 3 / 6) + 0) / 2)
    assert row["replicates"] == 2 and row["units"] == 3
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert table.schema == pl.Schema(COMPARISONS_SCHEMA)


@pytest.mark.parametrize("classes", [2, 4])
def test_each_bootstrap_metric_equals_scikit_learn_on_the_resampled_rows(classes):
    rng = np.random.default_rng(classes)
    n = 500
    groups = rng.integers(0, 40, n)
    # Units whose examples carry several labels (a genome family holding phages and non-phages) included.
    labels = rng.integers(0, classes, n)
    proba = rng.dirichlet(np.ones(classes), n)
    if classes == 2:  # tied scores (counted one half by AUROC) and tied classes (argmax takes the first)
        proba[:, 1] = np.round(proba[:, 1], 1)
        proba[:, 0] = 1 - proba[:, 1]
    score = rng.random(n)
    rows = predictions(groups, labels, proba).with_columns(pl.Series("edit_distance", score))
    units = np.array(sorted({str(g) for g in groups}))
    scores = UnitScores(rows, units, "predictions.parquet")
    weights = unit_resamples(len(units), seed=3, resamples=5)
    expected_metrics = {"accuracy": lambda y, p, s: accuracy_score(y, p.argmax(1)),
                        "top1_accuracy": lambda y, p, s: accuracy_score(y, p.argmax(1)),
                        "balanced_accuracy": lambda y, p, s: balanced_accuracy_score(y, p.argmax(1)),
                        "f1_macro": lambda y, p, s: f1_score(y, p.argmax(1), average="macro"),
                        "mcc": lambda y, p, s: matthews_corrcoef(y, p.argmax(1))}
    if classes == 2:
        expected_metrics["auroc"] = lambda y, p, s: roc_auc_score(y, p[:, 1])
    for metric, reference in expected_metrics.items():
        got = scores.score(metric, weights)
        for r in range(len(weights)):
            rows_drawn = np.repeat(np.arange(n), weights[r][scores.unit_of].astype(int))
            assert got[r] == pytest.approx(reference(labels[rows_drawn], proba[rows_drawn], None), abs=1e-9), metric
    # mean:<column>: each unit's mean score, averaged over the drawn units.
    got = scores.score("mean:edit_distance", weights)
    unit_mean = pl.DataFrame({"g": scores.unit_of, "s": score}).group_by("g").agg(pl.col("s").mean()).sort("g")["s"].to_numpy()
    for r in range(len(weights)):
        assert got[r] == pytest.approx(np.average(unit_mean, weights=weights[r]))


def simulated_study(tmp_path, seed: int, accuracy_a: float, accuracy_b: float, replicates: int = 3,
                    units: int = 30, windows: int = 6) -> pl.DataFrame:
    """Units of one label each (a cell line's lineage), each arm right on a window with its own probability,
    independently; a per-unit difficulty shared by both arms (the pairing the bootstrap must keep)."""
    rng = np.random.default_rng(seed)
    arms: dict[str, list[pl.DataFrame]] = {"A": [], "B": []}
    for _ in range(replicates):
        unit_labels = rng.permutation(np.arange(units) % 2)
        difficulty = rng.normal(0, 0.1, units)
        groups = np.repeat(np.arange(units), windows)
        labels = unit_labels[groups]
        for arm, accuracy in (("A", accuracy_a), ("B", accuracy_b)):
            correct = rng.random(len(labels)) < np.clip(accuracy + difficulty[groups], 0, 1)
            arms[arm].append(predictions(groups, labels, one_hot_guess(labels, correct)))
    return write_study(tmp_path, arms)


def test_simulated_studies_coverage_and_verdicts(tmp_path):
    entries = load_comparisons([comparison(metric="balanced_accuracy", resamples=300)], "test")
    null_verdicts = []
    for study in range(50):
        runs = simulated_study(tmp_path / f"null{study}", study, 0.7, 0.7)
        null_verdicts.append(compare(entries, runs, "runs.tsv")["verdict"][0])
    inconclusive = null_verdicts.count("inconclusive") / len(null_verdicts)
    assert inconclusive >= 0.88, null_verdicts
    assert compare(entries, simulated_study(tmp_path / "better", 100, 0.9, 0.6), "runs.tsv")["verdict"][0] == "supported"
    assert compare(entries, simulated_study(tmp_path / "worse", 101, 0.6, 0.9), "runs.tsv")["verdict"][0] == "reversed"
    expected_lower = load_comparisons([comparison(metric="balanced_accuracy", expected_direction=-1)], "test")
    assert compare(expected_lower, simulated_study(tmp_path / "lower", 102, 0.6, 0.9), "runs.tsv")["verdict"][0] == "supported"


@pytest.mark.parametrize(("low", "high", "direction", "expected"), [
    (0.01, 0.2, 1, "supported"), (0.01, 0.2, -1, "reversed"), (-0.2, -0.01, -1, "supported"),
    (-0.2, -0.01, 1, "reversed"), (-0.1, 0.1, 1, "inconclusive"), (0.0, 0.1, 1, "inconclusive"),
    (-0.1, 0.0, -1, "inconclusive"), (float("nan"), float("nan"), 1, "inconclusive"),
])
def test_verdict_reads_the_interval_only(low, high, direction, expected):
    assert verdict(low, high, direction) == expected


def test_one_replicate_interval_over_units(tmp_path):
    runs = simulated_study(tmp_path, 7, 0.9, 0.5, replicates=1)
    row = compare(load_comparisons([comparison()], "test"), runs, "runs.tsv").row(0, named=True)
    assert row["replicates"] == 1
    assert row["ci_low"] < row["difference"] < row["ci_high"]
    assert row["verdict"] == "supported"


def test_undefined_resamples_are_skipped_and_counted(tmp_path):
    # Three units, only one of class 1: a resample without it has one class, so no balanced accuracy.
    labels, groups = [0, 0, 0, 0, 1, 1], ["u1", "u1", "u2", "u2", "u3", "u3"]
    a = predictions(groups, labels, one_hot_guess(labels, [1, 1, 1, 0, 1, 1]))
    b = predictions(groups, labels, one_hot_guess(labels, [1, 0, 1, 0, 0, 1]))
    runs = write_study(tmp_path, {"A": [a], "B": [b]})
    table = compare(load_comparisons([comparison(metric="balanced_accuracy", resamples=1000)], "test"), runs, "r")
    undefined = table["undefined_resamples"][0]
    # P(no draw of u3 in 3 draws) = (2/3)^3 = 0.30
    assert 230 < undefined < 370
    assert "resamples undefined" in markdown_table(table)


def test_a_unit_missing_in_one_arm_is_refused_naming_it(tmp_path):
    labels = [0, 1, 0, 1]
    a = predictions(["u1", "u2", "u3", "u4"], labels, one_hot_guess(labels, [1, 1, 1, 1]))
    b = predictions(["u1", "u2", "u3", "u3"], labels, one_hot_guess(labels, [1, 1, 1, 1]))
    runs = write_study(tmp_path, {"A": [a], "B": [b]})
    with pytest.raises(GenolmInputError, match=r"unit 'u4' of split 'test' is missing in arm 'B'.*share the test units"):
        compare(load_comparisons([comparison()], "test"), runs, "runs.tsv")


def test_a_replicate_of_one_arm_only_is_refused(tmp_path):
    labels = [0, 1]
    frame = predictions(["u1", "u2"], labels, one_hot_guess(labels, [1, 1]))
    runs = write_study(tmp_path, {"A": [frame, frame], "B": [frame]})
    with pytest.raises(GenolmInputError, match="replicate '1' ran for only one of the arms"):
        compare(load_comparisons([comparison()], "test"), runs, "runs.tsv")


def test_best_checkpoint_falls_back_to_last_for_a_job_without_one(tmp_path):
    labels = [0, 1, 0, 1]
    groups = ["u1", "u2", "u3", "u4"]
    a = pl.concat([predictions(groups, labels, one_hot_guess(labels, [1, 1, 1, 1]), checkpoint="best"),
                   predictions(groups, labels, one_hot_guess(labels, [0, 0, 0, 0]), checkpoint="last")])
    b = predictions(groups, labels, one_hot_guess(labels, [1, 1, 0, 0]), checkpoint="last")
    runs = write_study(tmp_path, {"A": [a], "B": [b]})
    assert compare(load_comparisons([comparison()], "t"), runs, "r")["difference"][0] == pytest.approx(0.5)
    last = load_comparisons([comparison(checkpoint="last")], "t")
    assert compare(last, runs, "r")["difference"][0] == pytest.approx(-0.5)


def test_generation_scores_from_a_scores_table(tmp_path):
    """A generation job's per-example rows with the unit (parent) column: exact match and edit distance derived
    from the candidates."""
    def scored(candidates):
        return pl.DataFrame({"split": ["test"] * 4, "checkpoint": ["last"] * 4, "group": ["p1", "p1", "p2", "p3"],
                             "target": ["ACGT", "AAAA", "CCCC", "GGGG"], "candidates": candidates})
    scored([["ACGT"], ["AAAA"], ["CCCC"], ["GGGA"]]).write_parquet(tmp_path / "enbed.parquet")
    scored([["ACGA"], ["AAAA"], ["CCGG"], ["GGGG"]]).write_parquet(tmp_path / "copy.parquet")
    (tmp_path / "runs.tsv").write_text("arm\treplicate\tsplit_seed\tpretrain_seed\tseed\tpath\n"
                                       f"enbed\t0\t1\t1\t1\t{tmp_path / 'enbed.parquet'}\n"
                                       f"copy\t0\t1\t\t1\t{tmp_path / 'copy.parquet'}\n")
    runs = read_runs(tmp_path / "runs.tsv")
    entries = load_comparisons([comparison(name="exact", arm_a="enbed", arm_b="copy", metric="mean:exact_match"),
                                comparison(name="distance", arm_a="enbed", arm_b="copy", metric="mean:edit_distance",
                                           expected_direction=-1)], "t")
    table = compare(entries, runs, "r")
    # Per-unit means: enbed exact 1, 1, 0 vs copy 0.5, 0, 1; edit distance enbed 0, 0, 1 vs copy 0.5, 2, 0.
    assert table["difference"].to_list() == pytest.approx([(2 - 1.5) / 3, (1 - 2.5) / 3])


def test_schema_defaults_and_refusals():
    [filled] = load_comparisons([{"name": "x", "arm_a": "A", "arm_b": "B", "metric": "f1_macro", "unit": "species",
                                  "expected_direction": -1}], "cfg")
    assert (filled.split, filled.checkpoint, filled.resamples, filled.level, filled.seed) == ("test", "best", 2000, 0.95, 0)
    with pytest.raises(GenolmInputError, match="expected_direction"):
        load_comparisons([comparison(expected_direction=0)], "cfg")
    with pytest.raises(GenolmInputError, match="metric"):
        load_comparisons([comparison(metric="precision")], "cfg")
    with pytest.raises(GenolmInputError, match="two comparisons named 'a_vs_b'"):
        load_comparisons([comparison(), comparison()], "cfg")
    with pytest.raises(GenolmInputError, match="with itself"):
        load_comparisons([comparison(arm_b="A")], "cfg")


def test_cancer_type_comparisons_must_name_experiments():
    config = load_config("tests/e2e/config.yaml")
    block = config["studies"]["cancer_type"]
    # The e2e config declares the demo's comparisons (tests/test_comparisons_workflow.py): each names experiments
    # (or, for a control, its arm's own chance level).
    assert block["comparisons"] and all({c["arm_a"], c["arm_b"]} - {"chance"} <= set(block["experiments"])
                                        for c in block["comparisons"])
    experiments = list(block["experiments"])
    config["studies"]["cancer_type"]["comparisons"] = [comparison(arm_a=experiments[0], arm_b=experiments[-1])]
    validate_config(config, source="cfg")
    config["studies"]["cancer_type"]["comparisons"] = [comparison(arm_a=experiments[0], arm_b="nonexistent")]
    with pytest.raises(GenolmInputError, match=r"comparisons\.0\.arm_b: no experiment named 'nonexistent'"):
        validate_config(config, source="cfg")


def test_command_writes_table_markdown_and_forest_plot(tmp_path, capsys):
    runs = simulated_study(tmp_path / "study", 5, 0.9, 0.6, replicates=2)
    assert len(runs) == 4
    entries = [comparison(name="main", resamples=200), comparison(name="f1", metric="f1_macro", resamples=200,
                                                                   expected_direction=-1)]
    out = tmp_path / "results"
    argv = ["compare", "--comparisons", json.dumps(entries), "--runs", str(tmp_path / "study" / "runs.tsv"),
            "--out-tsv", str(out / "comparisons.tsv"), "--out-md", str(out / "comparisons.md"),
            "--plot", str(out / "comparisons.png"), "--title", "simulated"]
    assert main(argv) == 0
    table = pl.read_csv(out / "comparisons.tsv", separator="\t")
    for column in ("comparison", "arm_a", "arm_b", "metric", "unit", "expected_direction", "difference", "ci_low",
                   "ci_high", "verdict", "replicates"):
        assert column in table.columns
    assert table["verdict"].to_list() == ["supported", "reversed"]
    markdown = (out / "comparisons.md").read_text()
    assert "| main | A | B | accuracy |" in markdown and "**reversed**" in markdown
    assert (out / "comparisons.png").read_bytes()[:4] == b"\x89PNG"

    # Bad input: one line naming the file and the record, status 2, and no output left.
    (tmp_path / "study" / "A" / "rep1" / "predictions.parquet").unlink()
    for path in out.iterdir():
        path.unlink()
    assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "rep1/predictions.parquet: missing" in errors[0]
    assert list(out.iterdir()) == []


def test_runs_as_arguments_equal_the_runs_table(tmp_path):
    runs = simulated_study(tmp_path, 9, 0.8, 0.6, replicates=2)
    arguments = [",".join(f"{k}={'' if v is None else v}" for k, v in row.items()) for row in runs.iter_rows(named=True)]
    assert runs_from_arguments(arguments).equals(runs)
    with pytest.raises(GenolmInputError, match="unknown or malformed: sede"):
        runs_from_arguments(["arm=A,replicate=0,sede=1,path=x"])
    with pytest.raises(GenolmInputError, match="two rows for the same arm and replicate"):
        runs_from_arguments(arguments[:1] * 2)
    with pytest.raises(GenolmInputError, match="seed 'one' is not an integer"):
        runs_from_arguments(["arm=A,replicate=0,seed=one,path=x"])


def test_the_unit_draw_is_shared_by_both_arms(tmp_path):
    """Identical arms differ by exactly 0 in every resample only if both arms see the same units."""
    labels = np.arange(40) % 2
    frame = predictions(np.arange(40) // 2, labels, one_hot_guess(labels, np.random.default_rng(0).random(40) < 0.7))
    runs = write_study(tmp_path, {"A": [frame, frame], "B": [frame, frame]})
    row = compare(load_comparisons([comparison()], "t"), runs, "r").row(0, named=True)
    assert (row["difference"], row["ci_low"], row["ci_high"], row["verdict"]) == (0.0, 0.0, 0.0, "inconclusive")


def test_replicates_are_resampled_not_only_units():
    """Replicates that disagree (+0.3, 0, -0.3), each precise within: the interval spans the replicates' spread.
    Resampling units alone would give a narrow interval around 0."""
    from genolm.comparisons import PairedReplicate, paired_bootstrap

    noise = [np.random.default_rng(i).normal(0, 0.01, 200) for i in range(3)]

    def replicate(shift, x):
        return PairedReplicate(len(x), lambda w: shift + (w @ x) / w.sum(1))

    result = paired_bootstrap([replicate(s, x) for s, x in zip((0.3, 0.0, -0.3), noise)], seed=0, resamples=2000,
                              level=0.95)
    assert result.ci_low < -0.15 and result.ci_high > 0.15
    single = paired_bootstrap([replicate(0.3, noise[0])], seed=0, resamples=2000, level=0.95)
    assert 0.29 < single.ci_low < single.ci_high < 0.31
