"""Sequencing-noise identification (the paper's Table 3): clean genome segments against segments that carry
sequencing errors, balanced.

The noise model (genolm's; the paper names a negative-binomial mixture with mismatches and indels and gives no
parameters). The number of errors in a noisy segment is drawn from a two-component mixture of negative
binomials, mostly a low-error component (`weight_low` 0.7, mean `mean_low` 2 errors) and otherwise a high-error
one (mean `mean_high` 8), both with dispersion `dispersion` 2 (variance = mean + mean^2 / dispersion), at least
one error (a "noisy" segment always differs from the genome). Each error is a mismatch (probability
`p_substitution` 0.7: a different base), an insertion (0.15: a random base) or a deletion (0.15), at a uniformly
drawn position. Errors are applied to a source `margin` bases longer than the segment, then cut to the segment
length, so indels never change a segment's length and length gives the class away for neither class. Everything
is drawn from the seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter, build_provenance, read_shards
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts

LABELS = ("clean", "noisy")
BASES = "ACGT"


@dataclass(frozen=True)
class NoiseModel:
    weight_low: float = 0.7
    mean_low: float = 2.0
    mean_high: float = 8.0
    dispersion: float = 2.0
    p_substitution: float = 0.7
    p_insertion: float = 0.15

    def __post_init__(self) -> None:
        if not 0 <= self.weight_low <= 1 or self.mean_low <= 0 or self.mean_high <= 0 or self.dispersion <= 0:
            raise ValueError(f"invalid noise model {self}")
        if self.p_substitution < 0 or self.p_insertion < 0 or self.p_substitution + self.p_insertion > 1:
            raise ValueError(f"error-type probabilities must be non-negative and sum to at most 1: {self}")

    def error_count(self, rng: np.random.Generator) -> int:
        mean = self.mean_low if rng.random() < self.weight_low else self.mean_high
        # numpy's negative_binomial(n, p) counts failures before n successes: mean n (1 - p) / p.
        p = self.dispersion / (self.dispersion + mean)
        return max(1, int(rng.negative_binomial(self.dispersion, p)))

    def corrupt(self, sequence: str, rng: np.random.Generator) -> tuple[str, dict[str, int]]:
        """The sequence with errors, and how many of each kind."""
        bases = list(sequence)
        counts = {"substitution": 0, "insertion": 0, "deletion": 0}
        for _ in range(self.error_count(rng)):
            kind = rng.random()
            position = int(rng.integers(0, len(bases)))
            if kind < self.p_substitution:
                old = bases[position].upper()
                bases[position] = rng.choice([b for b in BASES if b != old])
                counts["substitution"] += 1
            elif kind < self.p_substitution + self.p_insertion:
                bases.insert(position, BASES[int(rng.integers(0, 4))])
                counts["insertion"] += 1
            elif len(bases) > 1:
                del bases[position]
                counts["deletion"] += 1
        return "".join(bases), counts


def noise_table(sources: list[str], *, length: int, margin: int, model: NoiseModel, split_of: list[str],
                rng: np.random.Generator, qc: QCCounts) -> pa.Table:
    """Half the sources of each split (drawn) become noisy segments, the others clean; each cut to `length`."""
    noisy = np.zeros(len(sources), dtype=bool)
    splits = np.asarray(split_of)
    for split in dict.fromkeys(split_of):
        members = np.flatnonzero(splits == split)
        noisy[rng.permutation(members)[: len(members) // 2]] = True
    rows: dict[str, list] = {k: [] for k in ("sequence", "label", "sample", "split", "window_id")}
    for i, (source, is_noisy, split) in enumerate(zip(sources, noisy, split_of)):
        if is_noisy:
            text, counts = model.corrupt(source, rng)
            for kind, n in counts.items():
                qc.add("errors", n, kind)
        else:
            text = source
        if len(text) < length:  # deletions may leave a noisy source shorter than the segment (margin too small)
            qc.add("too_short_after_noise", 1, split)
            continue
        qc.add("segments", 1, f"{split}/{LABELS[int(is_noisy)]}")
        rows["sequence"].append(text[:length])
        rows["label"].append(int(is_noisy))
        rows["sample"].append(LABELS[int(is_noisy)])
        rows["split"].append(split)
        rows["window_id"].append(i)
    return pa.Table.from_pydict(rows, schema=SEQUENCE_SCHEMA)


def write_noise_dataset(corpus: Path, out: Path, qc_path: Path, *, length: int, margin: int, train: int, val: int,
                        test: int, seed: int, model: NoiseModel) -> None:
    """Segments of `length + margin` bases from the corpus windows (train windows feed train and val, the
    corpus' val windows feed test, so test segments come from genome regions no training segment saw)."""
    qc = QCCounts("enbed_noise")
    rng = np.random.default_rng(seed)
    pools = {}
    for split in ("train", "val"):
        try:
            pools[split] = read_shards(corpus, split, columns=["sequence"]).column("sequence").to_pylist()
        except GenolmInputError:
            pools[split] = []
    need = length + margin

    def segments(windows: list[str], count: int, name: str) -> list[str]:
        pieces = [w[i : i + need] for w in windows for i in range(0, len(w) - need + 1, need)]
        pieces = [p for p in pieces if "N" not in p.upper()]
        if len(pieces) < count:
            raise GenolmInputError(corpus, f"{len(pieces)} segments of {need} bases for the {name} split, "
                                           f"{count} asked for")
        qc.add("source_segments_unused", len(pieces) - count, name)
        return [pieces[i] for i in rng.choice(len(pieces), size=count, replace=False)]

    test_pool = pools["val"] or []
    if not test_pool:
        raise GenolmInputError(corpus, "the corpus has no val split to cut test segments from")
    fit = segments(pools["train"], train + val, "train+val")
    sources = fit + segments(test_pool, test, "test")
    split_of = ["train"] * train + ["val"] * val + ["test"] * test
    table = noise_table(sources, length=length, margin=margin, model=model, split_of=split_of, rng=rng, qc=qc)
    provenance = build_provenance(inputs={}, fields={"corpus": str(corpus), "length": length, "margin": margin,
                                                     "seed": seed, "noise_model": asdict(model)})
    with ShardWriter(out, dataset="enbed_noise", provenance=provenance, length=length, seed=seed,
                     schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
        writer.add_qc(qc)
    qc.write(qc_path)
