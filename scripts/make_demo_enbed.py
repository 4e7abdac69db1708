"""Build data/demo/enbed/: the ENBED study's mutation-generation demo source, in the layout `genolm enbed-pairs`
reads (a FASTA of sequences and a parent/child/clade table), from the real viral genomes of the demo mirror.

    python scripts/make_demo_enbed.py            # rewrites data/demo/enbed/ byte for byte (stdlib only)

What is real and what is synthetic (docs/studies/enbed.md):

* Real: every parent. Each clade's root is a window of a real viral genome in data/demo/mirror/refseq/release/viral
  (phage lambda, phiX174, deformed wing virus, Varroa destructor virus 1 and the recombinant DWV isolate
  HM067437.1, all from Debian packages). Windows are consecutive and non-overlapping within a genome; the DWV
  isolate shares much of its sequence with DWV, so some clades of the two genomes are more than 95 % similar,
  which the split's similarity rule has to keep on one side.
* Synthetic: the phylogeny (a star per clade: the root and its children) and the mutation process. A child is its
  parent with an APOBEC3-like rule applied (every C in a TCW context, W = A or T, becomes T, so the rule is a
  function of the parent that a model can learn) and, with probability 0.3, one further random substitution (the
  unpredictable part, which caps exact match below 100 %). Influenza pairs are not shipped: the real source is
  the Influenza Virus Resource (docs/real_data.md).

The sequences are `FLANK + LENGTH + FLANK` bases long and the study cuts the region [FLANK, FLANK + LENGTH), as it
cuts HA1 nt 300-799 from a real HA segment.
"""

from __future__ import annotations

import argparse
import gzip
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIRAL = ROOT / "data/demo/mirror/refseq/release/viral"
OUT = ROOT / "data/demo/enbed"
FLANK = 4


def viral_genomes() -> list[tuple[str, str]]:
    genomes = []
    for path in sorted(VIRAL.glob("viral.*.1.genomic.fna.gz")):
        name, parts = None, []
        for line in gzip.open(path, "rt"):
            line = line.strip()
            if line.startswith(">"):
                if name:
                    genomes.append((name, "".join(parts).upper()))
                name, parts = line[1:].split()[0], []
            elif line:
                parts.append(line)
        if name:
            genomes.append((name, "".join(parts).upper()))
    return genomes


def apobec(sequence: str) -> str:
    """Every C in a TCW context (W = A/T) becomes T; contexts are read on the parent."""
    out = list(sequence)
    for i in range(1, len(sequence) - 1):
        if sequence[i - 1] == "T" and sequence[i] == "C" and sequence[i + 1] in "AT":
            out[i] = "T"
    return "".join(out)


def child_of(parent: str, rng: random.Random, start: int, end: int) -> str:
    child = list(apobec(parent))
    if rng.random() < 0.3:
        position = rng.randrange(start, end)
        child[position] = rng.choice([b for b in "ACGT" if b != child[position]])
    return "".join(child)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=24, help="region length (the pairs' length)")
    parser.add_argument("--clades-per-genome", type=int, default=60)
    parser.add_argument("--children", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(4)
    width = args.length + 2 * FLANK
    fasta, pairs = [], ["parent\tchild\tclade"]
    for accession, genome in viral_genomes():
        starts = range(0, len(genome) - width + 1, width)
        for number, start in enumerate(list(starts)[: args.clades_per_genome]):
            root = genome[start : start + width]
            if set(root) - set("ACGT"):
                continue
            clade = f"{accession}_{number:03d}"
            fasta.append((f"{clade}_root", root))
            for c in range(args.children):
                child = child_of(root, rng, FLANK, FLANK + args.length)
                fasta.append((f"{clade}_c{c}", child))
                pairs.append(f"{clade}_root\t{clade}_c{c}\t{clade}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sequences.fasta").write_text("".join(f">{name}\n{seq}\n" for name, seq in fasta))
    (args.out / "pairs.tsv").write_text("\n".join(pairs) + "\n")
    print(f"{len(pairs) - 1} pairs, {len(fasta)} sequences -> {args.out}")


if __name__ == "__main__":
    main()
