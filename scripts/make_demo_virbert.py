#!/usr/bin/env python3
"""Regenerate the virBERT study's demo genomes: synthetic phage-like and eukaryotic-virus-like genome families
derived from real sequence, in data/demo/virbert/ (documented in docs/studies/virbert.md).

    python scripts/make_demo_virbert.py              # rebuild data/demo/virbert from data/demo/sources
    python scripts/make_demo_virbert.py --out /tmp/x

Why: the demo mirror holds four labelled real viral genomes (phages lambda and phiX174, the iflaviruses DWV and
VDV-1), too few to split 70/20/10 by genome. The study's demo adds genome *families*, each split as a whole:

  * class material - phage: the real phage genomes (lambda, phiX174) and real starts of their host bacteria's
    genomes (E. coli 536, H. pylori G27, S. aureus COL); other virus: the real iflavirus genomes (DWV, VDV-1,
    VDV-1/DWV recombinant) and real human sequence (chr1, chr22 pieces) - a virus's composition follows its host's;
  * a family founder (2-8 kb) alternates blocks copied from its class's real sequences at 12-25 % divergence with
    blocks drawn from an order-4 Markov chain fitted on a mixture of its class's material and of *all* material
    (family weight w in [0.25, 0.9] on its class), with a family GC tilt - so families differ, and some are
    hard to place;
  * members: the founder with 2-6 % substitutions, small indels and one block swap each.

The real mirror genomes keep their own identities; families.tsv puts DWV and VDV-1 (84 % identical) into one
family. Deterministic: Python's random.Random with fixed seeds, gzip with mtime 0 (stdlib only).
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "demo" / "sources"
FAMILIES_PER_CLASS = 16
MEMBERS = 4
SEED = 20240611
ORDER = 4


def read_fasta_gz(path: Path) -> list[str]:
    out, current = [], []
    for line in gzip.open(path, "rt"):
        if line.startswith(">"):
            if current:
                out.append("".join(current).upper())
            current = []
        else:
            current.append(line.strip())
    if current:
        out.append("".join(current).upper())
    return out


def read_genbank_gz(path: Path) -> str:
    text = gzip.open(path, "rt").read()
    origin = text.split("\nORIGIN", 1)[1].split("//", 1)[0]
    return "".join(c for c in origin if c.isalpha()).upper()


def clean(seq: str) -> str:
    return "".join(c for c in seq if c in "ACGT")


def material() -> dict[str, list[str]]:
    phage = [read_fasta_gz(SOURCES / "lambda_phage_bowtie2.fa.gz")[0], read_genbank_gz(SOURCES / "phiX174_biopython.gbk.gz")]
    hosts = [read_fasta_gz(SOURCES / f)[0] for f in ("ecoli536_start_bowtie.fa.gz", "hpylori_g27_start_ragout.fa.gz",
                                                      "saureus_col_start_ragout.fa.gz")]
    viruses = [read_fasta_gz(SOURCES / f)[0] for f in ("dwv_gasic.fa.gz", "vdv1_gasic.fa.gz", "vdv1dwv5_gasic.fa.gz")]
    human = [s[i : i + 20000] for s in read_fasta_gz(SOURCES / "chr22_GRCh37_windows_maffilter.fa.gz") for i in (30000, 150000)]
    human += [s[10000:30000] for s in read_fasta_gz(SOURCES / "chr1_chr2_GRCh37_first100kb_artfastqgenerator.fa.gz")]
    return {"phage": [clean(s) for s in phage + hosts], "other": [clean(s) for s in viruses + human],
            "phage_viral": [clean(s) for s in phage], "other_viral": [clean(s) for s in viruses]}


def fit_chain(sequences: list[str]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [1, 1, 1, 1])
    index = {b: i for i, b in enumerate("ACGT")}
    for seq in sequences:
        for i in range(ORDER, len(seq)):
            counts[seq[i - ORDER : i]][index[seq[i]]] += 1
    return dict(counts)


def mix_chain(a: dict, b: dict, w: float, gc_tilt: float) -> dict[str, list[float]]:
    out = {}
    for ctx in set(a) | set(b):
        pa, pb = a.get(ctx, [1, 1, 1, 1]), b.get(ctx, [1, 1, 1, 1])
        sa, sb = sum(pa), sum(pb)
        p = [w * x / sa + (1 - w) * y / sb for x, y in zip(pa, pb)]
        p = [p[0] * (1 - gc_tilt), p[1] * (1 + gc_tilt), p[2] * (1 + gc_tilt), p[3] * (1 - gc_tilt)]
        total = sum(p)
        out[ctx] = [x / total for x in p]
    return out


def sample_chain(chain: dict, length: int, rng: random.Random, seed_text: str) -> str:
    seq = list(seed_text[:ORDER])
    uniform = [0.25] * 4
    while len(seq) < length:
        p = chain.get("".join(seq[-ORDER:]), uniform)
        seq.append(rng.choices("ACGT", weights=p)[0])
    return "".join(seq)


def mutate(seq: str, rate: float, indel_rate: float, rng: random.Random) -> str:
    out = []
    for base in seq:
        r = rng.random()
        if r < indel_rate / 2:
            continue  # deletion
        if r < indel_rate:
            out.append(rng.choice("ACGT"))  # insertion before the base
        out.append(rng.choice([b for b in "ACGT" if b != base]) if rng.random() < rate else base)
    return "".join(out)


def founder(cls: str, stuff: dict, chains: dict, all_chain: dict, rng: random.Random) -> str:
    w = rng.uniform(0.25, 0.9)
    tilt = rng.gauss(0, 0.06)
    chain = mix_chain(chains[cls], all_chain, w, tilt)
    length = rng.randint(2000, 8000)
    viral = stuff[f"{cls}_viral"]
    parts, total = [], 0
    while total < length:
        size = rng.randint(300, 1200)
        if rng.random() < 0.4:
            source = rng.choice(viral)
            start = rng.randrange(0, len(source) - size)
            block = mutate(source[start : start + size], rng.uniform(0.12, 0.25), 0.01, rng)
        else:
            block = sample_chain(chain, size, rng, rng.choice(viral)[:ORDER])
        parts.append(block)
        total += len(block)
    return "".join(parts)[:length]


def relative(seq: str, rng: random.Random) -> str:
    child = mutate(seq, rng.uniform(0.02, 0.06), 0.004, rng)
    a, b = sorted(rng.sample(range(len(child)), 2))
    if b - a > 200:
        mid = (a + b) // 2
        child = child[:a] + child[mid:b] + child[a:mid] + child[b:]
    return child


def write_gz(path: Path, text: str) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(text.encode())
    path.write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "demo" / "virbert")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    stuff = material()
    chains = {cls: fit_chain(stuff[cls]) for cls in ("phage", "other")}
    all_chain = fit_chain(stuff["phage"] + stuff["other"])
    fasta, table = [], ["accession\tgenome_id\tis_phage\torigin"]
    families = ["genome_id\tfamily",
                "taxid:198112\tiflavirus-dwv-vdv1",  # DWV (real, mirror)
                "taxid:237567\tiflavirus-dwv-vdv1"]  # VDV-1 (real, mirror)
    for cls in ("phage", "other"):
        for f in range(FAMILIES_PER_CLASS):
            family = f"syn-{cls}-fam{f:02d}"
            base = founder(cls, stuff, chains, all_chain, rng)
            for m in range(MEMBERS):
                genome = f"{family}-g{m}"
                seq = base if m == 0 else relative(base, rng)
                fasta.append(f">{genome} synthetic {cls}-like genome, family {family}, member {m}\n")
                fasta += [seq[i : i + 70] + "\n" for i in range(0, len(seq), 70)]
                table.append(f"{genome}\t{genome}\t{'true' if cls == 'phage' else 'false'}\tsynthetic")
                families.append(f"{genome}\t{family}")
    write_gz(args.out / "genomes.fa.gz", "".join(fasta))
    (args.out / "genomes.tsv").write_text("\n".join(table) + "\n")
    (args.out / "families.tsv").write_text("\n".join(families) + "\n")


if __name__ == "__main__":
    main()
