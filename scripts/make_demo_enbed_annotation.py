"""Build data/demo/enbed/annotation/: the ENBED study's function-annotation demo source (Table 4), a GTF in
Ensembl's layout and its assembly, from the real human segments of the demo reference.

    python scripts/make_demo_enbed_annotation.py     # rewrites data/demo/enbed/annotation/ byte for byte (stdlib only)

What is real and what is synthetic (docs/studies/enbed.md, data/demo/enbed/README.md):

* Real: the background. The assembly's records `1`, `2`, `17` and `22` are the real segments of the demo reference
  (data/demo/mirror/goldenPath/hg38/bigZips/hg38.fa.gz: GRCh37 chr1 and chr2 p-arm starts, an hg19 chr17 part,
  GRCh37 chr22 windows; data/demo/README.md), upper-cased, in demo coordinates. lncRNA exons and TEC exons
  annotate this real sequence unchanged (real lncRNAs are not told apart from intergenic sequence by composition).
* Synthetic: every annotation (genes, transcripts, exons, CDS; ids `ENSGDEMO...` that no Ensembl release has) and
  the sequence planted at the annotated coordinates of seven classes, each with a property its real counterpart
  has: CDS - codons drawn from a GC3-rich usage without in-frame stops (codon periodicity); snoRNA - box C
  (RUGAUGA) near the 5' end and box D (CUGA) near the 3' end, a terminal stem; miRNA - a precursor hairpin (a
  22-nt arm, a loop, the arm's reverse complement with two mismatches); snRNA - an Sm site (AAUUUUUGG) and a 3'
  stem-loop; misc_RNA - a Pol III internal promoter (A box TGGCNNAGTGG, B box GGTTCGANNCC) and a T-run
  terminator; TEC - a polyadenylation signal (AATAAA) near the 3' end of real sequence; processed pseudogene - a
  decayed copy (8 % substitutions, a frameshift) of an unannotated synthetic CDS with a poly(A) tail; unprocessed
  pseudogene - decayed copies of such a CDS's exons, several exons, no tail.

The GTF follows Ensembl's layout: `#!genome-build` headers; gene, transcript, exon, CDS, start_codon and
stop_codon rows; `key "value";` attributes in Ensembl's order (gene_id, gene_version, transcript_id, ...,
gene_biotype, transcript_biotype, tag). Genes on the minus strand carry the reverse complement in the assembly
and list their exons 5' to 3' of the transcript (descending coordinates), as Ensembl does.
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data/demo/mirror/goldenPath/hg38/bigZips/hg38.fa.gz"
OUT = ROOT / "data/demo/enbed/annotation"
REAL = {"chr1": "1", "chr2": "2", "chr17": "17", "chr22": "22"}  # demo reference record -> Ensembl name
COMPLEMENT = str.maketrans("ACGT", "TGCA")
STOPS = {"TAA", "TAG", "TGA"}
# Amino acid -> codons; GC3 codons (ending in G/C) drawn with weight 3, the others 1: human CDS are GC3-rich.
CODONS = {}
for codon in (a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT"):
    if codon not in STOPS:
        CODONS[codon] = 3 if codon[2] in "GC" else 1
CODON_LIST, CODON_WEIGHTS = list(CODONS), list(CODONS.values())
# Genes per class: (genes, exons per gene).
PLAN = {"CDS": (30, 3), "lncRNA": (30, 3), "snoRNA": (90, 1), "misc_RNA": (90, 1), "miRNA": (90, 1),
        "snRNA": (90, 1), "TEC": (90, 1), "processed_pseudogene": (90, 1), "unprocessed_pseudogene": (30, 3)}


def revcomp(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


def random_bases(rng: random.Random, n: int, gc: float = 0.45) -> str:
    at, cg = (1 - gc) / 2, gc / 2
    return "".join(rng.choices("ACGT", weights=[at, cg, cg, at], k=n))


def coding(rng: random.Random, codons: int) -> str:
    return "".join(rng.choices(CODON_LIST, weights=CODON_WEIGHTS, k=codons))


def decay(rng: random.Random, sequence: str, rate: float = 0.08) -> str:
    """Substitutions at `rate` and one frameshifting 1-nt deletion: a pseudogene's drift from its parent."""
    out = [rng.choice([b for b in "ACGT" if b != base]) if rng.random() < rate else base for base in sequence]
    del out[rng.randrange(len(out))]
    return "".join(out)


def snorna(rng: random.Random) -> str:
    stem = random_bases(rng, 5)
    middle = random_bases(rng, rng.randint(40, 70), gc=0.38)
    d_prime = len(middle) // 2
    middle = middle[:d_prime] + "CTGA" + middle[d_prime + 4 :]
    return stem + rng.choice("AG") + "TGATGA" + middle + "CTGA" + random_bases(rng, 2) + revcomp(stem)


def mirna(rng: random.Random) -> str:
    arm = random_bases(rng, 22, gc=0.5)
    back = list(revcomp(arm))
    for position in rng.sample(range(3, 19), 2):
        back[position] = rng.choice([b for b in "ACGT" if b != back[position]])
    return random_bases(rng, rng.randint(8, 14)) + arm + random_bases(rng, rng.randint(8, 12)) + "".join(back) + \
        random_bases(rng, rng.randint(8, 14))


def snrna(rng: random.Random) -> str:
    stem = random_bases(rng, 8, gc=0.6)
    return (random_bases(rng, rng.randint(60, 120), gc=0.5) + "AATTTTTGG" + random_bases(rng, rng.randint(8, 20))
            + stem + random_bases(rng, 5) + revcomp(stem) + random_bases(rng, 4))


def misc_rna(rng: random.Random) -> str:
    return (random_bases(rng, rng.randint(8, 14), gc=0.55) + "TGGC" + random_bases(rng, 2) + "AGTGG"
            + random_bases(rng, rng.randint(30, 60), gc=0.55) + "GGTTCGA" + random_bases(rng, 2) + "CC"
            + random_bases(rng, rng.randint(20, 120), gc=0.55) + "TTTT")


def read_reference() -> dict[str, str]:
    records, name, parts = {}, None, []
    with gzip.open(REFERENCE, "rt") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                if name in REAL:
                    records[REAL[name]] = "".join(parts).upper()
                name, parts = line[1:].split()[0], []
            elif line:
                parts.append(line)
    if name in REAL:
        records[REAL[name]] = "".join(parts).upper()
    return records


class Assembly:
    """The real background, with non-overlapping slots handed out and synthetic sequence written into them."""

    def __init__(self, records: dict[str, str], rng: random.Random):
        self.seq = {name: list(sequence) for name, sequence in records.items()}
        self.used = {name: [] for name in records}
        self.rng = rng

    def slot(self, length: int) -> tuple[str, int]:
        """A free 0-based start for `length` bases (plus 50 bases of spacing) on a record, away from N."""
        names = sorted(self.seq)
        while True:
            name = self.rng.choice(names)
            start = self.rng.randrange(50, len(self.seq[name]) - length - 50)
            end = start + length
            if any(s - 50 < end and start < e + 50 for s, e in self.used[name]):
                continue
            if "N" in self.seq[name][start:end]:
                continue
            self.used[name].append((start, end))
            return name, start

    def write(self, name: str, start: int, sequence: str) -> None:
        self.seq[name][start : start + len(sequence)] = list(sequence)

    def read(self, name: str, start: int, length: int) -> str:
        return "".join(self.seq[name][start : start + length])


def attributes(pairs: list[tuple[str, str]]) -> str:
    return " ".join(f'{k} "{v}";' for k, v in pairs)


def gene_rows(assembly: Assembly, rng: random.Random, number: int, biotype: str, exons: list[str | int]) -> list[str]:
    """Plant one gene (exon bodies given as sequences, or lengths to leave the real background), return its rows."""
    strand = rng.choice("+-")
    lengths = [len(e) if isinstance(e, str) else e for e in exons]
    introns = [rng.randint(100, 400) for _ in exons[1:]]
    span = sum(lengths) + sum(introns)
    chrom, start = assembly.slot(span)
    # Exon coordinates on the + strand of the record, in transcript order.
    offsets, position = [], 0
    for i, length in enumerate(lengths):
        offsets.append(position)
        position += length + (introns[i] if i < len(introns) else 0)
    if strand == "-":
        offsets = [span - o - l for o, l in zip(offsets, lengths)]
    coordinates = [(start + o, start + o + l) for o, l in zip(offsets, lengths)]  # 0-based half-open
    for (s, e), body in zip(coordinates, exons):
        if isinstance(body, str):
            assembly.write(chrom, s, body if strand == "+" else revcomp(body))
    gene_id, transcript_id = f"ENSGDEMO{number:07d}", f"ENSTDEMO{number:07d}"
    name = f"DEMO{number:05d}"
    source = "ensembl_havana" if biotype == "protein_coding" else "havana"
    gene = [("gene_id", gene_id), ("gene_version", "1"), ("gene_name", name), ("gene_source", source),
            ("gene_biotype", biotype)]
    transcript = gene[:2] + [("transcript_id", transcript_id), ("transcript_version", "1")] + gene[2:] + [
        ("transcript_name", f"{name}-201"), ("transcript_source", source), ("transcript_biotype", biotype),
        ("tag", "basic"), ("transcript_support_level", "NA")]
    low, high = min(s for s, _ in coordinates) + 1, max(e for _, e in coordinates)
    rows = [(chrom, source, "gene", low, high, strand, ".", attributes(gene)),
            (chrom, source, "transcript", low, high, strand, ".", attributes(transcript))]
    coding_done = 0
    for index, (s, e) in enumerate(coordinates, start=1):
        exon = transcript[:-2] + [("exon_number", str(index)), ("exon_id", f"ENSEDEMO{number:05d}{index:02d}"),
                                  ("exon_version", "1")] + transcript[-2:]
        rows.append((chrom, source, "exon", s + 1, e, strand, ".", attributes(exon)))
        if biotype == "protein_coding":
            protein = transcript[:-2] + [("exon_number", str(index)), ("protein_id", f"ENSPDEMO{number:07d}"),
                                         ("protein_version", "1")] + transcript[-2:]
            frame = (3 - coding_done % 3) % 3
            cds_end = e - 3 if strand == "+" and index == len(coordinates) else e
            cds_start = s + 3 if strand == "-" and index == len(coordinates) else s
            rows.append((chrom, source, "CDS", cds_start + 1, cds_end, strand, str(frame), attributes(protein)))
            coding_done += cds_end - cds_start
            if index == 1:
                first = (s + 1, s + 3) if strand == "+" else (e - 2, e)
                rows.append((chrom, source, "start_codon", *first, strand, "0", attributes(protein)))
            if index == len(coordinates):
                last = (e - 2, e) if strand == "+" else (s + 1, s + 3)
                rows.append((chrom, source, "stop_codon", *last, strand, "0", attributes(protein)))
    return ["\t".join(map(str, (c, src, f, a, b, ".", st, fr, attrs))) for c, src, f, a, b, st, fr, attrs in rows]


def class_exons(rng: random.Random, label: str, exons: int) -> tuple[str, list[str | int]]:
    """(gene biotype, exon bodies) of one gene of `label`."""
    if label == "CDS":
        bodies = [coding(rng, rng.randint(30, 70)) for _ in range(exons)]
        bodies[0] = "ATG" + bodies[0][3:]
        bodies[-1] = bodies[-1] + rng.choice(sorted(STOPS))
        return "protein_coding", bodies
    if label == "lncRNA":
        return "lncRNA", [rng.randint(120, 400) for _ in range(exons)]
    if label == "TEC":
        return "TEC", [rng.randint(150, 500)]
    if label == "processed_pseudogene":
        return label, [decay(rng, coding(rng, rng.randint(50, 120))) + "A" * rng.randint(12, 25)]
    if label == "unprocessed_pseudogene":
        return label, [decay(rng, coding(rng, rng.randint(30, 70))) for _ in range(exons)]
    return label, [{"snoRNA": snorna, "miRNA": mirna, "snRNA": snrna, "misc_RNA": misc_rna}[label](rng)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(12)
    assembly = Assembly(read_reference(), rng)
    rows, number = [], 0
    for label, (genes, exons) in PLAN.items():
        for _ in range(genes):
            number += 1
            biotype, bodies = class_exons(rng, label, exons)
            gene = gene_rows(assembly, rng, number, biotype, bodies)
            if label == "TEC":  # a polyadenylation signal 15-25 nt before the real exon's 3' end
                exon = next(r.split("\t") for r in gene if r.split("\t")[2] == "exon")
                chrom, start, end, strand = exon[0], int(exon[3]) - 1, int(exon[4]), exon[6]
                offset = rng.randint(15, 25)
                if strand == "+":
                    assembly.write(chrom, end - offset - 6, "AATAAA")
                else:
                    assembly.write(chrom, start + offset, revcomp("AATAAA"))
            rows += gene
    order = {"1": 0, "2": 1, "17": 2, "22": 3}
    # Rows of one gene stay together in Ensembl's files: genes by chromosome and start, each in transcript order.
    genes: dict[str, list[str]] = {}
    for row in rows:
        genes.setdefault(row.split('gene_id "')[1].split('"')[0], []).append(row)
    ordered = sorted(genes.values(), key=lambda g: (order[g[0].split("\t")[0]], int(g[0].split("\t")[3])))
    header = ["#!genome-build GRCh38.p14", "#!genome-version GRCh38", "#!genome-date 2013-12",
              "#!genome-build-accession GCA_000001405.29", "#!genebuild-last-updated 2023-03"]
    gtf = "\n".join(header + [row for gene in ordered for row in _transcript_order(gene)]) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    _write_gzip(args.out / "Homo_sapiens.demo.gtf.gz", gtf)
    fasta = io.StringIO()
    for name in sorted(assembly.seq, key=order.get):
        sequence = "".join(assembly.seq[name])
        fasta.write(f">{name} dna:chromosome chromosome:GRCh38:{name}:1:{len(sequence)}:1 REF\n")
        for i in range(0, len(sequence), 60):
            fasta.write(sequence[i : i + 60] + "\n")
    _write_gzip(args.out / "Homo_sapiens.demo.dna.toplevel.fa.gz", fasta.getvalue())
    print(f"{number} genes, {sum(len(g) for g in ordered)} GTF rows -> {args.out}")


def _transcript_order(gene: list[str]) -> list[str]:
    """gene, transcript, then per exon its exon, CDS and codon rows, in transcript order (as Ensembl lists them)."""
    head = [r for r in gene if r.split("\t")[2] in ("gene", "transcript")]
    head.sort(key=lambda r: r.split("\t")[2] != "gene")
    body = [r for r in gene if r.split("\t")[2] not in ("gene", "transcript")]
    kinds = {"exon": 0, "CDS": 1, "start_codon": 2, "stop_codon": 3}
    body.sort(key=lambda r: (int(r.split('exon_number "')[1].split('"')[0]), kinds[r.split("\t")[2]]))
    return head + body


def _write_gzip(path: Path, text: str) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
        handle.write(text.encode())


if __name__ == "__main__":
    main()
