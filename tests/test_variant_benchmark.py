"""Variant-effect benchmark (genolm.inference.benchmark, `genolm variant-benchmark`): labels from ClinVar's CLNSIG
or a 0/1 field, AUROC against scikit-learn, the interval, the QC balance and the results-table rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from genolm.inference.benchmark import auroc, benchmark, read_labels
from genolm.qc import QCCounts, read_qc
from conftest import run_genolm


def test_auroc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200).astype(float)  # many ties
    labels = (rng.random(200) < 0.3 + 0.1 * scores).astype(int)
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(auroc(scores, np.ones(200, dtype=int)))


def clinvar(path, records):
    path.write_text("##fileformat=VCFv4.2\n##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"x\">\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                    + "".join(f"{c}\t{p}\t.\t{r}\t{a}\t.\t.\tCLNSIG={s}\n" for c, p, r, a, s in records))
    return path


def test_clinvar_labels_benchmark_and_qc_add_up(tmp_path):
    records = [("1", 10 * i + 5, "A", "C", "Pathogenic" if i % 2 else "Benign") for i in range(40)]
    records += [("1", 999, "A", "G", "Uncertain_significance"), ("1", 1001, "A", "T", "Likely_pathogenic")]
    labels_path = clinvar(tmp_path / "clinvar.vcf", records)
    qc = QCCounts("t")
    labels = read_labels(labels_path, qc=qc)
    assert labels.height == 41 and labels["chrom"][0] == "chr1"
    assert qc.get("label_not_binary", "Uncertain_significance") == 1
    # Damaging variants get lower llr, with noise; the last labelled variant (pos 1001) has no score.
    rng = np.random.default_rng(1)
    scored = labels.head(40).with_columns(pl.Series("llr", -labels.head(40)["label"].to_numpy() + rng.normal(0, 0.8, 40)))
    values = benchmark(scored, labels, seed=0, qc=qc)
    point, low, high = values["auroc"]
    assert point == pytest.approx(roc_auc_score(scored["label"], -scored["llr"]))
    assert low < point < high and 0.5 < point
    assert (values["n_damaging"], values["n_benign"]) == (20, 20)
    assert (qc.total("labels_read"), qc.total("labels_scored"), qc.total("label_without_score")) == (42, 40, 1)


def test_command_writes_one_auroc_row_per_model(tmp_path):
    records = [("chr1", 10 * i + 5, "A", "C", "Pathogenic" if i % 2 else "Benign") for i in range(30)]
    clinvar(tmp_path / "labels.vcf", records)
    table = pl.DataFrame({"chrom": ["chr1"] * 30, "pos": [10 * i + 5 for i in range(30)], "ref": ["A"] * 30,
                          "alt": ["C"] * 30})
    signal = np.array([-(i % 2) for i in range(30)], dtype=float)
    table.with_columns(pl.Series("llr", signal)).write_parquet(tmp_path / "good.parquet")
    table.with_columns(pl.Series("llr", -signal)).write_parquet(tmp_path / "inverted.parquet")
    run_genolm("variant-benchmark", "--scores", str(tmp_path / "good.parquet"), str(tmp_path / "inverted.parquet"),
               "--names", "good", "inverted", "--labels", str(tmp_path / "labels.vcf"), "--task", "demo",
               "--out", str(tmp_path / "metrics.parquet"), "--qc", str(tmp_path / "qc.tsv"))
    metrics = pl.read_parquet(tmp_path / "metrics.parquet").filter(pl.col("metric") == "auroc").sort("model")
    assert metrics["model"].to_list() == ["good", "inverted"]
    assert metrics["value"].to_list() == [1.0, 0.0]
    assert set(read_qc(tmp_path / "qc.tsv")["stage"]) == {"variant_benchmark/good", "variant_benchmark/inverted"}
