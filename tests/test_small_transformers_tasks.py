"""The small-transformer study's TSS-localization and chromatin-profile tasks: EPD window cutting (strand, TSS
index, word-aligned upstream), the per-organism evaluation's baselines, DeepSEA shards (both .mat formats, label
columns and groups, a file given as the wrong split), the k-mer baseline learning the planted motifs, the
trainer's multi-label head, the Table 5.2 / 5.4 pivots, and the demo inputs rebuilt byte for byte."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from conftest import REPO, assert_rebuilt_byte_for_byte, run_genolm
from genolm.datasets.shards import read_shards
from genolm.qc import QCCounts
from genolm.sources import epd
from genolm.studies.small_transformers import chromatin as ch
from genolm.studies.small_transformers import tss

TASKS = REPO / "data/demo/small_transformers/tasks"
RNG = np.random.default_rng(3)
CHROM = "".join(RNG.choice(list("ACGT"), size=400))


def _fasta(tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text(">chr1\n" + "\n".join(CHROM[i : i + 60] for i in range(0, len(CHROM), 60)) + "\n")
    return path


def _bed(tmp_path):
    path = tmp_path / "Hs_EPDnew_006_hg38.bed"
    # EPDnew layout: the promoter region -49..+10 on the promoter's strand, thickStart..thickEnd = the TSS.
    path.write_text("chr1\t151\t211\tPLUS_1\t900\t+\t200\t201\n"
                    "chr1\t240\t300\tMINUS_1\t900\t-\t250\t251\n"
                    "chr1\t0\t60\tEDGE_1\t900\t+\t10\t11\n")
    return path


# ---- TSS localization ---------------------------------------------------------------------------------------------
def test_tss_cut_keeps_whole_upstream_words_and_the_tss_on_the_promoters_strand():
    plus, minus = epd.Promoter("chr1", 200, "+", "P", "line 1"), epd.Promoter("chr1", 250, "-", "M", "line 2")
    genome = {"chr1": CHROM}
    for promoter in (plus, minus):
        window = epd.tss_window(genome, promoter, 60, 40)
        sequence, offset, start, end = tss.cut_example(window, promoter, upstream=60, downstream=40, words=3, word=9)
        assert offset == 27 and len(sequence) == 27 + 41
        assert sequence == window[60 - 27 :]
        genomic = CHROM[start:end]
        assert sequence == (genomic if promoter.strand == "+" else epd.reverse_complement(genomic))
    # the TSS base itself: chr1[200] on +, the complement of chr1[250] on -
    assert tss.cut_example(epd.tss_window(genome, plus, 60, 40), plus, upstream=60, downstream=40, words=2,
                           word=9)[0][18] == CHROM[200]
    assert tss.cut_example(epd.tss_window(genome, minus, 60, 40), minus, upstream=60, downstream=40, words=2,
                           word=9)[0][18] == epd.reverse_complement(CHROM[250])
    # more words than the window holds: capped at the window's upstream part
    assert tss.cut_example(epd.tss_window(genome, plus, 60, 40), plus, upstream=60, downstream=40, words=50,
                           word=9)[1] == 60


def test_tss_dataset_command_on_a_real_layout_bed(tmp_path):
    from genolm.sources.reference import prepare_reference

    assembly = tmp_path / "genome.fa.gz"
    prepare_reference(_fasta(tmp_path), assembly, chromosomes="all")
    out = tmp_path / "shards"
    run_genolm("tss-dataset", "--bed", str(_bed(tmp_path)), "--assembly", str(assembly), "--organism", "human",
               "--upstream", "99", "--downstream", "100", "--max-upstream-words", "5", "--word", "9",
               "--seed", "1", "--out", str(out), "--qc", str(tmp_path / "qc.tsv"))
    rows = read_shards(out, "all").to_pylist()
    assert [r["sample"] for r in rows] == ["PLUS_1", "MINUS_1"]  # EDGE_1's window runs off chr1
    for row in rows:
        assert row["anchor_offset"] % 9 == 0 and row["anchor_offset"] <= 45
        assert len(row["sequence"]) == row["anchor_offset"] + 101
        genomic = CHROM[row["ref_start"] : row["ref_end"]]
        if row["sample"] == "PLUS_1":
            assert row["sequence"] == genomic and row["sequence"][row["anchor_offset"]] == CHROM[200]
        else:
            assert row["sequence"] == epd.reverse_complement(genomic)
            assert row["sequence"][row["anchor_offset"]] == epd.reverse_complement(CHROM[250])
        assert row["anchor_pos"] == (200 if row["sample"] == "PLUS_1" else 250)
    qc = pl.read_csv(tmp_path / "qc.tsv", separator="\t")
    assert qc.filter(pl.col("reason") == "window_off_chromosome")["count"].sum() == 1


def test_tss_dataset_bad_bed_names_file_and_record(tmp_path):
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t151\t211\tPLUS_1\t900\t+\t200\t201\nchr1\t151\t211\tBAD_1\t900\t*\t200\t201\n")
    from genolm.sources.reference import prepare_reference

    prepare_reference(_fasta(tmp_path), tmp_path / "g.fa.gz", chromosomes="all")
    result = run_genolm("tss-dataset", "--bed", str(bed), "--assembly", str(tmp_path / "g.fa.gz"), "--organism", "x",
                        "--upstream", "9", "--downstream", "9", "--max-upstream-words", "1", "--word", "9", "--seed",
                        "1", "--out", str(tmp_path / "o"), "--qc", str(tmp_path / "q.tsv"), check=False)
    assert result.returncode != 0 and "bad.bed: line 2" in result.stderr and "strand" in result.stderr
    assert not (tmp_path / "o").exists()


def test_word_aligned_cut_puts_a_bpe_token_boundary_at_the_tss():
    """With whole 9-mer words upstream, the k-mer-word BPE starts a token at the TSS, so the trainer's target (the
    token holding the TSS base) is the token that begins there, as in the thesis' split tokenization."""
    from genolm.tokenizers import KmerBPETokenizer
    from genolm.heads.localization import site_token_index

    corpus = ["".join(RNG.choice(list("ACGT"), size=300)) for _ in range(50)]
    tokenizer = KmerBPETokenizer.train(corpus, 9, 200)
    for words in range(6):
        sequence = "".join(RNG.choice(list("ACGT"), size=9 * words + 90))
        offset = 9 * words
        index = site_token_index(tokenizer, sequence, offset)
        ids = tokenizer.encode(sequence, add_special_tokens=True)
        prefix = tokenizer.encode(sequence[:offset], add_special_tokens=True)
        assert list(ids[: len(prefix) - 1]) == list(prefix[:-1])  # the upstream tokens are the prefix's own
        assert index == len(prefix) - 1  # the first token after them: it starts at the TSS


def test_position_prior_takes_the_most_frequent_target():
    assert tss.position_prior(np.array([4, 7, 7, 4, 9])) == 4  # tie: the smaller index
    assert tss.position_prior(np.array([3, 8, 8])) == 8


# ---- chromatin profiles -------------------------------------------------------------------------------------------
def _write_bundle(tmp_path, n=300, length=60, seed=0):
    """A tiny bundle: column 5 is positive where the sequence carries GGGCGGG (planted), other columns noise."""
    h5py = pytest.importorskip("h5py")
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    files = {}
    for split in ("train", "valid", "test"):
        onehot = np.zeros((n, 4, length), dtype=np.uint8)
        labels = (rng.random((n, 919)) < 0.1).astype(np.uint8)
        for i in range(n):
            bases = list(rng.choice(list("ACGT"), size=length))
            labels[i, 5] = rng.random() < 0.3
            if labels[i, 5]:
                at = int(rng.integers(0, length - 7))
                bases[at : at + 7] = list("GGGCGGG")
            for j, base in enumerate(bases):
                onehot[i, "AGCT".index(base), j] = 1
        path = tmp_path / f"{split}.mat"
        if split == "train":
            with h5py.File(path, "w", userblock_size=512) as handle:
                handle["trainxdata"] = np.transpose(onehot, (2, 1, 0))
                handle["traindata"] = labels.T
        else:
            savemat(path, {f"{split}xdata": onehot, f"{split}data": labels})
        files[split] = path
    return files


def test_chromatin_dataset_command_reads_both_formats_and_names_label_groups(tmp_path):
    files = _write_bundle(tmp_path)
    run_genolm("chromatin-dataset", "--train", str(files["train"]), "--val", str(files["valid"]), "--test",
               str(files["test"]), "--max-train", "200", "--columns", "5", "130", "900", "--seed", "1",
               "--out", str(tmp_path / "shards"), "--labels", str(tmp_path / "labels.json"), "--qc", str(tmp_path / "qc.tsv"))
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert labels == {"label_names": ["DNase:5", "TF:130", "Histone:900"],
                      "label_groups": {"DNase": ["DNase:5"], "TF": ["TF:130"], "Histone": ["Histone:900"]}}
    train = read_shards(tmp_path / "shards", "train").to_pylist()
    assert len(train) == 200 and len(read_shards(tmp_path / "shards", "val")) == 300
    assert all(len(r["targets"]) == 3 and len(r["sequence"]) == 60 for r in train)
    assert all(("GGGCGGG" in r["sequence"]) >= (r["targets"][0] == 1) for r in train)  # the A/G/C/T order survives


def test_chromatin_dataset_names_a_file_given_as_the_wrong_split(tmp_path):
    files = _write_bundle(tmp_path, n=5)
    result = run_genolm("chromatin-dataset", "--train", str(files["train"]), "--test", str(files["valid"]),
                        "--seed", "1", "--out", str(tmp_path / "o"), "--labels", str(tmp_path / "l.json"),
                        "--qc", str(tmp_path / "q.tsv"), check=False)
    assert result.returncode != 0 and "valid.mat" in result.stderr and "'valid' arrays" in result.stderr
    assert not (tmp_path / "o").exists()


def test_kmer_baseline_learns_the_planted_motif_and_not_shuffled_labels():
    rng = np.random.default_rng(1)

    def examples(n):
        sequences, targets = [], np.zeros((n, 2), dtype=np.float32)
        for i in range(n):
            bases = list(rng.choice(list("ACGT"), size=120))
            targets[i] = rng.random(2) < 0.3
            if targets[i, 0]:
                at = int(rng.integers(0, 110))
                bases[at : at + 8] = list("TGACTCAT")
            sequences.append("".join(bases))
        return sequences, targets

    train, test = examples(400), examples(200)
    names, groups = ["TF:130", "TF:131"], {"TF": ["TF:130", "TF:131"]}
    values = ch.kmer_baseline(train, {"test": test}, names=names, groups=groups, k=4, C=10)
    assert values["test@last/auroc/TF:130"] > 0.85  # the motif's label
    assert 0.35 < values["test@last/auroc/TF:131"] < 0.65  # a label no sequence feature explains
    shuffled = (train[0], np.random.default_rng(2).permutation(train[1]))
    assert ch.kmer_baseline(shuffled, {"test": test}, names=names, groups=groups, k=4, C=10)[
        "test@last/auroc/TF:130"] < 0.65


def test_label_names_and_groups_follow_deepsea_columns():
    assert ch.label_names([0, 124, 125, 814, 815, 918]) == [
        "DNase:0", "DNase:124", "TF:125", "TF:814", "Histone:815", "Histone:918"]
    assert len(ch.label_names(None)) == 919
    assert {g: len(v) for g, v in ch.label_groups(None).items()} == {"DNase": 125, "TF": 690, "Histone": 104}
    with pytest.raises(ValueError, match="outside"):
        ch.group_of(919)


def test_trainer_multilabel_head_scores_auroc_per_label_and_group(tmp_path):
    """The trainer's multilabel head: sigmoid outputs, AUROC per label / group / macro in the result rows."""
    files = _write_bundle(tmp_path, n=96, length=40)
    run_genolm("chromatin-dataset", "--train", str(files["train"]), "--val", str(files["valid"]), "--test",
               str(files["test"]), "--columns", "5", "130", "--seed", "1", "--out", str(tmp_path / "shards"),
               "--labels", str(tmp_path / "labels.json"), "--qc", str(tmp_path / "qc.tsv"))
    labels = json.loads((tmp_path / "labels.json").read_text())
    spec = {"tokenizer": {"name": "character"}, "model": {"name": "bert", "preset": "bert-mini", "hidden_size": 32,
                                                          "num_hidden_layers": 1, "num_attention_heads": 2,
                                                          "intermediate_size": 64},
            "init": "random", "context_length": 48,
            "head": {"name": "multilabel", "label_names": labels["label_names"], "label_groups": labels["label_groups"],
                     "pos_weight": 2.0},
            "training": {"max_steps": 4, "batch_size": 16, "warmup_steps": 1, "val_every_n_steps": 2,
                         "checkpoint_every_n_steps": 2}}
    run_genolm("train", "--spec", json.dumps(spec), "--shards", str(tmp_path / "shards"), "--seed", "1", "--out",
               str(tmp_path / "run"), "--study", "t", "--task", "chromatin_profiles", "--experiment", "e",
               "--results-dir", str(tmp_path))
    rows = pl.read_parquet(tmp_path / "run/metrics.parquet").filter(pl.col("split") == "test")
    metrics = set(rows["metric"])
    assert {"auroc/DNase:5", "auroc/TF:130", "auroc_group/DNase", "auroc_group/TF", "auroc_macro", "loss"} <= metrics
    assert set(rows["checkpoint"]) == {"best", "last"}
    assert all(0 <= v <= 1 for v in rows.filter(pl.col("metric").str.starts_with("auroc"))["value"])


# ---- tables -------------------------------------------------------------------------------------------------------
def _row(task, experiment, seed, split, checkpoint, metric, value, init="pretrained"):
    return {"study": "small_transformers", "task": task, "experiment": experiment, "model": "longformer-small",
            "tokenizer": "9-mer-BPE1000", "context_length": 64, "init": init, "label_fraction": 1.0,
            "train_labelled": 10, "seed": seed, "split": split, "checkpoint": checkpoint, "metric": metric,
            "value": value, "ci_low": None, "ci_high": None, "mlflow_run_id": ""}


def test_tables_pivot_tss_and_chromatin_beside_the_thesis(tmp_path):
    from genolm.results import METRICS_SCHEMA

    rows = []
    for seed, acc in ((1, 0.6), (2, 0.8)):
        for organism, split in (("human", "test"), ("human", "all"), ("synthetic", "all")):
            for measure, value in (("accuracy", acc), ("position_prior_accuracy", 0.1), ("chance_accuracy", 0.02),
                                   ("examples", 40)):
                rows.append(_row("tss_localization", "tss/hg38", seed, split, "best", f"{measure}/{organism}", value))
        for metric, value in (("loss", 0.5), ("auroc_macro", 0.7 + seed / 10), ("auroc_group/DNase", 0.8),
                              ("auroc_group/TF", 0.9), ("auroc_group/Histone", 0.6), ("f1_macro", 0.3)):
            rows.append(_row("chromatin_profiles", "chromatin/hg38", seed, "test", "best", metric, value))
            rows.append(_row("chromatin_profiles", "chromatin/hg38", seed, "test", "last", metric, 0.0))
    # a species experiment of the same name: the task prefix keeps every row's key unique
    rows.append(_row("species_12s", "hg38", 1, "test", "best", "loss", 1.0))
    path = tmp_path / "m.parquet"
    pl.DataFrame(rows, schema=METRICS_SCHEMA).write_parquet(path)
    run_genolm("small-transformers-tables", "--metrics", str(path), "--tss-languages", json.dumps({"tss/hg38": "hg38"}),
               "--chromatin-languages", json.dumps({"chromatin/hg38": "hg38"}), "--markdown", str(tmp_path / "t.md"),
               "--tsv", str(tmp_path / "t.tsv"), "--figure-dir", str(tmp_path))
    text = (tmp_path / "t.md").read_text()
    assert "| human | all | hg38 | tss/hg38 | 2 | 40 | 0.7000 ± 0.1414 | 0.1000 | 0.0200 | 0.9632 |" in text
    assert "| human | test | hg38 | tss/hg38 | 2 | 40 | 0.7000 ± 0.1414 | 0.1000 | 0.0200 | — |" in text
    assert "| P_falciparum | all | hg38 | (not run) |" in text
    assert ("| hg38 | chromatin/hg38 | longformer-small | 2 | 0.5000 ± 0.0000 | 0.8500 ± 0.0707 | 0.8000 ± 0.0000 | "
            "0.9000 ± 0.0000 | 0.6000 ± 0.0000 | 0.4678 | 0.7161 | 0.8570 | 0.9218 | 0.8489 |") in text
    assert "| DeepSEA (baseline) | (not run) |" in text
    long = pl.read_csv(tmp_path / "t.tsv", separator="\t", schema_overrides={"table": pl.Utf8})
    assert set(long["table"]) == {"5.2", "5.3", "5.4"}
    assert (tmp_path / "tss_localization.png").stat().st_size > 10_000
    assert (tmp_path / "chromatin_profiles.png").stat().st_size > 10_000


# ---- the demo inputs ----------------------------------------------------------------------------------------------
def test_demo_task_inputs_are_rebuilt_byte_for_byte_and_carry_the_planted_promoters(tmp_path):
    assert_rebuilt_byte_for_byte([str(REPO / "scripts/make_demo_small_transformers_tasks.py"), "--out", str(tmp_path)],
                                 tmp_path, TASKS)
    from genolm.sources.fasta import read_fasta

    genome = {name: sequence.upper() for name, sequence in read_fasta(TASKS / "epd/demo_promoters.fa.gz")}
    promoters = epd.read_epd_bed(TASKS / "epd/Hs_EPDnew_demo_hg38.bed")
    windows = epd.tss_windows(genome, promoters, upstream=40, downstream=10, qc=QCCounts("t"))
    assert len(windows) == len(promoters) > 300 and {p.strand for p, _ in windows} == {"+", "-"}
    import re

    for _, window in windows:  # Inr-like with its A at the TSS; TATA-box-like starting 28..32 bp upstream
        assert re.fullmatch("[CT][CT]A.[AT][CT][CT]", window[38:45])
        assert re.search("TATA[AT]A[AT][AG]", window[8:20])


def test_chromatin_dataset_reads_the_bundle_archive(tmp_path):
    import tarfile

    files = _write_bundle(tmp_path, n=8)
    bundle = tmp_path / "deepsea_train_bundle.v0.9.tar.gz"
    with tarfile.open(bundle, "w:gz") as archive:
        for path in files.values():
            archive.add(path, arcname=f"deepsea_train/{path.name}")
    run_genolm("chromatin-dataset", "--bundle", str(bundle), "--columns", "5", "6", "--seed", "1",
               "--out", str(tmp_path / "out" / "shards"), "--labels", str(tmp_path / "l.json"), "--qc", str(tmp_path / "q.tsv"))
    assert {s: len(read_shards(tmp_path / "out" / "shards", s)) for s in ("train", "val", "test")} == {
        "train": 8, "val": 8, "test": 8}
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["shards"]  # the extracted files are gone
