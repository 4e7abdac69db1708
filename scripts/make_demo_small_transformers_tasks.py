#!/usr/bin/env python3
"""Build data/demo/small_transformers/tasks/: the demo inputs of the small-transformer study's TSS-localization
and chromatin-profile tasks, in the real sources' layouts, with planted (synthetic) signals.

    python scripts/make_demo_small_transformers_tasks.py            # rebuild tasks/ (needs numpy, h5py, scipy)
    python scripts/make_demo_small_transformers_tasks.py --out DIR

What is real and what is synthetic (docs/studies/small_transformers.md, "The demo"):

- Background sequence is the demo reference's (data/demo/mirror/goldenPath/hg38/bigZips/hg38.fa.gz): its real
  human segments (chr1, chr2, chr17, chr22) and its synthetic Markov chromosomes (chr4, chr19, chrX;
  data/demo/README.md).
- epd/demo_promoters.fa.gz: that reference (those seven chromosomes, UCSC FASTA layout) with a promoter-like
  signal written in at every TSS of the two BED files: on the promoter's strand, a TATA-box-like 8-mer drawn
  from TATAWAWR starting 28..32 bp upstream of the TSS (-32..-28, uniform) and an Inr-like 7-mer drawn from
  YYANWYY whose A is the TSS. Every demo TSS carries both (real human promoters: a TATA box in < 20 %, an
  Inr-like element in about half), so the demo task is easier than EPDnew's. Decoys occur by chance: the
  unplanted sequence holds about 10 Inr-like 7-mers and 0.1-0.6 TATAWAWR 8-mers per kb.
- epd/Hs_EPDnew_demo_hg38.bed: synthetic TSSs on the real human segments (the training "organism");
  epd/Sy_EPDnew_demo_syn.bed: synthetic TSSs on the synthetic chromosomes (the second "organism": another
  background composition, not another species). EPDnew BED layout: chrom, start, end (the promoter region
  -49..+10 on the promoter's strand), name, score 900, strand, thickStart, thickEnd (the TSS base). TSSs are at
  least 1,100 bp apart, so the demo's -499..+500 windows never overlap; strands are drawn at random.
- deepsea/train.mat (MATLAB 7.3 = HDF5 with a 512-byte header block), deepsea/valid.mat and deepsea/test.mat
  (MATLAB v5): the DeepSEA bundle's arrays and orientations (genolm.sources.deepsea), A/G/C/T one-hot, 919
  label columns, but 200-bp sequences (the bundle's are 1,000 bp) cut from the real human segments (N-free,
  random position and strand). Six columns carry a planted motif (PLANTED below, two per label group): an
  example is positive with probability 0.25, a positive carries the motif (at a random position, either
  orientation) with probability 0.9, a negative with probability 0.05. The other 913 columns are noise
  (positive with probability 0.02, independent of the sequence). The motifs are consensus sequences named
  after what they resemble; nothing else about them is biology.

Output is byte-identical on every run (seeded numpy; gzip mtime 0; the MATLAB headers' dates are fixed; HDF5
without timestamps).
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data/demo/mirror/goldenPath/hg38/bigZips/hg38.fa.gz"
OUT = ROOT / "data/demo/small_transformers/tasks"
SEED = 20240610

HUMAN, SYNTHETIC = ("chr1", "chr2", "chr17", "chr22"), ("chr4", "chr19", "chrX")
TSS_SPACING, FLANK = 1100, 520  # a TSS every >= 1,100 bp, >= 520 bp from a chromosome end or N
IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "W": "AT", "R": "AG", "Y": "CT", "N": "ACGT"}
TATA, INR = "TATAWAWR", "YYANWYY"  # the Inr's A (index 2) is the TSS
DEEPSEA_LENGTH, DEEPSEA_SIZES = 200, {"train": 2000, "valid": 200, "test": 400}
PLANTED = {  # label column -> (group, motif)
    7: ("DNase", "GGGGCGGGGC"),     # GC-box-like
    60: ("DNase", "CCAATCAG"),      # CCAAT-box-like
    130: ("TF", "CCGCGAGGGGCAG"),   # CTCF-core-like
    402: ("TF", "TGACTCAT"),        # AP-1-like
    820: ("Histone", "CACGTGAC"),   # E-box-like
    901: ("Histone", "TTTCCCGGAAA"),  # STAT-like palindrome
}
_COMPLEMENT = str.maketrans("ACGTacgtN", "TGCAtgcaN")


def reverse_complement(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


def draw(pattern: str, rng: np.random.Generator) -> str:
    return "".join(IUPAC[c][rng.integers(len(IUPAC[c]))] for c in pattern)


def read_reference() -> dict[str, str]:
    records: dict[str, list[str]] = {}
    name = None
    with gzip.open(REFERENCE, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].split()[0]
                records[name] = []
            else:
                records[name].append(line.strip())
    return {k: "".join(v) for k, v in records.items()}


def write_gzip(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(data)
    path.write_bytes(buffer.getvalue())


# ---- TSS localization -----------------------------------------------------------------------------------------
def tss_sites(sequence: str, rng: np.random.Generator) -> list[int]:
    """TSS positions at least TSS_SPACING apart whose +-FLANK neighbourhood holds no N."""
    upper = sequence.upper()
    sites, position = [], FLANK
    while position < len(upper) - FLANK:
        if "N" not in upper[position - FLANK : position + FLANK]:
            sites.append(position)
            position += TSS_SPACING + int(rng.integers(0, 200))
        else:
            position += 50
    return sites


def plant_promoter(chrom: list[str], tss: int, strand: str, rng: np.random.Generator) -> None:
    """Write TATA (-32..-28 start) and Inr (A at the TSS) on the promoter's strand into `chrom` (a list of bases)."""
    tata, inr = draw(TATA, rng), draw(INR, rng)
    tata_start = -int(rng.integers(28, 33))
    for offset, motif in ((tata_start, tata), (-2, inr)):  # offsets relative to the TSS, on the promoter's strand
        for i, base in enumerate(motif):
            k = offset + i
            if strand == "+":
                chrom[tss + k] = base
            else:
                chrom[tss - k] = base.translate(_COMPLEMENT)


def bed_line(chrom: str, tss: int, strand: str, name: str) -> str:
    start, end = (tss - 49, tss + 11) if strand == "+" else (tss - 10, tss + 50)
    return f"{chrom}\t{start}\t{end}\t{name}\t900\t{strand}\t{tss}\t{tss + 1}\n"


def build_epd(reference: dict[str, str], out: Path, rng: np.random.Generator) -> None:
    chromosomes = {name: list(reference[name]) for name in HUMAN + SYNTHETIC}
    for organism, names, prefix, bed_name in (("human", HUMAN, "HSDEMO", "Hs_EPDnew_demo_hg38.bed"),
                                              ("synthetic", SYNTHETIC, "SYDEMO", "Sy_EPDnew_demo_syn.bed")):
        lines = []
        for chrom in sorted(names):
            for tss in tss_sites(reference[chrom], rng):
                strand = "+-"[int(rng.integers(2))]
                plant_promoter(chromosomes[chrom], tss, strand, rng)
                lines.append((chrom, tss, strand))
        lines.sort()
        text = "".join(bed_line(c, t, s, f"{prefix}{i + 1:04d}_1") for i, (c, t, s) in enumerate(lines))
        (out / "epd").mkdir(parents=True, exist_ok=True)
        (out / "epd" / bed_name).write_text(text)
    fasta = []
    for name in sorted(chromosomes):
        sequence = "".join(chromosomes[name])
        fasta.append(f">{name}\n" + "".join(sequence[i : i + 50] + "\n" for i in range(0, len(sequence), 50)))
    write_gzip(out / "epd" / "demo_promoters.fa.gz", "".join(fasta).encode())


# ---- chromatin profiles ---------------------------------------------------------------------------------------
def deepsea_examples(reference: dict[str, str], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot [n, 4, L] in A/G/C/T order, labels [n, 919]) with the planted motifs of PLANTED."""
    sources = [reference[c].upper() for c in HUMAN]
    labels = (rng.random((n, 919)) < 0.02).astype(np.uint8)
    onehot = np.zeros((n, 4, DEEPSEA_LENGTH), dtype=np.uint8)
    for row in range(n):
        while True:
            source = sources[int(rng.integers(len(sources)))]
            start = int(rng.integers(0, len(source) - DEEPSEA_LENGTH))
            window = source[start : start + DEEPSEA_LENGTH]
            if re.fullmatch("[ACGT]+", window):
                break
        window = list(window if rng.random() < 0.5 else reverse_complement(window))
        for column, (_, motif) in PLANTED.items():
            positive = rng.random() < 0.25
            labels[row, column] = positive
            if rng.random() < (0.9 if positive else 0.05):
                text = motif if rng.random() < 0.5 else reverse_complement(motif)
                at = int(rng.integers(0, DEEPSEA_LENGTH - len(text) + 1))
                window[at : at + len(text)] = list(text)
        for position, base in enumerate(window):
            onehot[row, "AGCT".index(base), position] = 1
    return onehot, labels


MATLAB_TEXT = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970 HDF5 schema 1.00 ."


def write_matlab73(path: Path, onehot: np.ndarray, labels: np.ndarray) -> None:
    """train.mat as MATLAB 7.3 writes it: HDF5 after a 512-byte header block, arrays column-major (h5py sees
    (L, 4, N) and (919, N))."""
    import h5py

    with h5py.File(path, "w", userblock_size=512, libver="earliest", track_order=False) as handle:
        handle.create_dataset("trainxdata", data=np.ascontiguousarray(np.transpose(onehot, (2, 1, 0))),
                              compression="gzip", compression_opts=9, track_times=False)
        handle.create_dataset("traindata", data=np.ascontiguousarray(labels.T), compression="gzip",
                              compression_opts=9, track_times=False)
    header = MATLAB_TEXT.encode().ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as handle:
        handle.write(header.ljust(512, b"\x00"))


def write_matlab5(path: Path, split: str, onehot: np.ndarray, labels: np.ndarray) -> None:
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, {f"{split}xdata": onehot, f"{split}data": labels}, format="5", do_compression=True)
    data = bytearray(buffer.getvalue())
    # The first 116 bytes are descriptive text with the creation date: fixed, so the file is reproducible.
    data[:116] = b"MATLAB 5.0 MAT-file, Platform: posix, Created on: Thu Jan  1 00:00:00 1970".ljust(116, b" ")
    path.write_bytes(bytes(data))


def build_deepsea(reference: dict[str, str], out: Path, rng: np.random.Generator) -> None:
    (out / "deepsea").mkdir(parents=True, exist_ok=True)
    for split, n in DEEPSEA_SIZES.items():
        onehot, labels = deepsea_examples(reference, n, rng)
        if split == "train":
            write_matlab73(out / "deepsea" / "train.mat", onehot, labels)
        else:
            write_matlab5(out / "deepsea" / f"{split}.mat", split, onehot, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (default: %(default)s)")
    args = parser.parse_args()
    reference = read_reference()
    build_epd(reference, args.out, np.random.default_rng(SEED))
    build_deepsea(reference, args.out, np.random.default_rng(SEED + 1))


if __name__ == "__main__":
    main()
