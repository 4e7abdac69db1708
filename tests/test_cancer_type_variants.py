"""Study 1's zero-shot arm and variant-effect benchmark (issue #23, workflow/rules/studies/cancer_type/variants.smk):
the per-cell-line cap on scored mutations, pre-registered lineage comparisons with verdicts, the config's checks,
the benchmark's report page, the demo's labelled set (rebuilt byte for byte, labels checked against Biopython's
genetic code) and the demo plan's jobs."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from genolm.config import read_yaml, validate_config
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts, read_qc
from genolm.studies.cancer_type.zero_shot import lineage_comparison, lineage_verdicts, sample_mutations
from conftest import run_genolm

REPO = Path(__file__).resolve().parents[1]
DEMO_VCF = REPO / "data/demo/variant_effect/chrM_stop_gained_vs_synonymous.vcf"


def mutation_tables(burdens: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [{"sample": sample, "chrom": "chr1", "pos": 100 * i + j + 1, "ref": "A", "alt": "C"}
            for i, (sample, n) in enumerate(burdens.items()) for j in range(n)]
    cell_lines = pl.DataFrame({"sample": ["ACH-1", "ACH-2"], "lineage": ["Lung", "Lymphoid"], "label": [0, 1],
                               "split": ["train", "test"]})
    return pl.DataFrame(rows), cell_lines


def test_the_cap_keeps_at_most_n_per_selected_cell_line_reproducibly_and_counts_the_rest():
    # ACH-3 is not selected: its mutations are neither kept nor counted.
    mutations, cell_lines = mutation_tables({"ACH-1": 12, "ACH-2": 3, "ACH-3": 20})
    qc = QCCounts("t")
    kept = sample_mutations(mutations, cell_lines, max_per_cell_line=5, seed=7, qc=qc)
    assert kept.group_by("sample").len().sort("sample").rows() == [("ACH-1", 5), ("ACH-2", 3)]
    assert qc.total("mutations_of_selected_cell_lines") == 15 and qc.total("over_cell_line_cap") == 7
    assert kept["pos"].is_sorted()  # the mutation table's order
    again = sample_mutations(mutations, cell_lines, max_per_cell_line=5, seed=7, qc=QCCounts("t"))
    other = sample_mutations(mutations, cell_lines, max_per_cell_line=5, seed=8, qc=QCCounts("t"))
    assert kept.equals(again) and not kept.equals(other)
    everything = sample_mutations(mutations, cell_lines, max_per_cell_line=None, seed=7, qc=QCCounts("t"))
    assert everything.height == 15
    with pytest.raises(GenolmInputError):
        sample_mutations(mutations, cell_lines, max_per_cell_line=0, seed=7, qc=QCCounts("t"))


def test_the_command_writes_the_capped_set_and_its_qc(tmp_path):
    mutations, cell_lines = mutation_tables({"ACH-1": 12, "ACH-2": 3})
    mutations.write_parquet(tmp_path / "m.parquet")
    cell_lines.write_parquet(tmp_path / "c.parquet")
    run_genolm("cancer-type-sample-mutations", "--cell-lines", str(tmp_path / "c.parquet"), "--mutations",
               str(tmp_path / "m.parquet"), "--max-per-cell-line", "4", "--seed", "0", "--out",
               str(tmp_path / "out.parquet"), "--qc", str(tmp_path / "qc.tsv"))
    assert pl.read_parquet(tmp_path / "out.parquet").height == 7
    assert read_qc(tmp_path / "qc.tsv").filter(pl.col("reason") == "over_cell_line_cap")["count"].sum() == 8


def features(shift: float) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({"sample": [f"s{i}" for i in range(40)], "lineage": ["Lung", "Lymphoid"] * 20,
                         "llr_mean": [rng.normal(-shift * (i % 2), 0.2) for i in range(40)]})


@pytest.mark.parametrize(("shift", "expected", "verdict"), [(1.0, 1, "supported"), (1.0, -1, "reversed"),
                                                             (0.0, 1, "inconclusive")])
def test_a_pre_registered_lineage_comparison_gets_its_verdict_from_the_interval(shift, expected, verdict):
    comparison = lineage_comparison(features(shift), ["Lung", "Lymphoid"], seed=0)
    entry = {"name": "c", "lineage_a": "Lung", "lineage_b": "Lymphoid", "expected_direction": expected}
    row = lineage_verdicts(comparison, [entry]).row(0, named=True)
    assert row["verdict"] == verdict and row["ci_low"] <= row["difference"] <= row["ci_high"]
    with pytest.raises(GenolmInputError, match="out of config order"):
        lineage_verdicts(comparison, [{**entry, "lineage_a": "Lymphoid", "lineage_b": "Lung"}])


def demo_config() -> dict:
    return read_yaml(REPO / "config.yaml")


def test_config_refuses_an_unknown_backbone_or_lineage_and_a_reversed_pair():
    validate_config(demo_config(), source="config.yaml")
    for change, message in ((lambda z: z.update(backbones=["tiny-1"]), "no backbone named 'tiny-1'"),
                            (lambda z: z["lineage_comparisons"][0].update(lineage_b="Skin"), "no lineage named 'Skin'"),
                            (lambda z: z["lineage_comparisons"][0].update(lineage_a="Lymphoid", lineage_b="Lung"),
                             "must come before")):
        config = copy.deepcopy(demo_config())
        change(config["studies"]["cancer_type"]["zero_shot"])
        with pytest.raises(GenolmInputError, match=message):
            validate_config(config, source="config.yaml")


def test_variant_benchmark_names_the_study_and_writes_the_report_page(tmp_path):
    labels = tmp_path / "labels.vcf"
    labels.write_text("##fileformat=VCFv4.2\n##INFO=<ID=LABEL,Number=1,Type=Integer,Description=\"x\">\n"
                      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                      + "".join(f"chrM\t{10 + i}\t.\tA\tC\t.\t.\tLABEL={i % 2}\n" for i in range(20)))
    pl.DataFrame({"chrom": ["chrM"] * 20, "pos": [10 + i for i in range(20)], "ref": ["A"] * 20, "alt": ["C"] * 20,
                  "llr": [-float(i % 2) for i in range(20)]}).write_parquet(tmp_path / "scores.parquet")
    run_genolm("variant-benchmark", "--scores", str(tmp_path / "scores.parquet"), "--names", "tiny-1k", "--labels",
               str(labels), "--label-field", "LABEL", "--task", "demo_set", "--study", "cancer_type", "--out",
               str(tmp_path / "metrics.parquet"), "--qc", str(tmp_path / "qc.tsv"), "--out-md", str(tmp_path / "b.md"))
    metrics = pl.read_parquet(tmp_path / "metrics.parquet")
    assert set(metrics["study"]) == {"cancer_type"}
    assert "| tiny-1k | 1.000 | [1.000, 1.000] | 10 | 10 |" in (tmp_path / "b.md").read_text()


def load_generator():
    spec = importlib.util.spec_from_file_location("make_demo_variant_effect", REPO / "scripts/make_demo_variant_effect.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_labelled_set_rebuilds_byte_for_byte_and_its_labels_follow_the_genetic_code():
    from Bio.Seq import Seq

    generator = load_generator()
    chrom = generator.read_chrM(generator.REFERENCE)
    text = generator.vcf_text(chrom)
    assert text == DEMO_VCF.read_text()
    records = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert len(records) == 2 * generator.PER_CLASS
    for _, pos, _, ref, alt, _, _, info in records:
        fields = dict(item.split("=") for item in info.split(";"))
        start = generator.GENES[fields["GENE"]][0]
        pos = int(pos)
        codon_start = pos - (pos - start) % 3
        codon = chrom[codon_start - 1 : codon_start + 2]
        mutated = codon[: pos - codon_start] + alt + codon[pos - codon_start + 1 :]
        assert chrom[pos - 1] == ref
        before, after = (str(Seq(c).translate(table=2)) for c in (codon, mutated))
        assert before != "*"
        assert (after == "*") if fields["LABEL"] == "1" else (after == before), (pos, codon, mutated)


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory):
    from rule_jobs import planned_jobs

    return planned_jobs(REPO / "config.yaml", tmp_path_factory.mktemp("plan"))["jobs"]


def test_the_demo_plans_scoring_zero_shot_and_benchmark_jobs_for_every_backbone(demo_plan):
    by_rule: dict[str, list[dict]] = {}
    for job in demo_plan:
        by_rule.setdefault(job["rule"], []).append(job)
    backbones = ("small-32k", "tiny-1k")
    for rule in ("cancer_type_score_mutations", "cancer_type_zero_shot", "cancer_type_score_benchmark"):
        assert sorted(Path(j["output"][0]).parent.name for j in by_rule[rule]) == list(backbones), rule
    (sample,) = by_rule["cancer_type_zero_shot_mutations"]
    assert "--max-per-cell-line 5" in sample["shell"]
    for job in by_rule["cancer_type_score_mutations"] + by_rule["cancer_type_score_benchmark"]:
        assert "data/demo/backbones/" in job["shell"] and "--strands both" in job["shell"]
    (benchmark,) = by_rule["cancer_type_variant_benchmark"]
    assert "chrM_stop_gained_vs_synonymous.vcf" in benchmark["shell"] and "--label-field LABEL" in benchmark["shell"]
    # The zero-shot rows join the study's results table and the report, beside the fine-tuned arms.
    collected = {f for j in by_rule["collect_study_metrics"] for f in j["input"]}
    assert {f"results/cancer_type/zero_shot/{b}/metrics.parquet" for b in backbones} <= collected
    assert "results/cancer_type/variant_benchmark/metrics.parquet" in collected
    pages = {j["output"][0] for j in by_rule["table_html"]}
    assert {f"results/tables/cancer_type/zero_shot_{b}.html" for b in backbones} <= pages
    assert "results/tables/cancer_type/variant_benchmark.html" in pages


def test_the_study_summary_shows_a_zero_shot_arm_beside_the_fine_tuned_ones():
    from genolm.results import metric_rows
    from genolm.studies.cancer_type.summary import summary_table, to_markdown

    context = {"study": "cancer_type", "task": "cancer_type_classification", "model": "hyenadna-tiny-1k",
               "context_length": 256, "init": "pretrained", "seed": 1}
    table = pl.concat([
        metric_rows({**context, "experiment": "1K-main"}, {"test@best/balanced_accuracy": 0.7,
                                                           "test@best/unit_balanced_accuracy": (0.8, 0.6, 1.0)}, ""),
        # The zero-shot arm classifies cell lines only: no per-window value.
        metric_rows({**context, "experiment": "zero-shot-tiny-1k"},
                    {"test/unit_balanced_accuracy": (0.6, 0.4, 0.9), "test/chance_balanced_accuracy": 0.5,
                     "all/mean_llr_difference/Lung-Lymphoid": (0.1, 0.0, 0.2)}, ""),
    ])
    summary = {r["experiment"]: r for r in summary_table(table).iter_rows(named=True)}
    assert summary["zero-shot-tiny-1k"]["cell_line_mean"] == pytest.approx(0.6)
    assert summary["zero-shot-tiny-1k"]["window_mean"] is None
    assert "| zero-shot-tiny-1k | hyenadna-tiny-1k | 256 | pretrained | 1 | - | 0.600 ± 0.000 [0.40, 0.90] |" in \
        to_markdown(summary_table(table))
