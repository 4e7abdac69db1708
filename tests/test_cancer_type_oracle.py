"""The cancer-type oracle's features: SBS classes folded onto the pyrimidine strand, indels counted."""

from __future__ import annotations

import numpy as np

from genolm.studies.cancer_type.oracle import FEATURES, SBS_CLASSES, sbs_class, spectrum


class FakeReference:
    """A one-chromosome stand-in with ReferenceGenome's interface."""

    def __init__(self, sequence: str):
        self.sequence, self.lengths = sequence, {"chr1": len(sequence)}

    def canonical(self, name: str) -> str:
        return name

    def fetch(self, chrom: str, start: int, end: int) -> str:
        return self.sequence[start:end]


def test_the_96_classes_and_strand_folding():
    assert len(SBS_CLASSES) == 96 and len(set(SBS_CLASSES)) == 96
    assert sbs_class("TCA", "T") == "T[C>T]A"  # APOBEC-like context, already on the pyrimidine strand
    assert sbs_class("TGA", "A") == "T[C>T]A"  # the same event read on the other strand
    assert sbs_class("ACG", "A") == "A[C>A]G"
    assert sbs_class("CGT", "T") == "A[C>A]G"
    assert sbs_class("ANA", "T") is None


def test_spectrum_counts_each_mutation_once():
    reference = FakeReference("ACGTTCAGGA")
    mutations = [{"pos": 6, "ref": "C", "alt": "T"},   # T[C>T]A
                 {"pos": 8, "ref": "G", "alt": "T"},   # A G G -> folded C[C>A]T
                 {"pos": 2, "ref": "CG", "alt": "TA"},  # a multi-base substitution
                 {"pos": 3, "ref": "G", "alt": "GTT"},  # insertion
                 {"pos": 4, "ref": "TT", "alt": "T"}]   # deletion
    counts = spectrum(mutations, "chr1", reference)
    assert counts.sum() == len(mutations)
    named = {FEATURES[i]: c for i, c in enumerate(counts) if c}
    assert named == {"T[C>T]A": 1, "C[C>A]T": 1, "mnv": 1, "insertion": 1, "deletion": 1}
    assert np.all(counts >= 0)
