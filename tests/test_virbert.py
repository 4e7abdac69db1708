"""Study 3 (virBERT): the genome split, nested label fractions by genome, the three samplers' length laws, the
new classification metrics against scikit-learn, the linear schedule, the documents' tables and bad input."""

from __future__ import annotations

import gzip

import numpy as np
import polars as pl
import pytest
import torch

from genolm.datasets.labels import labelled_subset
from genolm.errors import GenolmInputError
from genolm.metrics import classification_metrics
from genolm.qc import QCCounts
from genolm.studies.virbert import samplers, specs, tables
from genolm.studies.virbert.genomes import build_genome_table, split_units
from genolm.training.optim import warmup_linear_factor


def _genome_set(tmp_path, n_families=6, members=3, segments=2):
    """A FASTA + TSV of families of segmented genomes (segments of one genome share its genome_id)."""
    rng = np.random.default_rng(0)
    fasta, rows, fams = [], ["accession\tgenome_id\tis_phage\torigin"], ["genome_id\tfamily"]
    for cls in ("phage", "other"):
        for f in range(n_families):
            for m in range(members):
                genome = f"{cls}-f{f}-g{m}"
                fams.append(f"{genome}\t{cls}-f{f}")
                for s in range(segments):
                    acc = f"{genome}.s{s}"
                    fasta.append(f">{acc}\n{''.join(rng.choice(list('ACGT'), 700))}\n")
                    rows.append(f"{acc}\t{genome}\t{'true' if cls == 'phage' else 'false'}\tsynthetic")
    (tmp_path / "g.fa.gz").write_bytes(gzip.compress("".join(fasta).encode()))
    (tmp_path / "g.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "fam.tsv").write_text("\n".join(fams) + "\n")
    return tmp_path / "g.fa.gz", tmp_path / "g.tsv", tmp_path / "fam.tsv"


@pytest.mark.parametrize("unit", ["genome", "family"])
def test_split_keeps_genomes_segments_and_families_together(tmp_path, unit):
    fasta, table, fams = _genome_set(tmp_path)
    qc = QCCounts("virbert_genomes")
    out = build_genome_table(viral=None, extra=[(fasta, table)], families=fams,
                             split={"train": 0.7, "val": 0.2, "test": 0.1}, unit=unit, seed=3, qc=qc)
    assert out.group_by("genome_id").agg(pl.col("split").n_unique())["split"].max() == 1  # no genome in two splits
    assert out.group_by("genome_id").len()["len"].min() == 2  # both segments kept, together
    if unit == "family":
        assert out.group_by("family").agg(pl.col("split").n_unique())["split"].max() == 1
    for split in ("train", "val", "test"):  # stratified: each split holds both classes
        assert set(out.filter(pl.col("split") == split)["label"]) == {0, 1}
    # QC adds up: every record read is in exactly one split
    assert qc.total("records_in") == qc.total("records") == len(out)


def test_split_units_fractions_and_determinism():
    units = {f"u{i}": i % 2 for i in range(40)}
    a = split_units(units, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=1)
    assert a == split_units(units, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=1)
    counts = {s: sum(1 for v in a.values() if v == s) for s in ("train", "val", "test")}
    assert counts == {"train": 14 * 2, "val": 4 * 2, "test": 2 * 2}


def test_label_fractions_nested_by_genome_each_class_kept():
    rng = np.random.default_rng(0)
    genomes = np.repeat([f"g{i}" for i in range(200)], rng.integers(1, 30, 200))
    labels = np.asarray([int(g[1:]) % 2 for g in genomes])
    kept = {f: set(genomes[labelled_subset(labels, f, seed=5, groups=genomes)]) for f in (0.1, 0.01)}
    assert kept[0.01] <= kept[0.1]  # 1 % of the genomes lies inside 10 %
    for f, chosen in kept.items():
        idx = np.isin(genomes, list(chosen))
        assert set(labels[idx]) == {0, 1}  # each class represented
        # whole genomes: a kept genome keeps all its fragments
        assert idx.sum() == sum((genomes == g).sum() for g in chosen)


def test_pretraining_length_law():
    rng = np.random.default_rng(0)
    sequence = "".join(np.random.default_rng(1).choice(list("ACGT"), 200_000))
    pieces = samplers.pretraining_pieces(sequence, rng, low=36, high=510, full_fraction=0.5, sampled_ratio=2)
    lengths = np.asarray([len(p) for p in pieces])
    assert lengths.min() >= 36 and lengths.max() <= 510
    cuts = len(pieces) // 3
    assert len(pieces) == 3 * cuts  # twice as many sampled subsequences as non-overlapping cuts
    assert "".join(pieces[:cuts]) == sequence[: sum(lengths[:cuts])]  # the cuts tile the genome without overlap
    full = (lengths == 510).mean()
    assert 0.45 < full < 0.6  # half forced to the upper bound (+ the uniform's own mass there)
    rest = lengths[lengths < 510]
    assert abs(rest.mean() - (36 + 509) / 2) < 15  # the other half uniform on [36, 510]


def test_finetune_sampler_cap_and_repeats():
    rng = np.random.default_rng(0)
    long = "ACGT" * 5000  # 20 kb: 133 tiles of 150
    frags = samplers.finetune_fragments(long, 150, rng, cap=64, max_repeats=3)
    assert len(frags) == 64 and {len(f) for f in frags} == {150}
    short = "".join(np.random.default_rng(2).choice(list("ACGT"), 1000))  # 6 tiles
    frags = samplers.finetune_fragments(short, 150, rng, cap=64, max_repeats=3)
    assert len(frags) == 18  # 3 rounds of 6 tiles: with replacement up to the repeat limit
    assert samplers.finetune_fragments("ACGT" * 10, 150, rng, cap=8, max_repeats=2) == []


def test_evaluation_sampler():
    rng = np.random.default_rng(0)
    sequence = "".join(np.random.default_rng(3).choice(list("ACGT"), 30_000))
    frags = samplers.evaluation_fragments(sequence, 150, rng, per_genome=64)
    starts = sorted(sequence.index(f) for f in frags)
    assert len(frags) == 64 and np.all(np.diff(starts) >= 150)  # 64 random, non-overlapping
    short = sequence[:5_000]
    for seed in range(20):
        frags = samplers.evaluation_fragments(short, 150, np.random.default_rng(seed), per_genome=64)
        start = short.index(frags[0])
        assert start < 500  # a start in the first 10 %
        assert "".join(frags) == short[start : start + 150 * len(frags)]  # then tiles without overlap
        assert len(frags) == (5_000 - start) // 150


def test_balance_classes():
    labels = np.asarray([0] * 30 + [1] * 10)
    keep = samplers.balance_classes(labels, np.random.default_rng(0))
    assert np.bincount(labels[keep]).tolist() == [10, 10]


def test_classification_metrics_match_sklearn():
    from sklearn.metrics import f1_score, recall_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    proba = rng.dirichlet([1, 1], 300)
    proba[labels == 1, 1] += 0.3
    proba /= proba.sum(1, keepdims=True)
    metrics = classification_metrics(2, label_names=["other", "phage"])
    metrics.update(torch.from_numpy(proba), torch.from_numpy(labels))
    values = {k: float(v) for k, v in metrics.compute().items()}
    pred = proba.argmax(1)
    assert values["recall_macro"] == pytest.approx(recall_score(labels, pred, average="macro"))
    assert values["f1/phage"] == pytest.approx(f1_score(labels, pred, pos_label=1))  # binary F1, phage positive
    assert values["f1/other"] == pytest.approx(f1_score(labels, pred, pos_label=0))
    for c, name in enumerate(("other", "phage")):
        assert values[f"recall/{name}"] == pytest.approx(recall_score(labels, pred, labels=[c], average=None)[0])
        assert values[f"predicted_rate/{name}"] == pytest.approx((pred == c).mean())


def test_linear_schedule():
    kw = dict(lr=1e-3, min_lr=0.0, warmup_lr_init=0.0, warmup_steps=10, total_steps=110)
    assert warmup_linear_factor(0, **kw) == 0
    assert warmup_linear_factor(10, **kw) == pytest.approx(1)
    assert warmup_linear_factor(60, **kw) == pytest.approx(0.5)
    assert warmup_linear_factor(110, **kw) == pytest.approx(0)


def test_specs_tokens_split_concat_and_baselines():
    variant = {"model": "bert", "k": 6, "stride": 1, "preset": "bert-tiny", "overrides": {}, "objective": {"name": "kmer_mlm", "k": 6},
               "max_length": 510, "max_tokens": 512, "training": {}, "checkpoint": None}
    study = {"variants": {"virbert": variant}, "transfer": {"checkpoint": None, "variant": "virbert"},
             "lengths": [150, 1000], "label_fractions": [0.1, 0.01],
             "arms": {"pretrained": {"backbone": "virbert", "init": "pretrained"},
                      "supervised": {"backbone": "virbert", "init": "random"},
                      "kmer-LR": {"model": {"name": "kmer-logreg", "k": 6}, "label_fractions": [0.1]}}}
    assert specs.pretraining_spec(variant)["context_length"] == 507  # 505 6-mers + [CLS] + [SEP]
    short = specs.experiment_spec(study, "pretrained", 150, 0.1, "/m")
    assert short["context_length"] == 147 and short["head"]["name"] == "classification"
    assert short["group_column"] == "sample" and short["label_fraction"] == 0.1
    long = specs.experiment_spec(study, "pretrained", 1000, 0.1, "/m")
    assert long["head"]["name"] == "split_concat" and long["context_length"] == 497  # two halves of 500 nt
    random = specs.experiment_spec(study, "supervised", 150, 0.01, None)
    assert random["init"] == "random" and random["model"]["name"] == "bert"
    assert "pooling" not in short["head"]  # the trainer's schema default: the documents' [CLS]
    study["arms"]["supervised"]["head"] = {"pooling": "mean"}
    assert specs.experiment_spec(study, "supervised", 150, 0.01, None)["head"]["pooling"] == "mean"
    assert len(specs.arm_grid(study)) == 2 * 2 + 2 * 2 + 2 * 1
    assert specs.experiment_name("kmer-LR", 150, 1.0) == "kmer-LR_L150_f1"


def test_tables_pivot_and_figure(tmp_path):
    study = {"lengths": [150], "label_fractions": [1.0, 0.1], "transfer": {"checkpoint": None},
             "arms": {"pretrained": {"backbone": "virbert", "init": "pretrained"},
                      "supervised": {"backbone": "virbert", "init": "random"},
                      "kmer-LR": {"model": {"name": "kmer-logreg"}}}}
    rows = []
    for arm, base in (("pretrained", 0.8), ("supervised", 0.7), ("kmer-LR", 0.6)):
        for fraction in (1.0, 0.1):
            for seed in (1, 2, 3):
                for checkpoint in (("last",) if arm == "kmer-LR" else ("best", "last")):
                    for metric, value in (("recall_macro", base + 0.01 * seed), ("f1/phage", base)):
                        rows.append({"study": "virbert", "experiment": f"{arm}_L150_f{fraction:g}", "model": arm,
                                     "init": "x", "seed": seed, "split": "test", "checkpoint": checkpoint,
                                     "metric": metric, "value": value - (0.1 if checkpoint == "last" else 0),
                                     "train_labelled": 10})
    summary = tables.arm_summary(pl.DataFrame(rows))
    hit = summary.filter((pl.col("arm") == "pretrained") & (pl.col("fraction") == 0.1) & (pl.col("metric") == "recall_m"))
    assert hit["mean"][0] == pytest.approx(0.82) and hit["seeds"][0] == 3 and hit["checkpoint"][0] == "best"
    assert summary.filter(pl.col("arm") == "kmer-LR")["checkpoint"].unique().to_list() == ["last"]
    text = tables.pivot_tables(summary, study)
    assert "| pretrained | virBERT | 82.0 ± 1.0 (n=3) | 0.800 ± 0.000 (n=3) | 85.7 | 0.851" in text
    assert "| supervised | supervised-virBERT |" in text and "| 71.8 | 0.710 |" in text
    tables.plot_recall(summary, pl.DataFrame(rows), study, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 10_000


def test_bad_input_names_file_and_record(tmp_path):
    fasta, table, _ = _genome_set(tmp_path, n_families=2, members=1, segments=1)
    text = table.read_text().splitlines()
    text[2] = text[2].replace("true", "maybe")
    table.write_text("\n".join(text) + "\n")
    with pytest.raises(GenolmInputError) as error:
        build_genome_table(viral=None, extra=[(fasta, table)], families=None, split={"train": 0.5, "val": 0.25, "test": 0.25},
                           unit="genome", seed=1, qc=QCCounts("x"))
    assert "g.tsv" in str(error.value) and "line 3" in str(error.value) and "maybe" in str(error.value)


def test_too_few_units_to_split(tmp_path):
    fasta, table, fams = _genome_set(tmp_path, n_families=1, members=2, segments=1)
    with pytest.raises(GenolmInputError, match="too few to split"):
        build_genome_table(viral=None, extra=[(fasta, table)], families=fams, split={"train": 0.7, "val": 0.2, "test": 0.1},
                           unit="family", seed=1, qc=QCCounts("x"))


@pytest.mark.slow
def test_study_end_to_end(e2e_local_run):
    """The tiny e2e config runs the study: every arm's rows, the documents' tables and the figure."""
    results = e2e_local_run / "results"
    table = pl.read_parquet(results / "tables" / "metrics.parquet").filter(pl.col("study") == "virbert")
    experiments = set(table["experiment"])
    assert {"pretrained_L150_f1", "pretrained_L150_f0.1", "supervised_L150_f0.1", "linear_L150_f1",
            "transfer_L150_f1", "kmer-LR_L150_f0.1", "pretrain-virbert", "pretrain-transfer-human"} <= experiments
    test = table.filter((pl.col("split") == "test") & (pl.col("experiment") == "pretrained_L150_f0.1"))
    assert {"recall_macro", "f1/phage", "recall/other", "recall/phage", "predicted_rate/phage"} <= set(test["metric"])
    assert set(test["checkpoint"]) == {"best", "last"}
    assert table.filter(pl.col("experiment") == "transfer_L150_f1")["model"][0].endswith("human-standin")
    text = (results / "tables" / "virbert" / "paper_tables.md").read_text()
    assert "Table 4.1" in text and "Table 4.4" in text and "| pretrained | virBERT |" in text
    assert (results / "plots" / "virbert" / "recall_vs_label_fraction.png").stat().st_size > 10_000
    split = results / "virbert" / "genomes" / "split7"  # the first replicate's split (seed 7)
    qc = pl.read_csv(split / "qc.tsv", separator="\t")
    genomes = pl.read_parquet(split / "genomes.parquet")
    assert qc.filter(pl.col("reason") == "records")["count"].sum() == len(genomes)
    assert genomes.group_by("family").agg(pl.col("split").n_unique())["split"].max() == 1
