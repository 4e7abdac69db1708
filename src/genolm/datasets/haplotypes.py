"""Haplotype sequences of phased samples: the reference with one haplotype's alleles applied, as `bcftools
consensus -s SAMPLE -H 1` (or `-H 2`) builds it (tests/test_haplotypes.py compares the two), for pretraining corpora
that carry population variation (ENBED's corpus reads the 1000 Genomes Project's phased VCFs).

Per sample, chromosome and haplotype the ALT alleles that haplotype's GT index names are applied left to right on
the reference. Counted in QC and not applied, per haplotype and record:

    reference_allele         the haplotype carries the REF allele (nothing to apply)
    missing_allele           its allele is missing (`.`)
    unphased_heterozygous    a heterozygous genotype without phase: which haplotype carries the ALT is unknown (a
                             homozygous one needs no phase and is applied to both)
    symbolic_alt             <DEL>, <INS>, `*`, breakends: no sequence to apply
    ref_mismatch             the REF differs from the reference at its position
    overlap_skipped          it starts inside the REF span of the variant applied before it (bcftools skips it too)

so that for every haplotype `calls = applied + reference_allele + missing_allele + unphased_heterozygous +
symbolic_alt + ref_mismatch + overlap_skipped`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.mutations import is_symbolic
from genolm.sources.reference import ReferenceGenome

HAPLOTYPE_QC_REASONS = ("calls", "applied", "reference_allele", "missing_allele", "unphased_heterozygous",
                        "symbolic_alt", "ref_mismatch", "overlap_skipped")


def choose_samples(vcf: Path, *, samples: list[str] | None, max_samples: int | None, seed: int) -> list[str]:
    """The named samples (each must be in the VCF), or `max_samples` drawn with `seed` from the VCF's own, in the
    VCF's order."""
    import cyvcf2

    try:
        available = list(cyvcf2.VCF(str(vcf)).samples)
    except (OSError, Exception) as error:  # cyvcf2 raises bare Exception for unreadable headers
        raise GenolmInputError(vcf, f"cannot open as VCF/BCF ({error})") from None
    if samples:
        missing = [s for s in samples if s not in available]
        if missing:
            raise GenolmInputError(vcf, f"no sample {missing[0]!r} among its {len(available)} samples")
        return [s for s in available if s in set(samples)]
    if not available:
        raise GenolmInputError(vcf, "no sample columns: no haplotype to build")
    if max_samples is None or max_samples >= len(available):
        return available
    chosen = set(np.random.default_rng(seed).choice(len(available), size=max_samples, replace=False).tolist())
    return [s for i, s in enumerate(available) if i in chosen]


def _calls_by_chromosome(path: Path, samples: list[str], chromosomes: set[str], reference: ReferenceGenome,
                         sequences: dict[str, str], qc: QCCounts) -> dict[str, list[list[tuple[int, str, str]]]]:
    """One pass over a VCF: per chromosome (of `chromosomes`) and per (sample, haplotype), in that order, the
    (0-based start, REF, ALT) to apply; each chromosome's reference sequence is read once into `sequences`."""
    import cyvcf2

    try:
        vcf = cyvcf2.VCF(str(path), samples=samples)
    except (OSError, Exception) as error:
        raise GenolmInputError(path, f"cannot open as VCF/BCF ({error})") from None
    order = [list(vcf.samples).index(s) for s in samples]
    calls: dict[str, list[list[tuple[int, str, str]]]] = {}
    index = 0
    try:
        for index, variant in enumerate(vcf, start=1):
            chromosome = reference.canonical(variant.CHROM)
            if chromosome not in chromosomes:
                continue
            slots = calls.setdefault(chromosome, [[] for _ in range(2 * len(samples))])
            if chromosome not in sequences:
                sequences[chromosome] = reference.fetch(chromosome, 0, reference.lengths[chromosome])
            genotypes = variant.genotypes
            ref, alts, start = variant.REF.upper(), variant.ALT, variant.POS - 1
            if start + len(ref) > reference.lengths[chromosome]:
                raise GenolmInputError(path, f"REF {ref!r} at {variant.CHROM}:{variant.POS} runs past the end of "
                                             f"{chromosome} ({reference.lengths[chromosome]} bases in "
                                             f"{reference.path}): called against another reference?",
                                       record=f"record {index}")
            ref_ok = sequences[chromosome][start : start + len(ref)] == ref
            for slot, column in enumerate(order):
                genotype = genotypes[column]
                if len(genotype) == 3:
                    first, second, phased = genotype
                else:  # haploid (a male's X): its one allele is both haplotypes
                    first = second = genotype[0]
                    phased = True
                for haplotype, allele in enumerate((first, second)):
                    qc.add("calls")
                    if allele == -1:
                        qc.add("missing_allele")
                    elif allele == 0:
                        qc.add("reference_allele")
                    elif not phased and first != second:
                        qc.add("unphased_heterozygous")
                    elif is_symbolic(alts[allele - 1]):
                        qc.add("symbolic_alt")
                    elif not ref_ok:
                        qc.add("ref_mismatch")
                    else:
                        slots[2 * slot + haplotype].append((start, ref, alts[allele - 1].upper()))
    except GenolmInputError:
        raise
    except Exception as error:  # htslib parse failures surface as assorted exception types
        raise GenolmInputError(path, f"cannot parse VCF ({error})", record=f"record {index + 1}") from error
    finally:
        vcf.close()
    return calls


def apply_calls(sequence: str, calls: list[tuple[int, str, str]], qc: QCCounts) -> str:
    """`sequence` with `calls` (0-based start, REF, ALT) applied from left to right, overlaps resolved as bcftools
    consensus resolves them: a call starting inside the REF span of the one applied before it is skipped, except an
    indel whose padding base (REF and ALT share their first base) is that span's last base, after anything but an
    insertion: it applies beyond its padding base."""
    parts, cursor, previous_insertion = [], 0, False  # cursor: the first reference base not yet consumed
    for start, ref, alt in sorted(calls, key=lambda c: c[0]):
        if start < cursor:
            padded_indel = ref[0] == alt[0] and len(ref) != len(alt)
            if not (start == cursor - 1 and padded_indel and not previous_insertion):
                qc.add("overlap_skipped")
                continue
            ref, alt, start = ref[1:], alt[1:], start + 1
        parts += [sequence[cursor:start], alt]
        cursor, previous_insertion = start + len(ref), len(alt) > len(ref)
        qc.add("applied")
    parts.append(sequence[cursor:])
    return "".join(parts)


def haplotype_sequences(vcfs: list[Path], reference: ReferenceGenome, *, samples: list[str], chromosomes: list[str],
                        qc: QCCounts) -> Iterator[tuple[str, str]]:
    """(FASTA title, sequence) of each sample's two haplotypes of each chromosome, `<sample>_h<1|2> <chromosome>`:
    VCF by VCF (1000 Genomes ships one per chromosome), a chromosome's haplotypes once its VCF is read. A chromosome
    no VCF has a variant on is every haplotype's reference."""
    for reason in HAPLOTYPE_QC_REASONS:
        qc.add(reason, 0)
    wanted = []
    for chromosome in chromosomes:
        name = reference.canonical(chromosome)
        if name is None:
            raise GenolmInputError(reference.path, f"no chromosome {chromosome!r} (asked for in --chromosomes)")
        wanted.append(name)
    seen: dict[str, Path] = {}
    for path in vcfs:
        sequences: dict[str, str] = {}
        for name, slots in _calls_by_chromosome(path, samples, set(wanted), reference, sequences, qc).items():
            if name in seen:  # its haplotypes were written from the first file alone
                raise GenolmInputError(path, f"has variants on {name}, as {seen[name]} has: give one VCF per chromosome")
            seen[name] = path
            sequence = sequences.pop(name)
            for slot, calls in enumerate(slots):
                yield f"{samples[slot // 2]}_h{slot % 2 + 1} {name}", apply_calls(sequence, calls, qc)
    for name in wanted:
        if name not in seen:
            sequence = reference.fetch(name, 0, reference.lengths[name])
            for slot in range(2 * len(samples)):
                yield f"{samples[slot // 2]}_h{slot % 2 + 1} {name}", sequence
