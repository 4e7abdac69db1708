"""Zero-shot variant scores (genolm.inference.variants): the causal LLR against a brute-force sum of token
log-probabilities, antisymmetry, strand symmetry, indels and MNVs, the masked marginal and span infilling
computed by hand, and the QC table."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from genolm import models, tokenizers
from genolm.errors import GenolmInputError
from genolm.inference.variants import score_variants
from genolm.sources.fasta import reverse_complement
from genolm.qc import QCCounts, read_qc
from genolm.sources.reference import ReferenceGenome
from conftest import TINY_HYENADNA, run_genolm
from zoo_util import zoo_test_setup  # noqa: F401 (autouse fixture: seeded, one thread)

LENGTH = 400
WINDOW = 41  # odd: an SNV gets 20 bases on each side


def random_chromosome(seed: int = 1) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(LENGTH))


def write_reference(path: Path, chromosomes: dict[str, str]) -> ReferenceGenome:
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in chromosomes.items()))
    return ReferenceGenome(path)


def write_variants(path: Path, rows: list[tuple[str, int, str, str]]) -> Path:
    pl.DataFrame({"sample": ["s"] * len(rows), "chrom": [r[0] for r in rows], "pos": [r[1] for r in rows],
                  "ref": [r[2] for r in rows], "alt": [r[3] for r in rows]},
                 schema={"sample": pl.Utf8, "chrom": pl.Utf8, "pos": pl.Int64, "ref": pl.Utf8, "alt": pl.Utf8}
                 ).write_parquet(path)
    return path


def tiny_hyenadna():
    config = {k: v for k, v in TINY_HYENADNA.items() if k != "name"}
    return models.build("hyenadna", config).eval(), tokenizers.build("character")


def tiny_bert(k: int = 3):
    tokenizer = tokenizers.build("kmer", k=k)
    model = models.build("bert", {"preset": "bert-tiny", "hidden_size": 32, "num_hidden_layers": 1,
                                  "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64},
                         tokenizer=tokenizer)
    return model.eval(), tokenizer


def tiny_enbed():
    tokenizer = tokenizers.build("byte")
    model = models.build("enbed", {"preset": "enbed-small", "d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 2,
                                   "num_encoder_layers": 2, "num_decoder_layers": 1, "local_radius": [8, 8],
                                   "global_block_size": 4}, tokenizer=tokenizer)
    return model.eval(), tokenizer


def score(model, tokenizer, tmp_path: Path, reference: ReferenceGenome, rows, *, strands="both", name="v") -> pl.DataFrame:
    qc = QCCounts("score_variants")
    variants = write_variants(tmp_path / f"{name}.parquet", rows)
    return score_variants(model, tokenizer, variants, reference, window=WINDOW, strands=strands, qc=qc)


def windows(chromosome: str, pos: int, ref: str, alt: str, window: int = WINDOW) -> tuple[str, str]:
    """The definition, written again: equal flanks of (window - longer allele) // 2 bases around REF."""
    flank = (window - max(len(ref), len(alt))) // 2
    start = pos - 1
    left, right = chromosome[start - flank : start], chromosome[start + len(ref) : start + len(ref) + flank]
    return left + ref + right, left + alt + right


@torch.no_grad()
def brute_force_log_prob(model, tokenizer, sequence: str) -> float:
    """Sum over tokens 1.. of log p(token | the tokens before it): one unpadded forward for this sequence alone."""
    ids = torch.as_tensor(tokenizer.encode(sequence, add_special_tokens=False))[None]
    logits = model(ids).logits[0].double()
    total = 0.0
    for t in range(1, ids.shape[1]):
        total += float(torch.log_softmax(logits[t - 1], dim=-1)[ids[0, t]])
    return total


CHROM = random_chromosome()
# An SNV, an MNV, an insertion and a deletion (VCF style, with their padding base), far apart.
SNV = ("chr1", 100, CHROM[99], "ACGT"[("ACGT".index(CHROM[99]) + 1) % 4])
MNV = ("chr1", 160, CHROM[159:162], "".join("ACGT"[("ACGT".index(b) + 2) % 4] for b in CHROM[159:162]))
INSERTION = ("chr1", 220, CHROM[219], CHROM[219] + "TTAG")
DELETION = ("chr1", 300, CHROM[299:305], CHROM[299])


def tiny_enbed_decoder():
    tokenizer = tokenizers.build("byte")
    model = models.build("enbed-decoder", {"preset": "enbed-small-decoder", "d_model": 32, "d_kv": 8, "d_ff": 64,
                                           "num_heads": 2, "num_layers": 2}, tokenizer=tokenizer)
    return model.eval(), tokenizer


@pytest.mark.parametrize("build", [tiny_hyenadna, tiny_enbed_decoder], ids=["hyenadna", "enbed-decoder"])
def test_causal_llr_is_a_brute_force_sum_of_token_log_probabilities(tmp_path, build):
    model, tokenizer = build()
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    rows = [SNV, MNV, INSERTION, DELETION]
    table = score(model, tokenizer, tmp_path, reference, rows)
    assert table.height == 4
    for row, (chrom, pos, ref, alt) in zip(table.iter_rows(named=True), rows):
        ref_window, alt_window = windows(CHROM, pos, ref, alt)
        forward = brute_force_log_prob(model, tokenizer, alt_window) - brute_force_log_prob(model, tokenizer, ref_window)
        reverse = (brute_force_log_prob(model, tokenizer, reverse_complement(alt_window))
                   - brute_force_log_prob(model, tokenizer, reverse_complement(ref_window)))
        assert (row["pos"], row["ref"], row["alt"]) == (pos, ref, alt)
        assert row["llr_forward"] == pytest.approx(forward, abs=1e-4)
        assert row["llr_reverse"] == pytest.approx(reverse, abs=1e-4)
        assert row["llr"] == pytest.approx((forward + reverse) / 2, abs=1e-4)
        assert abs(forward) > 1e-4  # a random model still tells the alleles apart: the test can fail
    # The site log-ratio, for the SNV only: the REF window's distribution at the site given the left flank.
    ids = torch.as_tensor(tokenizer.encode(windows(CHROM, *SNV[1:])[0], add_special_tokens=False))[None]
    with torch.no_grad():
        log_probs = torch.log_softmax(model(ids).logits[0, 19].double(), dim=-1)
    vocab = tokenizer.vocab
    expected_forward = float(log_probs[vocab[SNV[3]]] - log_probs[vocab[SNV[2]]])
    site = table["llr_site"].to_list()
    assert site[1:] == [None, None, None]
    rc_ids = torch.as_tensor(tokenizer.encode(reverse_complement(windows(CHROM, *SNV[1:])[0]), add_special_tokens=False))[None]
    with torch.no_grad():
        rc_log_probs = torch.log_softmax(model(rc_ids).logits[0, 19].double(), dim=-1)
    expected_reverse = float(rc_log_probs[vocab[reverse_complement(SNV[3])]] - rc_log_probs[vocab[reverse_complement(SNV[2])]])
    assert site[0] == pytest.approx((expected_forward + expected_reverse) / 2, abs=1e-4)


def snvs(chromosome: str, positions: list[int]) -> list[tuple[str, int, str, str]]:
    return [("chr1", p, chromosome[p - 1], "ACGT"[("ACGT".index(chromosome[p - 1]) + 1 + i % 3) % 4])
            for i, p in enumerate(positions)]


@pytest.mark.parametrize("family", ["causal", "masked", "seq2seq"])
def test_reverse_substitutions_on_the_alt_reference_negate_every_snv_score(tmp_path, family):
    model, tokenizer = {"causal": tiny_hyenadna, "masked": tiny_bert, "seq2seq": tiny_enbed}[family]()
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    forward_rows = snvs(CHROM, [60, 130, 200, 270, 340])
    carrying = list(CHROM)
    for _, pos, _, alt in forward_rows:
        carrying[pos - 1] = alt
    alt_reference = write_reference(tmp_path / "alt.fa", {"chr1": "".join(carrying)})
    backward_rows = [(c, p, alt, ref) for c, p, ref, alt in forward_rows]
    for strands in ("forward", "both"):
        there = score(model, tokenizer, tmp_path, reference, forward_rows, strands=strands, name=f"f{strands}")
        back = score(model, tokenizer, tmp_path, alt_reference, backward_rows, strands=strands, name=f"b{strands}")
        assert there.height == back.height == 5
        np.testing.assert_allclose(back["llr"].to_numpy(), -there["llr"].to_numpy(), atol=1e-5)
        assert np.abs(there["llr"].to_numpy()).min() > 1e-5


@pytest.mark.parametrize("family", ["causal", "masked", "seq2seq"])
def test_strand_average_is_symmetric(tmp_path, family):
    """Scoring on the reverse-complemented reference with complemented alleles gives the same averaged score,
    and its forward strand is the original's reverse strand."""
    model, tokenizer = {"causal": tiny_hyenadna, "masked": tiny_bert, "seq2seq": tiny_enbed}[family]()
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    rc_reference = write_reference(tmp_path / "rc.fa", {"chr1": reverse_complement(CHROM)})
    rows = snvs(CHROM, [60, 130, 200]) + [MNV]
    rc_rows = [(c, LENGTH - p - len(ref) + 2, reverse_complement(ref), reverse_complement(alt)) for c, p, ref, alt in rows]
    there = score(model, tokenizer, tmp_path, reference, rows, name="there").sort("pos")
    back = score(model, tokenizer, tmp_path, rc_reference, rc_rows, name="back").sort("pos", descending=True)
    np.testing.assert_allclose(back["llr"].to_numpy(), there["llr"].to_numpy(), atol=1e-5)
    np.testing.assert_allclose(back["llr_forward"].to_numpy(), there["llr_reverse"].to_numpy(), atol=1e-5)
    # Not trivially so: the two strands of one variant score differently under a random model.
    assert np.abs(there["llr_forward"].to_numpy() - there["llr_reverse"].to_numpy()).max() > 1e-5


class CountingModel(torch.nn.Module):
    """A causal 'model' whose answer is known by hand: p(next base) is 1/2 for A and 1/6 for C, G and T,
    whatever came before (character tokenizer ids)."""

    capabilities, name, context_tokens = models.Capabilities(language_model="causal"), "counting", 1000

    def __init__(self, tokenizer):
        super().__init__()
        self.vocab_size = tokenizer.vocab_size
        logits = torch.full((tokenizer.vocab_size,), -1e9)
        for base, p in {"A": 0.5, "C": 1 / 6, "G": 1 / 6, "T": 1 / 6}.items():
            logits[tokenizer.vocab[base]] = float(np.log(p))
        self.register_buffer("table", logits)

    def forward(self, ids, mask=None, **_):
        return models.base.ModelOutput(hidden=ids.float()[..., None], mask=mask, logits=self.table.expand(*ids.shape, -1))


def test_indel_and_mnv_scores_have_known_answers(tmp_path):
    """Under a model with fixed base probabilities, log P(window) counts bases: each A adds log 1/2, each other
    base log 1/6, so the LLR is the allele difference alone (the flanks cancel)."""
    tokenizer = tokenizers.build("character")
    model = CountingModel(tokenizer)
    chromosome = "C" * 100 + "GAT" + "C" * 100
    reference = write_reference(tmp_path / "ref.fa", {"chr1": chromosome})
    rows = [("chr1", 101, "G", "GAA"),     # insertion of AA
            ("chr1", 101, "GAT", "G"),     # deletion of AT
            ("chr1", 101, "GAT", "AAA"),   # MNV G->A, T->A
            ("chr1", 102, "A", "C")]       # SNV
    table = score(model, tokenizer, tmp_path, reference, rows, strands="forward")
    half, sixth = np.log(0.5), np.log(1 / 6)
    expected = [2 * half, -(half + sixth), 2 * (half - sixth), sixth - half]
    np.testing.assert_allclose(table["llr"].to_numpy(), expected, atol=1e-5)
    assert table["llr_site"][3] == pytest.approx(sixth - half, abs=1e-5)


@torch.no_grad()
def test_masked_marginal_equals_a_manual_masked_forward(tmp_path):
    model, tokenizer = tiny_bert(k=3)
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    table = score(model, tokenizer, tmp_path, reference, [SNV, MNV], strands="forward")
    for row, (_, pos, ref, alt) in zip(table.iter_rows(named=True), [SNV, MNV]):
        ref_window, alt_window = windows(CHROM, pos, ref, alt)
        flank = (WINDOW - len(ref)) // 2
        ids = torch.as_tensor(tokenizer.encode(ref_window))  # [CLS] k-mers [SEP]
        # Body token i covers bases i .. i + 2; [CLS] shifts it to position i + 1.
        covering = [i + 1 for i in range(len(ref_window) - 2) if i <= flank + len(ref) - 1 and i + 2 >= flank]
        assert len(covering) == len(ref) + 2
        masked = ids.clone()
        masked[covering] = tokenizer.mask_id
        log_probs = torch.log_softmax(model(masked[None]).logits[0].double(), dim=-1)
        alt_ids = torch.as_tensor(tokenizer.encode(alt_window))
        expected = sum(float(log_probs[p, alt_ids[p]] - log_probs[p, ids[p]]) for p in covering)
        assert row["llr"] == pytest.approx(expected, abs=1e-4)
        assert abs(expected) > 1e-4


@torch.no_grad()
def test_span_infilling_equals_a_manual_decoder_score(tmp_path):
    model, tokenizer = tiny_enbed()
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    table = score(model, tokenizer, tmp_path, reference, [INSERTION], strands="forward")
    _, pos, ref, alt = INSERTION
    ref_window, _ = windows(CHROM, pos, ref, alt)
    flank = (WINDOW - len(alt)) // 2
    sentinel = tokenizer.sentinel_ids[0]
    encoder = np.concatenate([tokenizer.encode(ref_window[:flank], add_special_tokens=False), [sentinel],
                              tokenizer.encode(ref_window[flank + len(ref):])])

    def log_p(allele: str) -> float:
        target = torch.as_tensor(np.concatenate([[sentinel], tokenizer.encode(allele)]))[None]  # <s0> allele </s>
        out = model.hf(input_ids=torch.as_tensor(encoder)[None], labels=target)
        return float(torch.log_softmax(out.logits[0].double(), -1).gather(1, target[0][:, None]).sum())

    expected = log_p(alt) - log_p(ref)
    assert table["llr"][0] == pytest.approx(expected, abs=1e-4)
    assert abs(expected) > 1e-4


def test_qc_counts_every_unscorable_variant_and_adds_up(tmp_path):
    model, tokenizer = tiny_hyenadna()
    chromosome = CHROM[:200] + "N" + CHROM[201:]
    reference = write_reference(tmp_path / "ref.fa", {"chr1": chromosome})
    def other(*bases: str) -> str:
        return next(b for b in "ACGT" if b not in bases)

    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t100\t.\t{CHROM[99]}\t{SNV[3]},{other(CHROM[99], SNV[3])}\t.\t.\t.\n"  # multi-allelic
        f"chr1\t100\t.\t{CHROM[99]}\t{SNV[3]}\t.\t.\t.\n"                  # the same allele again
        f"chr1\t130\t.\t{other(CHROM[129])}\t{CHROM[129]}\t.\t.\t.\n"      # REF disagrees with the reference
        f"chr1\t195\t.\t{CHROM[194]}\t{other(CHROM[194])}\t.\t.\t.\n"      # an N 6 bases away
        f"chr1\t5\t.\t{CHROM[4]}\t{other(CHROM[4])}\t.\t.\t.\n"            # window past the start
        "chr2\t10\t.\tA\tC\t.\t.\t.\n"                                    # chromosome not in the reference
        f"chr1\t300\t.\t{CHROM[299]}\t{CHROM[299] + 'A' * 60}\t.\t.\t.\n"  # longer than --max-allele-length
    )
    out, qc_path = tmp_path / "scores.parquet", tmp_path / "qc.tsv"
    run_genolm("score-variants", "--model", str(save_model(model, tokenizer, tmp_path / "model")), "--reference",
               str(tmp_path / "ref.fa"), "--variants", str(vcf), "--out", str(out), "--qc", str(qc_path),
               "--window", str(WINDOW))
    table = pl.read_parquet(out)
    qc = dict(read_qc(qc_path).group_by("reason").agg(pl.col("count").sum()).iter_rows())
    assert table.height == 2 and set(table["pos"]) == {100}  # both ALT alleles of the multi-allelic record
    assert qc["rows_read"] == 8
    assert (qc["duplicate_allele"], qc["ref_mismatch"], qc["n_in_window"], qc["window_outside_chromosome"],
            qc["chromosome_not_in_reference"], qc["allele_too_long"], qc["alleles_scored"]) == (1, 1, 1, 1, 1, 1, 2)
    assert qc["rows_read"] == sum(n for r, n in qc.items() if r != "rows_read")


def save_model(model, tokenizer, directory: Path) -> Path:
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_a_model_without_language_model_head_is_refused(tmp_path):
    model = models.build("cnn", {"vocab_size": 12})
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    with pytest.raises(GenolmInputError, match="no language-model head"):
        score(model, tokenizers.build("character"), tmp_path, reference, [SNV])


def tiny_longformer_bpe():
    tokenizer = tokenizers.KmerBPETokenizer.train([random_chromosome(seed) for seed in range(2, 12)], k=4,
                                                  vocab_size=60)
    model = models.build("longformer", {"preset": "longformer-small", "hidden_size": 32, "num_hidden_layers": 1,
                                        "num_attention_heads": 2, "intermediate_size": 64, "attention_window": 8,
                                        "max_position_embeddings": 64}, tokenizer=tokenizer)
    return model.eval(), tokenizer


@torch.no_grad()
def test_bpe_masked_score_masks_each_windows_own_tokens_over_the_allele(tmp_path):
    """Longformer over BPE: each window is tokenized on its own; the tokens whose bases overlap the allele are
    masked and scored (the documented rule), computed here from the token strings."""
    model, tokenizer = tiny_longformer_bpe()
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    rows = [SNV, DELETION]
    table = score(model, tokenizer, tmp_path, reference, rows, strands="forward")

    def masked_log_prob(window: str, site: int, length: int) -> float:
        tokens = tokenizer.tokens(window)
        ends = np.cumsum([len(t) for t in tokens])
        starts = ends - np.array([len(t) for t in tokens])
        ids = torch.as_tensor(tokenizer.encode(window))
        covering = [i + 1 for i in range(len(tokens)) if starts[i] < site + length and ends[i] > site]
        masked = ids.clone()
        masked[covering] = tokenizer.mask_id
        log_probs = torch.log_softmax(model(masked[None]).logits[0].double(), dim=-1)
        return sum(float(log_probs[p, ids[p]]) for p in covering)

    for row, (_, pos, ref, alt) in zip(table.iter_rows(named=True), rows):
        ref_window, alt_window = windows(CHROM, pos, ref, alt)
        site = (WINDOW - max(len(ref), len(alt))) // 2
        expected = masked_log_prob(alt_window, site, len(alt)) - masked_log_prob(ref_window, site, len(ref))
        assert row["llr"] == pytest.approx(expected, abs=1e-4)
        assert abs(expected) > 1e-4


def test_a_released_dnabert_directory_scores_with_its_vocab_txt(tmp_path):
    """A Hugging Face BERT directory with a DNABERT vocab.txt (no genolm files) loads with its tokenizer."""
    from genolm.inference.loading import load_model
    from genolm.tokenizers.kmer import dnabert_vocab, vocab_txt

    model, tokenizer = tiny_bert(k=3)
    model.hf.save_pretrained(tmp_path / "dnabert")
    (tmp_path / "dnabert" / "vocab.txt").write_text(vocab_txt(dnabert_vocab(3)))
    loaded, loaded_tokenizer = load_model(tmp_path / "dnabert")
    assert loaded.name == "bert" and loaded_tokenizer.k == 3
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    original = score(model, tokenizer, tmp_path, reference, [SNV], name="a")
    released = score(loaded, loaded_tokenizer, tmp_path, reference, [SNV], name="b")
    assert released["llr"][0] == pytest.approx(original["llr"][0], abs=1e-6)


def test_maf_style_indels_get_their_padding_base_and_score_as_the_vcf_form(tmp_path):
    model, tokenizer = tiny_hyenadna()
    reference = write_reference(tmp_path / "ref.fa", {"chr1": CHROM})
    # MAF writes the deletion of CHROM[300:305] without its padding base, at the first deleted base (pos 301).
    maf_style = tmp_path / "maf.parquet"
    pl.DataFrame({"sample": ["s"], "chrom": ["1"], "pos": [301], "ref": [CHROM[300:305]], "alt": [""],
                  "needs_padding": [True]}).write_parquet(maf_style)
    qc = QCCounts("score_variants")
    table = score_variants(model, tokenizer, maf_style, reference, window=WINDOW, qc=qc)
    vcf_style = score(model, tokenizer, tmp_path, reference, [DELETION])
    assert (table["pos"][0], table["ref"][0], table["alt"][0]) == DELETION[1:]
    assert table["llr"][0] == pytest.approx(vcf_style["llr"][0], abs=1e-6)
