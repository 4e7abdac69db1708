"""Study 4 (ENBED): corpus builder, noise model, NT fold protocol, mutation-generation pairs and split, the
sequence-to-sequence path of the trainer (beam search, metrics against an independent Levenshtein, the
decoder-only prefix-LM batches, copy-the-parent), the paper's layer radii and global tokens, the paper tables."""

from __future__ import annotations

import gzip
import itertools
import math
import random
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import torch

from genolm.datasets import benchmarks as benchmark
from genolm.datasets.shards import ShardWriter, read_shards
from genolm.errors import GenolmInputError
from genolm.metrics import generation_metrics
from genolm.models.enbed import Enbed, global_block_size, split_radii
from genolm.models.generation import beam_search
from genolm.qc import QCCounts, read_qc
from genolm.studies.enbed import annotation, corpus, noise, pairs, reconstruction, specs, tables
from genolm.tokenizers.byte import ByteTokenizer

REPO = Path(__file__).resolve().parent.parent


def levenshtein(a: str, b: str) -> int:
    """Textbook dynamic programme, independent of torchmetrics."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


# ---- the paper's architecture details ---------------------------------------------------------------------------
def test_radius_64_in_the_first_three_encoder_layers_then_128():
    assert split_radii(12) == [64] * 3 + [128] * 9
    assert split_radii(24) == [64] * 3 + [128] * 21  # Table 6's ENBED
    assert split_radii(2) == [64, 64]
    assert Enbed.make_config({"preset": "enbed-base"}).local_radius == [64] * 3 + [128] * 9


def test_global_tokens_are_a_count():
    assert global_block_size(16384, 256) == 64  # the paper's input length and k
    assert global_block_size(100, 8) == 13  # ceil: 8 blocks of 13 cover 100 tokens
    assert math.ceil(100 / global_block_size(100, 8)) == 8
    architecture = {"tokenizer": {"name": "byte"}, "model": {"name": "enbed"}, "global_tokens": 4}
    assert specs.architecture_model(architecture, 129)["global_block_size"] == 33


def test_a_radius_cut_to_the_input_computes_the_same_function():
    """covering_radii: radius 64 on a 25-token input attends to what radius 24 does, with the same buckets."""
    assert specs.covering_radii([64, 64], 25) == [24, 24]
    assert specs.covering_radii([64, 64, 64, 128], 25) == [64, 64, 64, 128]  # would merge two bias groups: kept
    assert specs.covering_radii([64, 128], 513) == [64, 128]
    config = {k: v for k, v in TINY_ENBED.items() if k != "name"}
    wide = Enbed(Enbed.make_config(config)).eval()
    cut = Enbed(Enbed.make_config({**config, "local_radius": specs.covering_radii([64, 64], 25)})).eval()
    cut.load_state_dict(wide.state_dict())
    ids = torch.randint(7, 100, (3, 25))
    labels = torch.randint(7, 100, (3, 9))
    with torch.no_grad():
        torch.testing.assert_close(cut(ids, labels=labels).logits, wide(ids, labels=labels).logits)
        narrower = Enbed(Enbed.make_config({**config, "local_radius": [4, 4]})).eval()
        narrower.load_state_dict(wide.state_dict())
        assert not torch.allclose(narrower(ids, labels=labels).logits, wide(ids, labels=labels).logits)


# ---- corpus -----------------------------------------------------------------------------------------------------
def _fasta(path: Path, records: dict[str, str]) -> Path:
    with gzip.open(path, "wt") as handle:
        for name, sequence in records.items():
            handle.write(f">{name} description\n{sequence}\n")
    return path


def test_corpus_removes_n_and_joins_several_assemblies(tmp_path):
    gcf = _fasta(tmp_path / "GCF_000000001.1.fa.gz", {"chr1": "ACGTNNNNacgt", "chr2": "NNTTTT"})
    gca = _fasta(tmp_path / "GCA_000000002.3_genomic.fna.gz", {"c": "GGGGCCCCAAAATT"})
    qc = QCCounts("enbed_corpus")
    table = corpus.corpus_windows([gcf, gca], length=4, max_windows=None, val_fraction=0.0, seed=1, qc=qc)
    windows = table.column("sequence").to_pylist()
    assert windows == ["ACGT", "acgt", "TTTT", "GGGG", "CCCC", "AAAA"]
    assert all("N" not in w.upper() for w in windows)
    assert table.column("sample").to_pylist() == ["GCF_000000001.1"] * 3 + ["GCA_000000002.3"] * 3
    for name, bases in (("GCF_000000001.1", 18), ("GCA_000000002.3", 14)):
        parts = sum(qc.get(r, name) for r in ("n_removed", "bases_in_windows", "tail_bases", "bases_not_drawn"))
        assert parts == qc.get("bases", name) == bases
    assert qc.get("n_removed", "GCF_000000001.1") == 6


def test_corpus_draws_windows_and_a_val_split(tmp_path):
    genome = _fasta(tmp_path / "GCF_000000003.1.fa.gz", {"x": "ACGT" * 100})
    qc = QCCounts("enbed_corpus")
    table = corpus.corpus_windows([genome], length=8, max_windows=20, val_fraction=0.25, seed=3, qc=qc)
    assert table.num_rows == 20 and table.column("split").to_pylist().count("val") == 5
    assert qc.get("bases_not_drawn", "GCF_000000003.1") == 30 * 8


def test_corpus_rejects_an_empty_assembly(tmp_path):
    empty = _fasta(tmp_path / "GCF_000000004.1.fa.gz", {"x": ""})
    with pytest.raises(GenolmInputError, match="empty assembly"):
        corpus.corpus_windows([empty], length=4, max_windows=None, val_fraction=0, seed=1, qc=QCCounts("c"))


# ---- reconstruction pairs ---------------------------------------------------------------------------------------
def test_infilling_masks_spans_with_one_n_each_and_keeps_the_rest_in_order():
    generator = torch.Generator().manual_seed(5)
    target = "ACGTTGCAACGTTGCAACGTTGCA"
    source, masked, spans = reconstruction.infill(target, 0.25, 2, generator)
    assert masked == 6 and spans == 3 and source.count("N") == spans
    assert len(source) == len(target) - masked + spans
    # Every kept base is the target's, in order: a subsequence once the Ns are dropped.
    kept = iter(target)
    assert all(base in kept for base in source.replace("N", ""))
    assert reconstruction.infill(target, 0, 2, generator) == (target, 0, 0)  # density 0: pure reconstruction


def test_reconstruction_pairs_come_from_the_corpus_splits(tmp_path):
    rng = random.Random(3)
    windows = ["".join(rng.choice("ACGT") for _ in range(64)) for _ in range(12)]
    from genolm.datasets.shards import SEQUENCE_SCHEMA

    rows = [{"sequence": w, "label": None, "sample": "g", "split": "train" if i < 8 else "val", "window_id": i}
            for i, w in enumerate(windows)]
    with ShardWriter(tmp_path / "corpus", dataset="c", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=SEQUENCE_SCHEMA))
    reconstruction.write_reconstruction_dataset(tmp_path / "corpus", tmp_path / "out", tmp_path / "qc.tsv", length=16,
                                                train=20, val=3, test=5, noise_density=0.15, mean_span_length=3, seed=2)
    train_pieces = {w[i : i + 16] for w in windows[:8] for i in range(0, 64, 16)}
    val_pieces = {w[i : i + 16] for w in windows[8:] for i in range(0, 64, 16)}
    out = {split: read_shards(tmp_path / "out", split) for split in ("train", "val", "test")}
    assert [out[s].num_rows for s in ("train", "val", "test")] == [20, 3, 5]
    assert set(out["train"].column("target_sequence").to_pylist()) <= train_pieces
    held_out = out["val"].column("target_sequence").to_pylist() + out["test"].column("target_sequence").to_pylist()
    assert set(held_out) <= val_pieces and len(set(held_out)) == 8  # val and test never share a piece
    for source, target in zip(out["train"].column("sequence").to_pylist(), out["train"].column("target_sequence").to_pylist()):
        assert "N" in source and "N" not in target and len(source) < len(target)
    qc = {(r["reason"], r["detail"]): r["count"] for r in read_qc(tmp_path / "qc.tsv").iter_rows(named=True)}
    assert qc["pieces", "train"] == 20 and qc["pieces_unused", "corpus val"] == 16 - 8
    assert qc["pieces_unused", "corpus train"] == 32 - 20
    with pytest.raises(GenolmInputError, match="asked for"):
        reconstruction.write_reconstruction_dataset(tmp_path / "corpus", tmp_path / "o2", tmp_path / "q2.tsv", length=16,
                                                    train=33, val=1, test=1, noise_density=0.15, mean_span_length=3, seed=2)


def test_reconstruction_spec_pretrains_the_generating_arms_and_their_experiments_load_it():
    study = {"architectures": {"enbed": {"tokenizer": {"name": "byte"}, "global_tokens": 8, "pretrain": False,
                                         "model": {"name": "enbed", "local_radius": [64, 64]}},
                               "dec": {"tokenizer": {"name": "byte"}, "global_tokens": None, "pretrain": False,
                                       "model": {"name": "enbed-decoder"}}},
             "mutation_generation": {"enabled": True, "length": 24, "num_beams": 5,
                                     "reconstruction": {"training": {"max_steps": 7}},
                                     "experiments": {"E": {"architecture": "enbed", "init": "pretrained"},
                                                     "D": {"architecture": "dec", "init": "pretrained"},
                                                     "R": {"architecture": "enbed", "init": "random"},
                                                     "copy": {"model": {"name": "copy-parent"}}}}}
    assert specs.reconstruction_architectures(study) == ["enbed", "dec"]
    spec = specs.reconstruction_spec(study, "enbed")
    assert spec["head"]["name"] == "generation" and spec["init"] == "random" and spec["context_length"] == 25
    assert spec["model"]["local_radius"] == [24, 24] and spec["model"]["global_block_size"] == 4
    assert spec["training"] == {"max_steps": 7}
    study["mutation_generation"]["reconstruction"] = None
    assert specs.reconstruction_architectures(study) == []


# ---- function annotation (Table 4) ------------------------------------------------------------------------------
def _gtf_line(chrom, feature, start, end, strand, gene, transcript_biotype=None, gene_biotype="lncRNA", extra=""):
    attrs = f'gene_id "{gene}"; gene_version "1"; gene_biotype "{gene_biotype}";'
    if transcript_biotype:
        attrs += f' transcript_id "T{gene}"; transcript_biotype "{transcript_biotype}"; tag "basic"; tag "Ensembl_canonical";'
    return "\t".join([chrom, "havana", feature, str(start), str(end), ".", strand, "0" if feature == "CDS" else ".",
                      attrs + extra]) + "\n"


def test_gtf_reader_parses_ensembl_attributes_and_rejects_bad_lines(tmp_path):
    from genolm.sources.gtf import parse_attributes, read_gtf, ucsc_name

    attrs = parse_attributes('gene_id "ENSG1"; exon_number 2; tag "basic"; tag "CCDS"; gene_name "A B";')
    assert attrs == {"gene_id": "ENSG1", "exon_number": "2", "tag": "basic", "gene_name": "A B"}
    path = tmp_path / "a.gtf.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("#!genome-build GRCh38.p14\n" + _gtf_line("1", "exon", 3, 8, "-", "G1", "snoRNA"))
    (record,) = read_gtf(path)
    assert (record.seqname, record.feature, record.start, record.end, record.length) == ("1", "exon", 3, 8, 6)
    assert record.attributes["transcript_biotype"] == "snoRNA" and record.attributes["tag"] == "basic"
    assert [ucsc_name(n) for n in ("1", "X", "MT", "chr2")] == ["chr1", "chrX", "chrM", "chr2"]
    (tmp_path / "bad.gtf").write_text("1\thavana\texon\t9\t3\t.\t+\t.\tgene_id \"G\";\n")
    with pytest.raises(GenolmInputError, match="line 1: start 9, end 3"):
        list(read_gtf(tmp_path / "bad.gtf"))
    (tmp_path / "short.gtf").write_text("1\thavana\texon\t1\t3\n")
    with pytest.raises(GenolmInputError, match="5 tab-separated fields"):
        list(read_gtf(tmp_path / "short.gtf"))


def test_annotation_fragments_follow_strand_class_and_gene(tmp_path):
    rng = random.Random(1)
    chrom = "".join(rng.choice("ACGT") for _ in range(4000))
    lines = []
    for g in range(6):  # per class: 6 genes, 2 of them exons repeated in a second transcript
        base = 100 + g * 600
        lines.append(_gtf_line("1", "CDS", base, base + 59, "+", f"P{g}", "protein_coding", "protein_coding"))
        lines.append(_gtf_line("1", "exon", base, base + 59, "+", f"P{g}", "protein_coding", "protein_coding"))
        lines.append(_gtf_line("1", "exon", base + 100, base + 149, "-", f"S{g}", "snoRNA", "snoRNA"))
        lines.append(_gtf_line("1", "exon", base + 100, base + 149, "-", f"S{g}", "snoRNA", "snoRNA"))
        lines.append(_gtf_line("1", "exon", base + 200, base + 499, "+", f"L{g}", None, "lncRNA"))  # gene biotype only
    lines.append(_gtf_line("1", "exon", 3900, 3905, "+", "tiny", "snoRNA", "snoRNA"))  # shorter than min_length
    lines.append(_gtf_line("5", "exon", 10, 60, "+", "elsewhere", "snoRNA", "snoRNA"))  # chromosome not in assembly
    (tmp_path / "a.gtf").write_text("".join(lines))
    _fasta(tmp_path / "genome.fa.gz", {"chr1 UCSC-named": chrom})
    qc = QCCounts("enbed_annotation")
    table = annotation.annotation_table(tmp_path / "a.gtf", tmp_path / "genome.fa.gz", classes=("CDS", "snoRNA", "lncRNA"),
                                        min_length=20, max_length=100, max_per_class=None, val_fraction=0.2,
                                        test_fraction=0.2, seed=3, qc=qc)
    rows = table.to_pylist()
    by_gene = {r["sample"]: r for r in rows}
    assert by_gene["P0"]["label"] == 0 and by_gene["P0"]["sequence"] == chrom[99:159]
    assert by_gene["S1"]["label"] == 1 and by_gene["S1"]["sequence"] == annotation.reverse_complement(chrom[799:849])
    lnc = by_gene["L2"]["sequence"]  # 300 bases cut to a 100-base window of the exon
    assert by_gene["L2"]["label"] == 2 and len(lnc) == 100 and lnc in chrom[1499:1799]
    assert qc.get("features_repeated", "snoRNA") == 6 and qc.get("shorter_than_min_length", "snoRNA") == 1
    assert qc.get("chromosome_not_in_assembly", "chr5") == 1 and qc.get("cut_to_max_length", "lncRNA") == 6
    counts = {(r["split"], r["label"]) for r in rows}
    assert len(counts) == 9  # every class in every split
    for split in ("train", "val", "test"):  # balanced
        labels = [r["label"] for r in rows if r["split"] == split]
        assert labels.count(0) == labels.count(1) == labels.count(2) >= 1
    splits_of_gene = {}
    for r in rows:
        splits_of_gene.setdefault(r["sample"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_of_gene.values())
    with pytest.raises(GenolmInputError, match="no fragment of class"):
        annotation.annotation_table(tmp_path / "a.gtf", tmp_path / "genome.fa.gz", classes=("CDS", "miRNA"),
                                    min_length=20, max_length=100, max_per_class=None, val_fraction=0.2,
                                    test_fraction=0.2, seed=3, qc=QCCounts("x"))


def test_demo_annotation_regenerates_byte_for_byte_and_keeps_its_planted_signal(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, str(REPO / "scripts/make_demo_enbed_annotation.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    shipped = REPO / "data/demo/enbed/annotation"
    for name in ("Homo_sapiens.demo.gtf.gz", "Homo_sapiens.demo.dna.toplevel.fa.gz"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name
    classes = ("CDS", "snoRNA", "miRNA")
    table = annotation.annotation_table(shipped / "Homo_sapiens.demo.gtf.gz",
                                        shipped / "Homo_sapiens.demo.dna.toplevel.fa.gz", classes=classes,
                                        min_length=20, max_length=512, max_per_class=None, val_fraction=0.1,
                                        test_fraction=0.1, seed=1, qc=QCCounts("x")).to_pylist()
    snornas = [r["sequence"] for r in table if r["label"] == 1]
    assert all(s[6:12] == "TGATGA" and "CTGA" in s[-11:] for s in snornas)  # box C after the stem, box D at the end
    cds = [r["sequence"] for r in table if r["label"] == 0]
    assert all(len(s) % 3 == 0 and not any(s[i : i + 3] in ("TAA", "TAG", "TGA") for i in range(3, len(s) - 3, 3))
               for s in cds)  # whole codons, no stop codon inside a coding exon's frame
    gc3 = np.mean([b in "GC" for s in cds for b in s[2::3]])
    assert gc3 > 0.65  # GC3-rich codon usage


# ---- noise model ------------------------------------------------------------------------------------------------
def test_noise_model_counts_follow_the_mixture_and_are_seeded():
    model = noise.NoiseModel()
    draws = [model.error_count(np.random.default_rng(s)) for s in range(4000)]
    expected = model.weight_low * model.mean_low + (1 - model.weight_low) * model.mean_high  # 3.8 before max(1, .)
    assert min(draws) >= 1
    assert expected < np.mean(draws) < expected + 0.5  # the floor at one error adds a little
    sequence = "ACGT" * 40
    first = [model.corrupt(sequence, np.random.default_rng(7)) for _ in range(2)]
    assert first[0] == first[1]
    kinds = {"substitution": 0, "insertion": 0, "deletion": 0}
    for s in range(2000):
        _, counts = model.corrupt(sequence, np.random.default_rng(s))
        for kind, n in counts.items():
            kinds[kind] += n
    total = sum(kinds.values())
    assert 0.66 < kinds["substitution"] / total < 0.74
    assert 0.12 < kinds["insertion"] / total < 0.18 and 0.12 < kinds["deletion"] / total < 0.18


def test_noise_dataset_is_balanced_with_fixed_length(tmp_path):
    rows = {"sequence": ["ACGTTGCA" * 40] * 20 + ["TTGCAACG" * 40] * 6, "label": [None] * 26, "sample": ["a"] * 26,
            "split": ["train"] * 20 + ["val"] * 6, "window_id": list(range(26))}
    from genolm.datasets.shards import SEQUENCE_SCHEMA

    with ShardWriter(tmp_path / "corpus", dataset="c", provenance={}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(pa.Table.from_pydict(rows, schema=SEQUENCE_SCHEMA))
    noise.write_noise_dataset(tmp_path / "corpus", tmp_path / "noise", tmp_path / "qc.tsv", length=64, margin=16,
                              train=60, val=20, test=20, seed=5, model=noise.NoiseModel())
    train = read_shards(tmp_path / "noise", "train").to_pandas()
    assert set(train["sequence"].str.len()) == {64}
    for split in ("train", "val", "test"):  # balanced within every split
        labels = np.bincount(read_shards(tmp_path / "noise", split).column("label").to_numpy(), minlength=2)
        assert labels[0] == labels[1], (split, labels)
    qc = read_qc(tmp_path / "qc.tsv")
    assert qc.filter(pl.col("reason") == "segments")["count"].sum() == 100


# ---- benchmarks: the NT fold protocol ---------------------------------------------------------------------------
def test_nt_folds_partition_the_training_set_and_keep_test_fixed():
    table = pl.DataFrame({"split": ["train"] * 30 + ["test"] * 7, "label": [0] * 20 + [1] * 10 + [0] * 7})
    vals = []
    for fold in range(1, 4):
        split = benchmark.benchmark_splits(table, folds=3, fold=fold, val_fraction=0, seed=2)
        assert (split[30:] == "test").all()
        val = np.flatnonzero(split == "val")
        assert len(val) == 10 and table["label"].to_numpy()[val].sum() in (3, 4)  # stratified by label
        vals.append(set(val.tolist()))
    assert set().union(*vals) == set(range(30)) and sum(map(len, vals)) == 30  # disjoint folds covering train
    with pytest.raises(ValueError, match="fold must be in 1..3"):
        benchmark.benchmark_splits(table, folds=3, fold=4, val_fraction=0, seed=2)


# ---- mutation-generation pairs ----------------------------------------------------------------------------------
def test_pairs_keep_clades_and_similar_clades_on_one_side(tmp_path):
    rng = random.Random(1)
    fasta, rows = [], ["parent\tchild\tclade"]
    base = "".join(rng.choice("ACGT") for _ in range(60))
    for c in range(12):
        root = base[:-1] + "A" if c < 2 else "".join(rng.choice("ACGT") for _ in range(60))  # clades 0, 1 ~ identical
        fasta.append((f"r{c}", root))
        for k in range(3):
            fasta.append((f"r{c}_{k}", root[:10] + "T" + root[11:]))
            rows.append(f"r{c}\tr{c}_{k}\tclade{c}")
    rows.append("r0\tmissing\tclade0")
    (tmp_path / "s.fa").write_text("".join(f">{n}\n{s}\n" for n, s in fasta))
    (tmp_path / "p.tsv").write_text("\n".join(rows) + "\n")
    qc = QCCounts("enbed_pairs")
    table = pairs.build_pairs(tmp_path / "s.fa", tmp_path / "p.tsv", region=(5, 45), similarity_threshold=0.95,
                              fractions={"test": 0.25, "val": 0.1}, seed=3, qc=qc).to_pandas()
    assert set(table["sequence"].str.len()) == {40}
    assert table.groupby("sample")["split"].nunique().max() == 1  # a unit is never split
    assert qc.get("pairs_dropped", "id_not_in_fasta") == 1
    assert sum(qc.get("pairs", s) for s in ("train", "val", "test")) == len(table) == 36
    assert table["sample"].nunique() == 11 and "clade1" not in set(table["sample"])  # clade 1 merged into clade 0
    assert set(table["split"]) == {"train", "val", "test"}


def test_pairs_table_needs_its_columns(tmp_path):
    (tmp_path / "p.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(GenolmInputError, match="parent, child, clade|clade, parent"):
        pairs.read_pairs_table(tmp_path / "p.tsv")


# ---- sequence-to-sequence metrics and beam search ---------------------------------------------------------------
def test_generation_metrics_match_an_independent_levenshtein():
    rng = random.Random(5)
    targets = ["".join(rng.choice("ACGT") for _ in range(rng.randint(5, 30))) for _ in range(40)]
    candidates = []
    for t in targets:
        mutated = list(t)
        for _ in range(rng.randint(0, 3)):
            op = rng.random()
            i = rng.randrange(len(mutated) + 1)
            if op < 0.4 and i < len(mutated):
                mutated[i] = rng.choice("ACGT")
            elif op < 0.7:
                mutated.insert(i, "G")
            elif i < len(mutated):
                del mutated[i]
        candidates.append(["".join(mutated), t, "A"])
    out = generation_metrics(candidates, targets, top_k=[2, 5])
    distances = [levenshtein(c[0], t) for c, t in zip(candidates, targets)]
    assert out["levenshtein_mean"] == pytest.approx(np.mean(distances))
    assert out["levenshtein_median"] == pytest.approx(np.median(distances))
    assert out["exact_match_top1"] == pytest.approx(np.mean([c[0] == t for c, t in zip(candidates, targets)]))
    assert out["exact_match_top2"] == out["exact_match_top5"] == 1.0


def test_beam_search_finds_the_most_probable_sequences():
    """A next-token distribution depending on the prefix; with more beams than hypotheses the search is
    exhaustive, so its first candidate must be brute force's best (log-probability per generated token)."""
    vocab, end, pad = 4, 1, 0
    table = torch.randn(vocab, vocab, generator=torch.Generator().manual_seed(0)) * 2
    boost = torch.tensor([0, 3.0, 0, 0])  # the end token gets likelier as the prefix grows

    def logits(prefix: list[int]) -> torch.Tensor:
        return table[prefix[-1]] + boost * (len(prefix) - 1)

    def step(prefixes):
        return torch.stack([logits(p) for p in prefixes.tolist()])

    beams = beam_search(step, torch.tensor([[2]]), num_beams=64, max_new_tokens=3, end_id=end, pad_id=pad)[0]
    scored = []
    for length in range(1, 4):
        for tokens in itertools.product(range(vocab), repeat=length):
            if end in tokens[:-1] or (length < 3 and tokens[-1] != end):
                continue
            prefix, total = [2], 0.0
            for t in tokens:
                total += float(torch.log_softmax(logits(prefix), -1)[t])
                prefix.append(t)
            scored.append((total / length, [t for t in tokens if t != end]))
    assert beams[0] == max(scored)[1]


# ---- the trainer's sequence-to-sequence path --------------------------------------------------------------------
def test_prefix_lm_batches_score_only_the_target():
    from genolm.heads.generation import PairCollator

    tokenizer = ByteTokenizer()
    batch = PairCollator(tokenizer, 16, causal=True)([("AC", "GTT"), ("ACGT", "G")])
    ids, labels = batch["input_ids"], batch["labels"]
    a = ord("A") + 3
    assert ids[0].tolist()[:7] == [a, a + 2, 1, ord("G") + 3, ord("T") + 3, ord("T") + 3, 1]
    # the prompt's end token (position 2) predicts the target's first base; the prompt itself is not scored
    assert labels[0].tolist()[:7] == [-100, -100, ord("G") + 3, ord("T") + 3, ord("T") + 3, 1, -100]
    assert labels[1].tolist() == [-100] * 4 + [ord("G") + 3, 1] + [-100] * 1
    seq2seq = PairCollator(tokenizer, 16, causal=False)([("AC", "GTT")])
    assert seq2seq["labels"][0].tolist() == [ord("G") + 3, ord("T") + 3, ord("T") + 3, 1]


def _pair_shards(path: Path, n: int = 40) -> Path:
    from genolm.studies.enbed.pairs import PAIR_SCHEMA

    rng = random.Random(0)
    rows = []
    for i in range(n):
        parent = "".join(rng.choice("ACGT") for _ in range(12))
        child = parent[:3] + ("A" if parent[3] == "T" else "T") + parent[4:]
        rows.append({"sequence": parent, "label": None, "sample": f"c{i % 5}", "target_sequence": child,
                     "split": "train" if i < n - 10 else ("val" if i < n - 5 else "test"), "window_id": i})
    with ShardWriter(path, dataset="pairs", provenance={}, schema=PAIR_SCHEMA) as writer:
        writer.write(pa.Table.from_pylist(rows, schema=PAIR_SCHEMA))
    return path


TINY_ENBED = {"name": "enbed", "d_model": 16, "d_kv": 8, "d_ff": 32, "num_heads": 2, "num_encoder_layers": 2,
              "num_decoder_layers": 1, "local_radius": [64, 64], "global_block_size": 4}
TRAINING = {"max_steps": 2, "batch_size": 8, "val_every_n_steps": 2, "checkpoint_every_n_steps": 2, "warmup_fraction": 0.5,
            "schedule": "linear", "eps": 1e-6}


@pytest.mark.parametrize("model", [TINY_ENBED, {"name": "enbed-decoder", "d_model": 16, "d_kv": 8, "d_ff": 32,
                                                "num_heads": 2, "num_layers": 2}, {"name": "copy-parent"}])
def test_generation_jobs_write_generation_metrics(tmp_path, model):
    from genolm.training.trainer import train, validate_spec

    shards = _pair_shards(tmp_path / "pairs")
    spec = validate_spec({"tokenizer": {"name": "byte"}, "model": model, "head": {"name": "generation", "num_beams": 3,
                          "top_k": [3]}, "context_length": 16, "training": TRAINING})
    train(spec, shards=shards, job_dir=tmp_path / "job", seed=1, plots=tmp_path / "job", context={"experiment": "x"})
    rows = pl.read_parquet(tmp_path / "job" / "metrics.parquet").filter(pl.col("split") == "test")
    metrics = set(rows["metric"])
    assert {"exact_match_top1", "exact_match_top3", "levenshtein_mean", "levenshtein_median"} <= metrics
    if model["name"] == "copy-parent":  # every child differs from its parent by one substitution
        values = dict(zip(rows["metric"], rows["value"]))
        assert values["exact_match_top1"] == 0 and values["levenshtein_mean"] == 1.0
    else:
        assert set(rows["checkpoint"]) == {"best", "last"}
    predictions = pl.read_parquet(tmp_path / "job" / "predictions.parquet")
    assert predictions["candidates"].list.len().max() <= 3


def test_a_generation_head_needs_a_generating_model(tmp_path):
    from genolm.training.trainer import prepare, validate_spec

    shards = _pair_shards(tmp_path / "pairs")
    spec = validate_spec({"tokenizer": {"name": "byte"}, "model": {"name": "cnn", "channels": [8], "dropout": [0.1]},
                          "head": {"name": "generation"}, "context_length": 16})
    with pytest.raises(GenolmInputError, match="generation head needs"):
        prepare(spec, shards=shards, seed=1)
    spec = validate_spec({"tokenizer": {"name": "byte"}, "model": {"name": "copy-parent"},
                          "head": {"name": "classification", "label_names": ["a", "b"]}, "context_length": 16})
    with pytest.raises(GenolmInputError, match="row 0: split .train.: no label"):  # pairs have no class labels
        prepare(spec, shards=shards, seed=1)


def test_gradual_unfreezing_of_a_classifier_starts_at_the_encoder_top():
    from genolm import models
    from genolm.training.init_modes import GradualUnfreezing

    backbone = models.build("enbed", {k: v for k, v in TINY_ENBED.items() if k != "name"}, tokenizer=ByteTokenizer())
    callback = GradualUnfreezing(backbone, 1, groups=backbone.encoder_layer_groups())
    callback.apply(1)
    top = backbone.hf.encoder.final_layer_norm.weight
    assert top.requires_grad
    assert not any(p.requires_grad for p in backbone.hf.encoder.block[0].parameters())


# ---- paper tables -----------------------------------------------------------------------------------------------
def test_paper_tables_pivot_mean_and_sd_over_seeds(tmp_path):
    from genolm.results import metric_rows

    frames = []
    for seed, top1 in ((1, 0.5), (2, 0.7)):
        for name, checkpoint in (("ENBED", "best"), ("copy-parent", "last")):
            context = {"study": "enbed", "task": "mutation_generation", "experiment": f"mutation_generation/{name}",
                       "model": name, "seed": seed}
            values = {f"test@{checkpoint}/exact_match_top1": top1 if name == "ENBED" else 0.1,
                      f"test@{checkpoint}/levenshtein_mean": 1.0}
            if checkpoint == "best":
                values["test@last/exact_match_top1"] = 0.0  # must not be read: best exists
            frames.append(metric_rows(context, values, ""))
    metrics = pl.concat(frames)
    summary = tables.summarize(tables.study_rows(metrics))
    assert tables.cell(summary, "mutation_generation", "ENBED", "exact_match_top1") == "60.0 ± 14.1 (n=2)"
    document = tables.paper_tables(summary)
    assert "Table 5" in document and "76.9" in document and "copy-parent" in document
    tables.write_outputs(metrics, tmp_path / "tables", tmp_path / "plots")
    assert (tmp_path / "plots" / "mutation_generation.png").stat().st_size > 1000


def test_paper_tables_pivot_nt_folds_from_the_fold_column():
    """The NT protocol's runs share experiment and seed; the fold column tells them apart: mean ± SD over folds."""
    from genolm.results import metric_rows

    frames = [metric_rows({"study": "enbed", "task": "demo_promoter", "experiment": "demo_promoter/ENBED",
                           "model": "enbed", "seed": 1, "fold": fold},
                          {"test@best/mcc": mcc, "test@last/mcc": -1.0}, "") for fold, mcc in ((1, 0.2), (2, 0.4), (3, 0.6))]
    rows = tables.study_rows(pl.concat(frames))
    assert sorted(rows["run"].to_list()) == ["fold1", "fold2", "fold3"]
    summary = tables.summarize(rows)
    assert tables.cell(summary, "demo_promoter", "ENBED", "mcc") == "0.400 ± 0.200 (n=3)"


@pytest.mark.slow
def test_enbed_runs_end_to_end_on_the_tiny_config(e2e_local_run):
    """The study through the workflow (tests/e2e/config.yaml): every run's rows, and the paper tables."""
    from genolm.results import read_metrics

    runs = sorted((e2e_local_run / "results/enbed/runs").glob("*/*/*/metrics.parquet"))
    # ((mutation generation + noise) x 2 experiments + function annotation's k-mer LR + ENBED's candidates ranked by
    # the noise classifier) x the e2e config's 2 seeds
    assert len(runs) == 2 * 6
    rows = pl.concat([read_metrics(p) for p in runs])
    ranked = rows.filter(pl.col("experiment") == "mutation_generation/ENBED+noise-rank")
    beams = rows.filter(pl.col("experiment") == "mutation_generation/ENBED")
    assert ranked["seed"].unique().sort().to_list() == [7, 8]
    top = [f"exact_match_top{k}" for k in (2,)]  # all the candidates: the ranking cannot change it
    key = ["seed", "split", "checkpoint", "metric"]
    assert ranked.filter(pl.col("metric").is_in(top)).sort(key)["value"].to_list() == \
        beams.filter(pl.col("metric").is_in(top)).sort(key)["value"].to_list()
    generation = rows.filter((pl.col("task") == "mutation_generation") & (pl.col("split") == "test"))
    assert {"exact_match_top1", "exact_match_top2", "levenshtein_mean"} <= set(generation["metric"])
    assert set(rows["experiment"]) >= {"mutation_generation/ENBED", "mutation_generation/copy-parent",
                                       "mutation_generation/ENBED+noise-rank",
                                       "noise_identification/ENBED", "noise_identification/kmer-LR",
                                       "function_annotation/kmer-LR"}
    document = (e2e_local_run / "results/tables/enbed/paper_tables.md").read_text()
    assert "Table 5" in document and "Table 3" in document and "Table 4" in document
    assert (e2e_local_run / "results/plots/enbed/mutation_generation.png").is_file()
    # the paper's Figure 2: the pretrained model's heads (tiny: over a 32-base window and its end-of-sequence byte)
    assert (e2e_local_run / "results/plots/enbed/attention_enbed.png").is_file()
    assert np.load(e2e_local_run / "results/enbed/attention/enbed.npz")["maps"].shape[1:] == (33, 33)


def test_demo_pairs_regenerate_byte_for_byte(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, str(REPO / "scripts/make_demo_enbed.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("sequences.fasta", "pairs.tsv"):
        assert (tmp_path / name).read_bytes() == (REPO / "data/demo/enbed" / name).read_bytes()


# ---- candidates ranked by the noise classifier (genolm.studies.enbed.ranking) ------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from genolm.studies.enbed import ranking  # noqa: E402


def _generation_predictions(rows):
    return pl.DataFrame({"split": ["test"] * len(rows), "checkpoint": ["best"] * len(rows),
                         "index": list(range(len(rows))), "target": [t for t, _ in rows],
                         "candidates": [c for _, c in rows]}, schema_overrides={"candidates": pl.List(pl.Utf8)})


def test_candidates_least_likely_noisy_come_first_and_ties_keep_beam_order():
    predictions = _generation_predictions([("ACGT", ["ACGA", "ACGT", "ACGC"]), ("TTTT", ["TTTT", "TTTA", "TTAA"])])
    # example 0: the true child (beam 2) is the least noisy; example 1: a tie keeps the beam order
    ranked = ranking.rank_predictions(predictions, np.array([0.9, 0.1, 0.5, 0.3, 0.3, 0.8]))
    assert ranked["candidates"].to_list() == [["ACGT", "ACGC", "ACGA"], ["TTTT", "TTTA", "TTAA"]]
    assert ranked["noise_probability"].to_list() == [[0.1, 0.5, 0.9], [0.3, 0.3, 0.8]]
    before, after = ranking.ranked_metrics(predictions), ranking.ranked_metrics(ranked)
    assert before["test@best/exact_match_top1"] == 0.5 and after["test@best/exact_match_top1"] == 1.0
    assert before["test@best/exact_match_top3"] == after["test@best/exact_match_top3"] == 1.0
    assert after["test@best/examples"] == 2.0
    with pytest.raises(ValueError, match="5 probabilities for 6 candidates"):
        ranking.rank_predictions(predictions, np.zeros(5))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.text("ACGT", min_size=1, max_size=6),
                          st.lists(st.text("ACGT", min_size=1, max_size=6), min_size=1, max_size=5)),
                min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_ranking_permutes_each_examples_candidates_and_keeps_top_k(rows, rnd):
    predictions = _generation_predictions(rows)
    probabilities = np.array([rnd.random() for _, c in rows for _ in c])
    ranked = ranking.rank_predictions(predictions, probabilities)
    for (_, candidates), reordered, scores in zip(rows, ranked["candidates"].to_list(), ranked["noise_probability"].to_list()):
        assert sorted(reordered) == sorted(candidates) and scores == sorted(scores)
    k = max(len(c) for _, c in rows)
    expected = generation_metrics([c for _, c in rows], [t for t, _ in rows], top_k=(k,))[f"exact_match_top{k}"]
    assert ranking.ranked_metrics(ranked)[f"test@best/exact_match_top{k}"] == expected


def test_ranking_refuses_predictions_that_are_not_a_generation_jobs(tmp_path):
    path = tmp_path / "predictions.parquet"
    pl.DataFrame({"split": ["test"], "checkpoint": ["best"], "index": [0], "label": [1]}).write_parquet(path)
    with pytest.raises(GenolmInputError, match="predictions.parquet: not a generation job's predictions: no column target"):
        ranking.read_predictions(path)
