"""Variant-effect benchmark: how well zero-shot scores (genolm.inference.variants) separate labelled variants.

Labels come from a VCF's INFO field or a parquet table:

- `CLNSIG` (ClinVar): Pathogenic, Likely_pathogenic and Pathogenic/Likely_pathogenic are 1 (damaging);
  Benign, Likely_benign and Benign/Likely_benign are 0; every other significance (uncertain, conflicting, drug
  response, ...) is counted as `label_not_binary` and left out;
- any other INFO field or a parquet `label` column: 0/1 (or true/false, benign/pathogenic).

A variant the model makes less likely is predicted damaging, so the benchmark's score is -llr. AUROC (the
probability that a random damaging variant scores above a random benign one, ties counted half) comes with a
95% percentile bootstrap interval over variants. A labelled variant without a score (not scored: see the scoring
stage's QC) is counted as `label_without_score`, so `labels_read` = `labels_scored` + the reasons.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from genolm.errors import GenolmInputError
from genolm.metrics import percentile_interval, unit_resamples
from genolm.qc import QCCounts
from genolm.sources.chromosomes import canonical_name

CLNSIG_DAMAGING = {"Pathogenic", "Likely_pathogenic", "Pathogenic/Likely_pathogenic"}
CLNSIG_BENIGN = {"Benign", "Likely_benign", "Benign/Likely_benign"}
_TRUE = {"1", "true", "pathogenic", "damaging"}
_FALSE = {"0", "false", "benign"}
LABEL_KEY = ["chrom", "pos", "ref", "alt"]


def binary_label(value: object, field: str) -> int | None:
    """1 damaging, 0 benign, None for anything else (module docstring)."""
    if value is None:
        return None
    text = str(value).strip()
    if field == "CLNSIG":
        return 1 if text in CLNSIG_DAMAGING else 0 if text in CLNSIG_BENIGN else None
    lowered = text.lower()
    return 1 if lowered in _TRUE else 0 if lowered in _FALSE else None


def read_labels(path: Path, *, field: str = "CLNSIG", qc: QCCounts) -> pl.DataFrame:
    """chrom, pos, ref, alt, label (0/1) of every labelled variant allele; others counted in `qc`."""
    path = Path(path)
    if not path.is_file():
        raise GenolmInputError(path, "label file not found")
    with open(path, "rb") as handle:
        parquet = handle.read(4) == b"PAR1"
    if parquet:
        table = pl.read_parquet(path)
        missing = [c for c in [*LABEL_KEY, "label"] if c not in table.columns]
        if missing:
            raise GenolmInputError(path, f"missing column(s) {', '.join(missing)}")
        rows = table.select(*LABEL_KEY, pl.col("label").cast(pl.Utf8)).rows()
        field = "label"
    else:
        rows = list(_vcf_rows(path, field))
    out: dict[str, list] = {c: [] for c in [*LABEL_KEY, "label"]}
    for chrom, pos, ref, alt, value in rows:
        qc.add("labels_read")
        label = binary_label(value, field)
        if label is None:
            qc.add("label_not_binary", detail=str(value))
            continue
        out["chrom"].append(canonical_name(str(chrom)) or str(chrom))
        out["pos"].append(int(pos))
        out["ref"].append(str(ref).upper())
        out["alt"].append(str(alt).upper())
        out["label"].append(label)
    return pl.DataFrame(out, schema={"chrom": pl.Utf8, "pos": pl.Int64, "ref": pl.Utf8, "alt": pl.Utf8,
                                     "label": pl.Int64})


def _vcf_rows(path: Path, field: str):
    import cyvcf2

    try:
        vcf = cyvcf2.VCF(str(path))
    except Exception as error:  # cyvcf2 raises bare Exception for unreadable headers
        raise GenolmInputError(path, f"cannot open as VCF/BCF ({error})") from error
    try:
        for variant in vcf:
            value = variant.INFO.get(field)
            for alt in variant.ALT:
                yield variant.CHROM, variant.POS, variant.REF, alt, value
    finally:
        vcf.close()


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney AUROC of `scores` for labels 1 against 0 (ties count half); NaN without both classes."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if not len(positives) or not len(negatives):
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    rank_sum = ranks[labels == 1].sum()
    return float((rank_sum - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))


def benchmark(scores: pl.DataFrame, labels: pl.DataFrame, *, seed: int, resamples: int = 1000,
              qc: QCCounts) -> dict[str, tuple[float, float, float] | float]:
    """AUROC of -llr with its bootstrap interval, and the class counts, of the labelled variants `scores` has."""
    joined = labels.join(scores.select(*LABEL_KEY, "llr"), on=LABEL_KEY, how="left")
    unscored = joined.filter(pl.col("llr").is_null())
    qc.add("label_without_score", unscored.height)
    joined = joined.filter(pl.col("llr").is_not_null())
    qc.add("labels_scored", joined.height)
    qc.require_balance(("labels_read", "labels_scored", ("label_not_binary", "label_without_score")))
    values, classes = -joined["llr"].to_numpy(), joined["label"].to_numpy()
    point = auroc(values, classes)
    draws = []
    if len(values):
        for multiplicity in unit_resamples(len(values), seed=seed, resamples=resamples):
            drawn = np.repeat(np.arange(len(values)), multiplicity.astype(np.int64))
            draws.append(auroc(values[drawn], classes[drawn]))
    low, high = percentile_interval(np.asarray(draws))
    return {"auroc": (point, low, high), "n_damaging": float((classes == 1).sum()),
            "n_benign": float((classes == 0).sum())}
