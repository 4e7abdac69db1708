"""Zero-shot variant scores: the log-likelihood ratio of ALT against REF under any genolm language model.

Windows. A variant is VCF style (1-based `pos`, REF and ALT never empty, indels carry the base before them).
With `window` W bases and the longer allele's length A = max(len(REF), len(ALT)), the flank is
F = (W - A) // 2 bases on each side of the REF allele:

    REF window   reference[start - F, start + len(REF) + F)          (start = pos - 1)
    ALT window   reference[start - F, start) + ALT + reference[start + len(REF), start + len(REF) + F)

Both windows share the same flanks, neither is longer than W, and the REF allele sits in the middle, so the
reverse complement of a window is the window the same variant gets on the reverse-complemented reference.

Scores, by the kind of language-model logits the model offers (`llr` = score(ALT) - score(REF)):

- causal (HyenaDNA, decoder-only ENBED): score(window) = log P(window) = the sum over the window's tokens of
  log p(token | the tokens before it), the first token excluded when the tokenizer puts nothing before it (it has
  no context; it is the same flank base in both windows). No end token is scored. For SNVs with a one-token-per-
  base tokenizer `llr_site` = log p(ALT base | left flank) - log p(REF base | left flank), read from the REF
  window's forward pass.
- masked (BERT/DNABERT, ALBERT, Longformer; any tokenizer): the masked marginal. Each window is tokenized and
  framed as in training; every token that overlaps the allele's bases (for overlapping k-mers, all k tokens
  covering a base of it) is replaced by [MASK]; score(window) = the sum of log p(original token) at the masked
  positions, from one forward pass of the masked window. For SNVs and MNVs with a k-mer tokenizer the two masked
  inputs are identical, so this is the masked-marginal score of one forward pass. With BPE (or for indels) the
  ALT window is tokenized on its own: its masked tokens are those of its own tokenization that overlap the ALT
  allele, and its flanks' tokens may differ from the REF window's where a merge crosses the allele.
- seq2seq (ENBED encoder-decoder): span infilling. The encoder reads the REF window with the REF allele replaced
  by the first sentinel (left flank, <extra_id_0>, right flank, end token), as in span-corruption pretraining;
  score(allele) = log P(decoder target) for the target <extra_id_0> allele </s>. The encoder input is the same
  for REF and ALT, so `llr` compares the two spans in one context.

Strands: with `strands="both"` (the default) each variant is also scored on the reverse complement of its windows
(alleles complemented) and `llr` is the mean of the two strands' scores (`llr_forward`, `llr_reverse`), and the
same for `llr_site`.

Variants that cannot be scored are counted in QC by reason and get no row: a chromosome the reference lacks,
a MAF-style indel at the chromosome start (no padding base), an allele longer than `max_allele_length` or leaving
no flank, a REF allele that disagrees with the reference, a window that runs past either end of the chromosome,
and a window or ALT allele holding a base other than A, C, G, T (`n_in_window`). Multi-allelic VCF records give
one row per ALT allele; an allele listed more than once (several samples of a MAF) is scored once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from tqdm import tqdm

from genolm.errors import GenolmInputError
from genolm.inference.loading import default_window
from genolm.models.base import end_of_sequence_id
from genolm.objectives.base import pad_rows
from genolm.qc import QCCounts
from genolm.sources.fasta import reverse_complement
from genolm.sources.mutations import MUTATION_DROP_REASONS, MUTATION_RECORD_REASONS, read_mutations
from genolm.sources.reference import ReferenceGenome
from genolm.tokenizers import KmerTokenizer

log = logging.getLogger(__name__)

STRANDS = ("both", "forward")
# Reasons a variant allele gets no score (after the reader's own reasons, genolm.sources.mutations).
UNSCORABLE_REASONS = ("duplicate_allele", "chromosome_not_in_reference", "indel_at_chromosome_start",
                      "allele_too_long", "ref_mismatch", "window_outside_chromosome", "n_in_window")
READER_DROP_REASONS = tuple(r for r in MUTATION_DROP_REASONS if r in ("not_default_entry_for_model", "ref_equals_alt"))
SCORE_COLUMNS = {"chrom": pl.Utf8, "pos": pl.Int64, "ref": pl.Utf8, "alt": pl.Utf8, "variant_type": pl.Utf8,
                 "llr": pl.Float64, "llr_forward": pl.Float64, "llr_reverse": pl.Float64, "llr_site": pl.Float64,
                 "record": pl.Utf8}
# ---------------------------------------------------------------------------------------------------- variants
@dataclass(frozen=True)
class VariantWindows:
    """One scorable allele's windows on the forward strand; `site` is the allele's first index in both."""

    ref_window: str
    alt_window: str
    site: int
    ref: str
    alt: str

    def reverse(self) -> VariantWindows:
        """The same variant on the reverse strand: windows reverse-complemented, alleles complemented."""
        return VariantWindows(reverse_complement(self.ref_window), reverse_complement(self.alt_window),
                              len(self.ref_window) - self.site - len(self.ref), reverse_complement(self.ref),
                              reverse_complement(self.alt))


def read_variants(path: Path, format: str = "auto", *, qc: QCCounts) -> pl.DataFrame:
    """Variant alleles of a VCF (sites-only or with samples), MAF, DepMap CSV or parquet file: one row per
    distinct (chrom, pos, ref, alt), multi-allelic records split, in file order."""
    table = read_mutations(path, format, qc=qc, sites_only=True)
    distinct = table.unique(subset=["chrom", "pos", "ref", "alt"], keep="first", maintain_order=True)
    qc.add("duplicate_allele", table.height - distinct.height)
    return distinct


def variant_windows(variants: pl.DataFrame, reference: ReferenceGenome, *, window: int, max_allele_length: int,
                    qc: QCCounts) -> tuple[pl.DataFrame, list[VariantWindows]]:
    """The scorable rows (VCF style, MAF indels padded) and their windows; every other row counted in `qc`."""
    kept_rows: list[int] = []
    windows: list[VariantWindows] = []
    chrom_col, pos_col = variants["chrom"].to_list(), variants["pos"].to_list()
    ref_col, alt_col = variants["ref"].to_list(), variants["alt"].to_list()
    padding = variants["needs_padding"].to_list() if "needs_padding" in variants.columns else [False] * variants.height
    positions: list[int] = []
    refs: list[str] = []
    alts: list[str] = []
    # Walk the chromosomes one at a time: ReferenceGenome keeps only the latest in memory.
    order = sorted(range(variants.height), key=lambda i: (str(chrom_col[i]), i))
    for i in order:
        chrom = reference.canonical(chrom_col[i])
        if chrom is None:
            qc.add("chromosome_not_in_reference", detail=str(chrom_col[i]))
            continue
        sequence = reference.array(chrom)
        pos, ref, alt = int(pos_col[i]), ref_col[i], alt_col[i]
        if padding[i]:
            # MAF writes indels without the base before them; VCF style takes it from the reference.
            if pos <= 1 or pos - 1 > len(sequence):
                qc.add("indel_at_chromosome_start" if pos <= 1 else "window_outside_chromosome")
                continue
            anchor = chr(sequence[pos - 2])
            pos, ref, alt = pos - 1, anchor + ref, anchor + alt
        longer = max(len(ref), len(alt))
        flank = (window - longer) // 2
        if longer > max_allele_length or flank < 1:
            qc.add("allele_too_long")
            continue
        start = pos - 1
        end = start + len(ref)
        if end > len(sequence) or sequence[start:end].tobytes().decode("ascii") != ref:
            qc.add("ref_mismatch" if end <= len(sequence) else "window_outside_chromosome")
            continue
        if start - flank < 0 or end + flank > len(sequence):
            qc.add("window_outside_chromosome")
            continue
        ref_window = sequence[start - flank : end + flank].tobytes().decode("ascii")
        if not set(ref_window) <= set("ACGT") or not set(alt) <= set("ACGT"):
            qc.add("n_in_window")
            continue
        alt_window = ref_window[:flank] + alt + ref_window[flank + len(ref):]
        kept_rows.append(i)
        windows.append(VariantWindows(ref_window, alt_window, flank, ref, alt))
        positions.append(pos)
        refs.append(ref)
        alts.append(alt)
    # Rows come back in file order.
    restore = np.argsort(kept_rows, kind="stable")
    kept = variants[[kept_rows[j] for j in restore]] if kept_rows else variants.clear()
    kept = kept.with_columns(pl.Series("pos", [positions[j] for j in restore], dtype=pl.Int64),
                             pl.Series("ref", [refs[j] for j in restore], dtype=pl.Utf8),
                             pl.Series("alt", [alts[j] for j in restore], dtype=pl.Utf8))
    return kept, [windows[j] for j in restore]


# ---------------------------------------------------------------------------------------------------- tokens
def token_spans(tokenizer: Any, sequence: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(body ids, first base, end base) of each token of `sequence` (no framing tokens)."""
    ids = tokenizer.encode(sequence, add_special_tokens=False)
    if isinstance(tokenizer, KmerTokenizer):
        starts = np.arange(len(ids), dtype=np.int64) * tokenizer.stride
        return ids, starts, starts + tokenizer.k
    lengths = np.fromiter(map(len, tokenizer.convert_ids_to_tokens(ids)), dtype=np.int64, count=len(ids))
    if int(lengths.sum()) != len(sequence):
        raise ValueError(f"{type(tokenizer).__name__}'s tokens do not spell the sequence, so they cannot be placed "
                         "on its bases")
    ends = np.cumsum(lengths)
    return ids, ends - lengths, ends


def single_token_id(tokenizer: Any, base: str) -> int | None:
    ids = tokenizer.encode(base, add_special_tokens=False)
    return int(ids[0]) if len(ids) == 1 else None


# ---------------------------------------------------------------------------------------------------- scorers
class Scorer:
    """Scores (REF, ALT) window pairs; `score` returns (llr [N], llr_site [N], NaN where undefined).

    Log-probabilities stay on the model's device; only the gathered values come back."""

    def __init__(self, model: Any, tokenizer: Any, device: str, max_tokens: int | None):
        self.model, self.tokenizer, self.device, self.max_tokens = model, tokenizer, device, max_tokens

    def _forward(self, rows: list[np.ndarray], **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probabilities [B, T, V], ids [B, T]) of a right-padded batch, on the device."""
        ids, mask = pad_rows(rows, self.tokenizer.pad_id)
        if self.max_tokens is not None and ids.shape[1] > self.max_tokens:
            raise GenolmInputError("--window", f"a window needs {ids.shape[1]} tokens, more than the model's "
                                               f"{self.max_tokens}: use a smaller window")
        ids = ids.to(self.device)
        output = self.model(ids, mask.to(self.device), **kwargs)
        return torch.log_softmax(output.logits.float(), dim=-1), ids

    @staticmethod
    def _gather_sums(log_probs: torch.Tensor, positions: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
        """Per row i: the sum of log_probs[i, positions[i], targets[i]]."""
        rows = np.repeat(np.arange(len(positions)), [len(p) for p in positions])
        device = log_probs.device
        values = log_probs[torch.as_tensor(rows, device=device),
                           torch.as_tensor(np.concatenate(positions), device=device),
                           torch.as_tensor(np.concatenate(targets), device=device)]
        sums = torch.zeros(len(positions), dtype=torch.float64, device=device)
        sums.index_add_(0, torch.as_tensor(rows, device=device), values.double())
        return sums.cpu().numpy()

    def score(self, pairs: list[VariantWindows]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class CausalScorer(Scorer):
    def score(self, pairs: list[VariantWindows]) -> tuple[np.ndarray, np.ndarray]:
        prefix = np.asarray(self.tokenizer.prefix_ids, dtype=np.int64)
        windows = [w for p in pairs for w in (p.ref_window, p.alt_window)]
        rows = [np.concatenate([prefix, self.tokenizer.encode(w, add_special_tokens=False)]) for w in windows]
        log_probs, _ = self._forward(rows)
        # Position t predicts token t + 1: every token but the first is a target (module docstring).
        totals = self._gather_sums(log_probs, [np.arange(len(r) - 1) for r in rows], [r[1:] for r in rows])
        llr = totals[1::2] - totals[0::2]
        site = np.full(len(pairs), np.nan)
        if len(self.tokenizer.encode("ACGT", add_special_tokens=False)) == 4:  # one token per base
            n_prefix = len(prefix)
            for i, pair in enumerate(pairs):
                ref_id, alt_id = single_token_id(self.tokenizer, pair.ref), single_token_id(self.tokenizer, pair.alt)
                if len(pair.ref) == len(pair.alt) == 1 and ref_id is not None and alt_id is not None:
                    # The REF window's distribution at the site, given everything left of it.
                    row = log_probs[2 * i, n_prefix + pair.site - 1]
                    site[i] = float(row[alt_id] - row[ref_id])
        return llr, site


class MaskedScorer(Scorer):
    def masked_rows(self, window: str, site: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Framed ids of the window with every token overlapping bases [site, site + length) masked, and the
        masked positions (in the framed row)."""
        ids, starts, ends = token_spans(self.tokenizer, window)
        covering = np.flatnonzero((starts < site + length) & (ends > site))
        if not len(covering):
            raise ValueError(f"no token covers bases {site}..{site + length} of a {len(window)}-base window")
        prefix = np.asarray(self.tokenizer.prefix_ids, dtype=np.int64)
        row = np.concatenate([prefix, ids, np.asarray(self.tokenizer.suffix_ids, dtype=np.int64)])
        return row, covering + len(prefix)

    def score(self, pairs: list[VariantWindows]) -> tuple[np.ndarray, np.ndarray]:
        rows, masked, originals = [], [], []
        for pair in pairs:
            for window, allele in ((pair.ref_window, pair.ref), (pair.alt_window, pair.alt)):
                row, positions = self.masked_rows(window, pair.site, len(allele))
                originals.append(row[positions].copy())
                row[positions] = self.tokenizer.mask_id
                rows.append(row)
                masked.append(positions)
        log_probs, _ = self._forward(rows)
        totals = self._gather_sums(log_probs, masked, originals)
        return totals[1::2] - totals[0::2], np.full(len(pairs), np.nan)


class SpanInfillingScorer(Scorer):
    def __init__(self, model: Any, tokenizer: Any, device: str, max_tokens: int | None):
        super().__init__(model, tokenizer, device, max_tokens)
        sentinels = getattr(tokenizer, "sentinel_ids", None)
        if not sentinels:
            raise GenolmInputError("--model", f"span infilling needs sentinel tokens; {type(tokenizer).__name__} has none")
        self.sentinel = int(sentinels[0])
        self.end = end_of_sequence_id(tokenizer)

    def encoder_row(self, pair: VariantWindows) -> np.ndarray:
        left = self.tokenizer.encode(pair.ref_window[: pair.site], add_special_tokens=False)
        right = self.tokenizer.encode(pair.ref_window[pair.site + len(pair.ref):], add_special_tokens=False)
        return np.concatenate([np.asarray(self.tokenizer.prefix_ids, dtype=np.int64), left, [self.sentinel], right,
                               np.asarray(self.tokenizer.suffix_ids, dtype=np.int64)]).astype(np.int64)

    def target_row(self, allele: str) -> np.ndarray:
        body = self.tokenizer.encode(allele, add_special_tokens=False)
        return np.concatenate([[self.sentinel], body, [self.end]]).astype(np.int64)

    def score(self, pairs: list[VariantWindows]) -> tuple[np.ndarray, np.ndarray]:
        encoder = [self.encoder_row(p) for p in pairs for _ in (0, 1)]
        targets = [self.target_row(a) for p in pairs for a in (p.ref, p.alt)]
        labels, _ = pad_rows(targets, -100)
        log_probs, _ = self._forward(encoder, labels=labels.to(self.device))
        totals = self._gather_sums(log_probs, [np.arange(len(t)) for t in targets], targets)
        return totals[1::2] - totals[0::2], np.full(len(pairs), np.nan)


# By the language-model logits the model offers (genolm.models.base.Capabilities.language_model).
SCORERS = {"causal": CausalScorer, "masked": MaskedScorer, "seq2seq": SpanInfillingScorer}


def make_scorer(model: Any, tokenizer: Any, device: str) -> Scorer:
    offered = model.capabilities.language_model
    if offered not in SCORERS:
        has = f"{offered} language-model logits" if offered else "no language-model head"
        raise GenolmInputError("--model", f"a {model.name!r} model has {has}: variants are scored with causal, "
                                          "masked or encoder-decoder language-model logits")
    return SCORERS[offered](model.to(device).eval(), tokenizer, device, model.context_tokens)


@torch.no_grad()
def score_windows(scorer: Scorer, windows: list[VariantWindows], *, strands: str = "both",
                  batch_size: int = 16) -> dict[str, np.ndarray]:
    """llr, llr_forward, llr_reverse (NaN with strands='forward') and llr_site of every window pair."""
    if strands not in STRANDS:
        raise ValueError(f"strands must be one of {STRANDS}, got {strands!r}")
    n = len(windows)
    forward, reverse = np.full(n, np.nan), np.full(n, np.nan)
    site_forward, site_reverse = np.full(n, np.nan), np.full(n, np.nan)
    for start in tqdm(range(0, n, batch_size), desc="scoring variants", unit="batch", mininterval=5):
        batch = windows[start : start + batch_size]
        forward[start : start + len(batch)], site_forward[start : start + len(batch)] = scorer.score(batch)
        if strands == "both":
            reversed_batch = [w.reverse() for w in batch]
            reverse[start : start + len(batch)], site_reverse[start : start + len(batch)] = scorer.score(reversed_batch)
    if strands == "both":
        llr, site = (forward + reverse) / 2, (site_forward + site_reverse) / 2
    else:
        llr, site = forward, site_forward
    return {"llr": llr, "llr_forward": forward, "llr_reverse": reverse, "llr_site": site}


def score_variants(model: Any, tokenizer: Any, variants_path: Path, reference: ReferenceGenome, *, format: str = "auto",
                   window: int | None = None, strands: str = "both", max_allele_length: int = 50,
                   batch_size: int = 16, device: str = "cpu", qc: QCCounts) -> pl.DataFrame:
    """One row per scorable variant allele (SCORE_COLUMNS); the others counted in `qc`, which must add up."""
    if window is None:
        window = default_window(model, tokenizer)
        if window is None:
            raise GenolmInputError("--window", f"a {model.name!r} model has no fixed context: give --window (bases)")
    if window < 3:
        raise GenolmInputError("--window", f"must be at least 3 bases, got {window}")
    scorer = make_scorer(model, tokenizer, device)
    variants = read_variants(variants_path, format, qc=qc)
    kept, windows = variant_windows(variants, reference, window=window, max_allele_length=max_allele_length, qc=qc)
    qc.add("alleles_scored", len(windows))
    qc.require_balance(("rows_read", "alleles_scored", READER_DROP_REASONS + UNSCORABLE_REASONS),
                       informational=MUTATION_RECORD_REASONS)
    scores = score_windows(scorer, windows, strands=strands, batch_size=batch_size)
    table = kept.with_columns(*(pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)
                                for name, values in scores.items()))
    return table.select(list(SCORE_COLUMNS)).cast(SCORE_COLUMNS)
