#!/usr/bin/env python3
"""Regenerate the demo's labelled variant-effect set: data/demo/variant_effect/chrM_stop_gained_vs_synonymous.vcf.

The variants are synthetic, their labels follow from the genetic code alone: on the demo chrM (the real rCRS
sequence, data/demo/README.md) every single-base substitution inside a complete codon of eight protein-coding
genes on the heavy strand is classified with the vertebrate mitochondrial code (NCBI table 2: TAA, TAG, AGA and
AGG stop; TGA is Trp, ATA is Met). A substitution that turns a sense codon into a stop codon is `stop_gained`
(LABEL=1, damaging); one that leaves the amino acid unchanged is `synonymous_variant` (LABEL=0, benign). Bases
inside two genes' ranges and the genes' incomplete last codons are left out. PER_CLASS variants of each class are
drawn with Python's `random.Random(SEED)` (stable across versions) and written sorted by position, so a rebuild is
byte-identical.

    python scripts/make_demo_variant_effect.py            # rewrite the committed file
    python scripts/make_demo_variant_effect.py --out X    # write X instead
"""

from __future__ import annotations

import argparse
import gzip
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data/demo/mirror/goldenPath/hg38/bigZips/hg38.fa.gz"
OUT = ROOT / "data/demo/variant_effect/chrM_stop_gained_vs_synonymous.vcf"
SEED = 23
PER_CLASS = 30
# rCRS (NC_012920.1) coordinates, 1-based inclusive, of the heavy-strand protein-coding genes used; overlapping
# genes (ATP8, ND4L) are listed so that their shared bases are left out.
GENES = {"MT-ND1": (3307, 4262), "MT-ND2": (4470, 5511), "MT-CO1": (5904, 7445), "MT-CO2": (7586, 8269),
         "MT-ATP8": (8366, 8572), "MT-ATP6": (8527, 9207), "MT-CO3": (9207, 9990), "MT-ND4L": (10470, 10766),
         "MT-ND4": (10760, 12137), "MT-CYB": (14747, 15887)}
USED = ("MT-ND1", "MT-ND2", "MT-CO1", "MT-CO2", "MT-ATP6", "MT-CO3", "MT-ND4", "MT-CYB")
BASES = "TCAG"
# The standard code in TCAG order, then NCBI table 2's differences.
STANDARD = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
MITOCHONDRIAL = {"TGA": "W", "ATA": "M", "AGA": "*", "AGG": "*"}


def amino_acid(codon: str) -> str:
    if codon in MITOCHONDRIAL:
        return MITOCHONDRIAL[codon]
    index = 16 * BASES.index(codon[0]) + 4 * BASES.index(codon[1]) + BASES.index(codon[2])
    return STANDARD[index]


def read_chrM(path: Path) -> str:
    lines, inside = [], False
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                inside = line[1:].split()[0] == "chrM"
            elif inside:
                lines.append(line.strip())
    return "".join(lines).upper()


def classified_substitutions(chrom: str) -> dict[str, list[tuple[int, str, str, str]]]:
    """(pos, ref, alt, gene) of every stop-gained and synonymous substitution in the used genes' complete codons."""
    shared = {p for name, (a, b) in GENES.items() for other, (c, d) in GENES.items() if name < other
              for p in range(max(a, c), min(b, d) + 1)}
    classes: dict[str, list[tuple[int, str, str, str]]] = {"stop_gained": [], "synonymous_variant": []}
    for gene in USED:
        start, end = GENES[gene]
        for codon_start in range(start, end - 1, 3):
            if codon_start + 2 > end:
                break
            codon = chrom[codon_start - 1 : codon_start + 2]
            original = amino_acid(codon)
            if original == "*" or not set(codon) <= set("ACGT"):
                continue
            for offset in range(3):
                pos = codon_start + offset
                if pos in shared:
                    continue
                for alt in "ACGT":
                    if alt == codon[offset]:
                        continue
                    changed = amino_acid(codon[:offset] + alt + codon[offset + 1 :])
                    if changed == "*":
                        classes["stop_gained"].append((pos, codon[offset], alt, gene))
                    elif changed == original:
                        classes["synonymous_variant"].append((pos, codon[offset], alt, gene))
    return classes


def vcf_text(chrom: str) -> str:
    rng = random.Random(SEED)
    chosen = []
    for consequence, label in (("stop_gained", 1), ("synonymous_variant", 0)):
        candidates = classified_substitutions(chrom)[consequence]
        chosen += [(pos, ref, alt, gene, consequence, label) for pos, ref, alt, gene in rng.sample(candidates, PER_CLASS)]
    header = [
        "##fileformat=VCFv4.2",
        "##source=scripts/make_demo_variant_effect.py (synthetic variants; labels from the vertebrate mitochondrial code)",
        f"##contig=<ID=chrM,length={len(chrom)}>",
        '##INFO=<ID=LABEL,Number=1,Type=Integer,Description="1 damaging (stop_gained), 0 benign (synonymous_variant)">',
        '##INFO=<ID=CONSEQ,Number=1,Type=String,Description="stop_gained or synonymous_variant (NCBI genetic code 2)">',
        '##INFO=<ID=GENE,Number=1,Type=String,Description="rCRS protein-coding gene">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    rows = [f"chrM\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\tLABEL={label};CONSEQ={consequence};GENE={gene}"
            for pos, ref, alt, gene, consequence, label in sorted(chosen)]
    return "\n".join(header + rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(vcf_text(read_chrM(REFERENCE)))


if __name__ == "__main__":
    main()
