"""The small-transformer study (study 2): corpus builders, the corrupted-copy generator, the species task, SOP
Algorithm 2, the thesis-table pivot, bad inputs, and the study end to end on a tiny config (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
import yaml

from conftest import REPO, assert_rebuilt_byte_for_byte, run_genolm
from genolm.datasets.shards import read_manifest, read_shards
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts, read_qc
from genolm.studies.small_transformers import corpus as st

DEMO = REPO / "data/demo/small_transformers/mirror"
MITO_FASTA = DEMO / "refseq/release/mitochondrion/mitochondrion.1.1.genomic.fna.gz"
MARKERS = DEMO / "markers/mouse_lemur_mtdna.fa.gz"


# ---- mitochondrial corpus -------------------------------------------------------------------------------------
def test_genome_split_matches_the_thesis_sizes():
    ids = [f"g{i}" for i in range(2000)]
    splits = st.genome_split(ids, test_fraction=0.1, val_fraction=0.1, seed=3)
    counts = {s: sum(v == s for v in splits.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 1620, "val": 180, "test": 200}  # thesis 4.2.1, 6-mers
    assert splits == st.genome_split(ids, test_fraction=0.1, val_fraction=0.1, seed=3)
    assert splits != st.genome_split(ids, test_fraction=0.1, val_fraction=0.1, seed=4)


def test_window_starts_cover_the_genome_to_its_end():
    assert st.window_starts(10, 20, 5) == [0]
    assert st.window_starts(100, 40, 30) == [0, 30, 60]
    assert st.window_starts(105, 40, 30) == [0, 30, 60, 65]


def test_mito_corpus_command_splits_by_genome(tmp_path):
    """The real-layout corpus (NCBI organelle FASTA of real mtDNA): no genome in two splits, QC adds up."""
    out = tmp_path / "corpus"
    run_genolm("mito-corpus", "--fasta", str(MITO_FASTA), "--window", "500", "--stride", "250", "--min-length", "1000",
               "--test-fraction", "0.1", "--val-fraction", "0.1", "--seed", "1", "--out", str(out),
               "--qc", str(tmp_path / "qc.tsv"))
    manifest = read_manifest(out)
    genomes = {}
    for split in manifest["splits"]:
        table = read_shards(out, split, columns=["sequence", "sample"])
        for sample in set(table.column("sample").to_pylist()):
            assert sample not in genomes, f"genome {sample} in {genomes.get(sample)} and {split}"
            genomes[sample] = split
        assert all(len(s) <= 500 for s in table.column("sequence").to_pylist())
    qc = read_qc(tmp_path / "qc.tsv")
    read = qc.filter(pl.col("reason") == "genomes_read")["count"].sum()
    short = qc.filter(pl.col("reason") == "genome_shorter_than_min_length")["count"].sum()
    assert read + short == 34 and short == 12  # the 12 mrbayes primate segments (898 bp) are below 1,000 bp
    assert qc.filter(pl.col("reason") == "genomes_in_split")["count"].sum() == read == len(genomes)
    assert {"train", "val", "test"} <= set(genomes.values())


def test_mito_corpus_bad_input_names_file_and_record(tmp_path):
    fasta = tmp_path / "dup.fna"
    fasta.write_text(">NC_1 a\nACGTACGTAC\n>NC_1 again\nACGTACGTAC\n")
    result = run_genolm("mito-corpus", "--fasta", str(fasta), "--window", "5", "--test-fraction", "0.1",
                        "--val-fraction", "0.1", "--seed", "1", "--out", str(tmp_path / "out"),
                        "--qc", str(tmp_path / "qc.tsv"), check=False)
    assert result.returncode != 0
    assert "dup.fna: line 3" in result.stderr and "NC_1" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "qc.tsv").exists()


# ---- corrupted copies -----------------------------------------------------------------------------------------
def test_corrupted_copies_rates_within_bounds_and_seeded():
    rng = np.random.default_rng(7)
    sequence = "".join(rng.choice(list("ACGT"), size=2000)) + "NNNN"
    copies = st.corrupted_copies(sequence, 200, (0.005, 0.05), np.random.default_rng(1))
    assert copies == st.corrupted_copies(sequence, 200, (0.005, 0.05), np.random.default_rng(1))
    assert copies != st.corrupted_copies(sequence, 200, (0.005, 0.05), np.random.default_rng(2))
    rates = np.array([r for _, r, _ in copies])
    assert rates.min() >= 0.005 and rates.max() <= 0.05
    assert rates.min() < 0.01 and rates.max() > 0.045  # the whole range is used
    for copy, rate, n in copies:
        differing = [i for i, (x, y) in enumerate(zip(sequence, copy)) if x != y]
        assert len(copy) == len(sequence) and len(differing) == n == round(rate * 2000)
        assert copy.endswith("NNNN")  # only A/C/G/T positions are substituted, never to the same base
        assert all(copy[i] in "ACGT" for i in differing)


def test_substituted_bases_are_uniform():
    """Each substitution picks one of the three other bases with equal probability (sequencing errors)."""
    copy, n = st.corrupt("A" * 30000, 0.5, np.random.default_rng(0))
    counts = {b: copy.count(b) for b in "CGT"}
    assert n == 15000 and sum(counts.values()) == n
    assert all(abs(c / n - 1 / 3) < 0.02 for c in counts.values())


# ---- the species task -----------------------------------------------------------------------------------------
def test_species_dataset_command(tmp_path):
    out = tmp_path / "species"
    run_genolm("species-dataset", "--marker-fasta", str(MARKERS), "--copies", "31", "--rate", "0.005", "0.05",
               "--split", "train=0.81", "val=0.09", "test=0.10", "--seed", "1", "--out", str(out),
               "--labels", str(tmp_path / "labels.json"), "--details", str(tmp_path / "examples.parquet"),
               "--qc", str(tmp_path / "qc.tsv"))
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert len(labels) == 35 and labels == sorted(labels)
    examples = pl.read_parquet(tmp_path / "examples.parquet")
    assert len(examples) == 35 * 32
    assert examples.group_by("label").len()["len"].to_list() == [32] * 35
    assert examples["rate"].filter(examples["rate"] > 0).min() >= 0.005 and examples["rate"].max() <= 0.05
    sizes = {s: len(read_shards(out, s, columns=["label"])) for s in ("train", "val", "test")}
    assert sizes == {"train": 907, "val": 101, "test": 112}  # 81/9/10 of 1,120
    qc = read_qc(tmp_path / "qc.tsv")
    assert qc.filter(pl.col("reason") == "examples_in_split")["count"].sum() == 1120


def test_one_record_per_species_prefers_complete_genes():
    markers = pl.DataFrame({"species": ["B b", "A a", "A a", "A a"], "accession": ["X3", "X2", "X1", "X0"],
                            "sequence": ["ACGT" * 50, "ACGT" * 50, "ACGT" * 50, "ACG"],
                            "partial": [False, False, True, False]})
    qc = QCCounts("t")
    chosen = st.one_record_per_species(markers, qc, min_length=100)
    assert chosen["accession"].to_list() == ["X2", "X3"]
    assert qc.get("record_shorter_than_min_length") == 1 and qc.get("other_record_of_species_dropped") == 1


def test_species_bad_inputs_name_file_and_record(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">Homo|A1\nACGTACGT\n>no separator here\nACGT\n")
    with pytest.raises(GenolmInputError, match=r"bad.fa: line 3: header 'no separator here'"):
        st.read_marker_fasta(bad)
    table = tmp_path / "12s.parquet"
    pl.DataFrame({"species": ["x"], "sequence": ["ACGT"]}).write_parquet(table)
    with pytest.raises(GenolmInputError, match="missing column"):
        st.read_twelve_s(table)
    result = run_genolm("species-dataset", "--marker-fasta", str(bad), "--copies", "1", "--rate", "0.05", "0.01",
                        "--split", "train=1", "test=0", "--seed", "1", "--out", str(tmp_path / "o"), "--labels",
                        str(tmp_path / "l.json"), "--details", str(tmp_path / "d.parquet"), "--qc", str(tmp_path / "q.tsv"),
                        check=False)
    assert result.returncode != 0 and "--rate" in result.stderr and not (tmp_path / "o").exists()


def test_planted_species_signal_is_learnt_and_shuffled_labels_are_not(tmp_path):
    """The k-mer LR learns the species of corrupted copies of real markers; with labels shuffled it stays at
    chance. (The trainer's own learning test covers the transformers.)"""
    from genolm.models.baselines import KmerSpectrumClassifier, KmerSpectrumConfig

    markers = st.one_record_per_species(st.read_marker_fasta(MARKERS), QCCounts("t"), min_length=100)
    table, species, _ = st.species_dataset(markers, copies=15, rate_range=(0.005, 0.05),
                                           split={"train": 0.8, "test": 0.2}, marker_bases=300, seed=1, qc=QCCounts("t"))
    frame = pl.from_arrow(table)
    train, test = frame.filter(pl.col("split") == "train"), frame.filter(pl.col("split") == "test")
    for shuffle, expect in ((False, lambda acc: acc > 0.8), (True, lambda acc: acc < 0.15)):
        labels = train["label"].to_numpy()
        if shuffle:
            labels = np.random.default_rng(0).permutation(labels)
        model = KmerSpectrumClassifier(KmerSpectrumConfig(k=4, C=100)).fit(train["sequence"].to_list(), labels)
        accuracy = (model.estimator.predict(
            __import__("genolm.models.baselines", fromlist=["kmer_spectrum"]).kmer_spectrum(test["sequence"].to_list(), 4))
                    == test["label"].to_numpy()).mean()
        assert expect(accuracy), (shuffle, accuracy)


# ---- SOP, Algorithm 2 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4, 9, 10, 57, 254])
def test_sop_thesis_cut_bounds(n):
    from genolm.objectives.sop import thesis_cut

    generator = torch.Generator().manual_seed(n)
    gap = max(1, n // 10)
    seen = set()
    for _ in range(300):
        a, b, c = thesis_cut(n, generator)
        seen.add((a, b, c))
        assert 1 <= a <= gap  # eroded at the start...
        assert max(-(-9 * n // 10), 0) <= c or c == n - 1
        assert c <= n - 1  # ...and at the end
        assert b - a >= gap and c - b >= gap  # both pieces keep n/10 tokens
    if n >= 57:
        assert len(seen) > 20


def test_sop_thesis_layout_lays_out_eroded_pieces():
    from genolm.objectives.sop import order_pairs

    bodies = torch.arange(10, 110).view(1, 100)
    for seed in range(20):
        batch = order_pairs(bodies, torch.tensor([100]), cls_id=2, sep_id=3, pad_id=0, swap_prob=0.5,
                            generator=torch.Generator().manual_seed(seed), layout="thesis")
        ids = batch["input_ids"][0][batch["attention_mask"][0].bool()].tolist()
        assert ids[0] == 2 and ids[-1] == 3 and ids.count(3) == 2
        sep = ids.index(3)
        first, second = ids[1:sep], ids[sep + 1 : -1]
        if batch["order_labels"][0]:
            first, second = second, first
        assert first[-1] + 1 == second[0]  # contiguous at the cut
        assert first[0] >= 11 and second[-1] <= 108  # eroded: token 0 of the body and the last one never used
        assert len(first) >= 10 and len(second) >= 10
    with pytest.raises(ValueError, match="at least 4 tokens"):
        order_pairs(bodies[:, :3], torch.tensor([3]), cls_id=2, sep_id=3, pad_id=0, swap_prob=0.5, layout="thesis")


# ---- tables -----------------------------------------------------------------------------------------------------
def _rows(experiment, init, seed, split, checkpoint, values, task="species_12s", model="longformer-small",
          tokenizer="9-mer-BPE1000"):
    return [{"study": "small_transformers", "task": task, "experiment": experiment, "model": model, "tokenizer": tokenizer,
             "context_length": 64, "init": init, "label_fraction": None, "train_labelled": None, "seed": seed,
             "split": split, "checkpoint": checkpoint, "metric": m, "value": v, "ci_low": None, "ci_high": None,
             "mlflow_run_id": ""} for m, v in values.items()]


def test_tables_pivot_mean_sd_and_thesis_columns(tmp_path):
    from genolm.results import METRICS_SCHEMA

    rows = []
    for seed, top1 in ((1, 0.5), (2, 0.7), (3, 0.6)):
        rows += _rows("mito", "pretrained", seed, "test", "best", {"loss": 1.0, "accuracy": top1, "top5_accuracy": 0.9})
        rows += _rows("mito", "pretrained", seed, "test", "last", {"loss": 9.0, "accuracy": 0.0, "top5_accuracy": 0.0})
        rows += _rows("mito", "pretrained", seed, "val", "best", {"loss": 9.0, "accuracy": 0.0, "top5_accuracy": 0.0})
    rows += _rows("pretrain/mito-longformer-9mer", "random", 1, "val", "last",
                  {"masked_accuracy": 0.2, "perplexity": 30.0}, task="pretraining")
    paths = []
    for i in range(2):
        part = pl.DataFrame(rows[i::2], schema=METRICS_SCHEMA)
        part.write_parquet(tmp_path / f"m{i}.parquet")
        paths.append(str(tmp_path / f"m{i}.parquet"))
    run_genolm("small-transformers-tables", "--metrics", *paths, "--languages", json.dumps({"mito": "mitochondria"}),
               "--markdown", str(tmp_path / "t.md"), "--tsv", str(tmp_path / "t.tsv"), "--figure-dir", str(tmp_path))
    text = (tmp_path / "t.md").read_text()
    assert "| mitochondria | mito | longformer-small | 3 | 1.0000 ± 0.0000 | 0.6000 ± 0.1000 | 0.9000 ± 0.0000 | 0.4082 | 0.8576 | 0.9851 |" in text
    assert "| mito | longformer-small | 9-mer-BPE1000 | mlm | 0.2000 | 0.8800 | 30.0000 | — | 0.8875 | 1.7257 |" in text
    long = pl.read_csv(tmp_path / "t.tsv", separator="\t", schema_overrides={"table": pl.Utf8})
    assert long.filter((pl.col("table") == "5.3") & (pl.col("column") == "top1"))["value"].to_list() == [pytest.approx(0.6)]
    assert (tmp_path / "species_12s.png").stat().st_size > 10_000 and (tmp_path / "pretraining.png").exists()


# ---- the study end to end -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_small_transformers_end_to_end(e2e_local_run):
    """The study's rules in the shared tiny e2e run: corpora, pretraining, the species, TSS and chromatin tasks with
    every arm, tables."""
    config = yaml.safe_load((REPO / "tests/e2e/config.yaml").read_text())
    table = pl.read_csv(e2e_local_run / "results/tables/metrics.tsv", separator="\t").filter(
        pl.col("study") == "small_transformers")
    species = table.filter((pl.col("task") == "species_12s") & (pl.col("split") == "test"))
    assert set(species["experiment"]) == {"mito", "untrained", "hg38", "kmer-LR"}
    assert set(species["seed"]) == set(config["seeds"])
    assert {"accuracy", "top5_accuracy", "loss"} <= set(species["metric"])
    assert set(table.filter(pl.col("task") == "pretraining")["experiment"]) == {
        "pretrain/mito-longformer-9mer", "pretrain/hg38-longformer-9mer"}
    tss = table.filter(pl.col("task") == "tss_localization")
    assert set(tss["experiment"]) == {"tss/hg38", "tss/untrained"} and set(tss["seed"]) == set(config["seeds"])
    assert {"accuracy/human", "accuracy/synthetic", "position_prior_accuracy/synthetic"} <= set(tss["metric"])
    chromatin = table.filter((pl.col("task") == "chromatin_profiles") & (pl.col("split") == "test"))
    assert set(chromatin["experiment"]) == {"chromatin/hg38", "chromatin/untrained", "chromatin/kmer-LR"}
    assert {"auroc_macro", "auroc_group/DNase", "auroc_group/TF", "auroc_group/Histone"} <= set(chromatin["metric"])
    text = (e2e_local_run / "results/tables/small_transformers/paper_tables.md").read_text()
    assert all(f"Table 5.{n}" in text for n in (1, 2, 3, 4))
    for figure in ("species_12s", "tss_localization", "chromatin_profiles"):
        assert (e2e_local_run / f"results/plots/small_transformers/{figure}.png").exists()


def test_top5_accuracy_is_not_merged_with_top1():
    """torchmetrics' compute groups would merge top-1 and top-5 when the first batch's top-1 is all right."""
    from genolm.metrics import classification_metrics

    metrics = classification_metrics(10, [5])
    labels = torch.tensor([0, 1, 2, 3])
    metrics.update(torch.eye(10)[labels] * 0.9 + 0.01, labels)  # all right
    second = torch.full((4, 10), 0.01)
    second[:, 9], second[torch.arange(4), labels] = 0.5, 0.3  # all wrong at top-1, right at top-2
    metrics.update(second, labels)
    values = metrics.compute()
    assert float(values["accuracy"]) == 0.5 and float(values["top5_accuracy"]) == 1.0


def test_demo_mirror_is_rebuilt_byte_for_byte(tmp_path):
    assert_rebuilt_byte_for_byte([str(REPO / "scripts/make_demo_small_transformers.py"), "--mirror", str(tmp_path)],
                                 tmp_path, DEMO, timeout=120)


def test_an_architecture_beside_init_from_is_trained_afresh_on_that_jobs_tokens():
    """The thesis' ELMo rows (Appendix B): a biLSTM never pretrained, on the 9-mer tokens of a pretraining job;
    init pretrained would load a Longformer's weights into it and is refused when the config is validated."""
    import copy

    from genolm.config import validate_config
    from genolm.studies.small_transformers import specs

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    study = config["studies"]["small_transformers"]
    elmo = {"init_from": "mito-longformer-9mer", "init": "random", "model": {"name": "bilstm", "preset": "elmo-2x256"}}
    study["species"]["experiments"]["elmo"] = {**elmo, "head": {"pooling": "mean"}}
    study["tss"]["experiments"]["elmo"] = copy.deepcopy(elmo)
    validated = validate_config(copy.deepcopy(config))["studies"]["small_transformers"]
    directory = "results/small_transformers/pretrain/mito-longformer-9mer/seed1/model"
    for spec in (specs.species_spec(validated, "elmo", directory, ["a", "b"]), specs.tss_spec(validated, "elmo", directory)):
        assert spec["tokenizer"] == {"pretrained": directory}
        assert spec["model"] == {"name": "bilstm", "preset": "elmo-2x256"} and spec["init"] == "random"
    assert specs.task_model_name(validated, "tss", "elmo") == "elmo-2x256"
    assert specs.tokenizer_name(validated, "elmo") == specs.pretraining_tokenizer_name(validated, "mito-longformer-9mer")
    assert not specs.is_baseline(validated["species"]["experiments"]["elmo"])
    assert specs.is_baseline(validated["species"]["experiments"]["kmer-LR"])

    study["tss"]["experiments"]["elmo"]["init"] = "pretrained"
    with pytest.raises(GenolmInputError, match=r"tss\.experiments\.elmo\.init: 'pretrained' would load"):
        validate_config(config)
