#!/usr/bin/env python3
"""Build data/demo/small_transformers/: real mitochondrial sequence from Debian packages, laid out like the
study's real sources, for the small-transformer study's demo (docs/studies/small_transformers.md).

    python scripts/make_demo_small_transformers.py                 # rebuild mirror/ from sources/ (stdlib only)
    python scripts/make_demo_small_transformers.py --from-debian   # first re-extract sources/ (apt-get + dpkg)
    python scripts/make_demo_small_transformers.py --from-debian /path/to/unpacked/debs

What comes from where (all real sequence; nothing here is synthetic):

- paml 4.9j (`/usr/share/doc/paml/examples/`): `mtCDNA/mtCDNAmam.nuc` (20 mammals, the 12 H-strand protein-coding
  mitochondrial genes concatenated, 9,993 bp each; Yang et al. 1998) and `MouseLemurs/MouseLemurs.nuc` (35
  primates and outgroup mammals, 1,812 bp of mitochondrial protein-coding sequence; Yang & Yoder 2003).
- mrbayes 3.2.7a (`/usr/share/doc/mrbayes/examples/primates.nex`): 12 primates x 898 bp of mtDNA (Hayasaka et
  al. 1988).
- minimap2 (`/usr/share/doc/minimap2/test/MT-human.fa.gz`, `MT-orang.fa.gz`): the complete human (rCRS) and
  orangutan mitochondrial genomes, already extracted by scripts/make_demo_data.py into data/demo/sources/.

The mirror:

    mirror/refseq/release/mitochondrion/mitochondrion.1.1.genomic.fna.gz
        the pretraining corpus in the layout of NCBI's organelle release (one FASTA record per genome; the
        deflines name the package file, since these records have no RefSeq accession): human and orangutan
        complete genomes, the 20 mtCDNAmam mammals and the 12 mrbayes primates
    mirror/refseq/release/release-catalog/release-demo.files.installed   "<md5>\t<file>" as NCBI's catalogue
    mirror/markers/mouse_lemur_mtdna.fa.gz
        the species-classification marker of the demo (standing in for MitoFish's 12S genes, which ship in no
        package): one record per taxon of MouseLemurs.nuc, header `<taxon>|paml_MouseLemurs`

Output is byte-identical on every run (gzip mtime 0, no file name).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import re
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data/demo/small_transformers"
SOURCES = OUT / "sources"
MIRROR = OUT / "mirror"
DEMO_SOURCES = ROOT / "data/demo/sources"  # human and orangutan chrM (scripts/make_demo_data.py)
PACKAGES = ("paml", "mrbayes")


def write_gzip(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(text.encode())
    path.write_bytes(buffer.getvalue())


def read_gzip_fasta(path: Path) -> list[tuple[str, str]]:
    records, title, chunks = [], None, []
    for line in gzip.open(path, "rt"):
        line = line.strip()
        if line.startswith(">"):
            if title is not None:
                records.append((title, "".join(chunks)))
            title, chunks = line[1:], []
        elif line:
            chunks.append(line)
    if title is not None:
        records.append((title, "".join(chunks)))
    return records


def fasta(records: list[tuple[str, str]], width: int = 70) -> str:
    out = []
    for title, sequence in records:
        out.append(f">{title}")
        out.extend(sequence[i : i + width] for i in range(0, len(sequence), width))
    return "\n".join(out) + "\n"


def clean(sequence: str, first: str | None) -> str:
    """Alignment text -> bases: '.' is paml's 'same as the first sequence', gaps dropped, '?' -> N."""
    out = []
    for i, base in enumerate(sequence.upper()):
        if base == "." and first is not None:
            out.append(first[i])
        elif base in "-":
            continue
        else:
            out.append("N" if base == "?" else base)
    return "".join(out)


def parse_paml_sequential(text: str) -> list[tuple[str, str]]:
    """paml's sequential format: 'ntax nchar', then each name on its own line followed by sequence lines until
    nchar characters are read."""
    lines = [line.strip() for line in text.splitlines()]
    ntax, nchar = map(int, lines[0].split()[:2])
    records, name, chunks, have = [], None, [], nchar
    for line in lines[1:]:
        if not line:
            continue
        if have >= nchar:
            if name is not None:
                records.append((name, "".join(chunks)[:nchar]))
            if len(records) == ntax:
                break  # text after the alignment (paml appends gene lists and a second header)
            name, chunks, have = line, [], 0
            continue
        piece = line.replace(" ", "")
        chunks.append(piece)
        have += len(piece)
    if len(records) < ntax:
        records.append((name, "".join(chunks)[:nchar]))
    assert len(records) == ntax and all(len(s) == nchar for _, s in records), (len(records), ntax)
    return records


def parse_paml_oneline(text: str) -> list[tuple[str, str]]:
    """paml's one-line-per-taxon format: 'ntax nchar' then 'name  sequence' lines (spaces inside the sequence)."""
    lines = text.splitlines()
    ntax, nchar = map(int, lines[0].split()[:2])
    records = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) < 2 or line.startswith("//"):
            continue
        records.append((fields[0], "".join(fields[1:])[:nchar]))
    assert len(records) == ntax, (len(records), ntax)
    return records


def parse_nexus_matrix(text: str) -> list[tuple[str, str]]:
    body = text.split("matrix", 1)[1].split(";", 1)[0]
    return [(f[0], "".join(f[1:])) for f in (line.split() for line in body.splitlines()) if len(f) >= 2]


def resolve(records: list[tuple[str, str]]) -> list[tuple[str, str]]:
    first = records[0][1].upper()
    return [(name, clean(seq, first)) for name, seq in records]


def extract(debs: Path) -> None:
    doc = debs / "usr/share/doc"
    mam = resolve(parse_paml_sequential((doc / "paml/examples/mtCDNA/mtCDNAmam.nuc").read_text()))
    lemurs = resolve(parse_paml_oneline((doc / "paml/examples/MouseLemurs/MouseLemurs.nuc").read_text()))
    primates = resolve(parse_nexus_matrix((doc / "mrbayes/examples/primates.nex").read_text()))
    write_gzip(SOURCES / "mtCDNAmam_paml.fa.gz",
               fasta([(f"{n}|paml examples/mtCDNA/mtCDNAmam.nuc", s) for n, s in mam]))
    write_gzip(SOURCES / "MouseLemurs_paml.fa.gz",
               fasta([(f"{n}|paml examples/MouseLemurs/MouseLemurs.nuc", s) for n, s in lemurs]))
    write_gzip(SOURCES / "primates_mrbayes.fa.gz",
               fasta([(f"{n}|mrbayes examples/primates.nex", s) for n, s in primates]))


def build_mirror(mirror: Path = MIRROR) -> None:
    corpus = []
    for title, sequence in read_gzip_fasta(DEMO_SOURCES / "chrM_rCRS_minimap2.fa.gz"):
        corpus.append(("minimap2_MT-human Homo sapiens mitochondrion, complete genome (minimap2 test/MT-human.fa)", sequence))
    for title, sequence in read_gzip_fasta(DEMO_SOURCES / "mt_orang_minimap2.fa.gz"):
        corpus.append(("minimap2_MT-orang Pongo mitochondrion, complete genome (minimap2 test/MT-orang.fa)", sequence))
    for i, (title, sequence) in enumerate(read_gzip_fasta(SOURCES / "mtCDNAmam_paml.fa.gz"), 1):
        name = title.split("|")[0].split(".", 1)[1]
        corpus.append((f"paml_mtCDNAmam_{i:02d} {name} mitochondrion, 12 protein-coding genes (paml mtCDNAmam.nuc)", sequence))
    for i, (title, sequence) in enumerate(read_gzip_fasta(SOURCES / "primates_mrbayes.fa.gz"), 1):
        name = title.split("|")[0].replace("_", " ")
        corpus.append((f"mrbayes_primates_{i:02d} {name} mitochondrion, 898 bp segment (mrbayes primates.nex)", sequence))
    release = mirror / "refseq/release"
    genome_file = release / "mitochondrion/mitochondrion.1.1.genomic.fna.gz"
    write_gzip(genome_file, fasta(corpus, width=80))
    catalog = release / "release-catalog/release-demo.files.installed"
    catalog.parent.mkdir(parents=True, exist_ok=True)
    catalog.write_text(f"{hashlib.md5(genome_file.read_bytes()).hexdigest()}\t{genome_file.name}\n")
    markers = [(f"{title.split('|')[0]}|paml_MouseLemurs", s) for title, s in read_gzip_fasta(SOURCES / "MouseLemurs_paml.fa.gz")]
    write_gzip(mirror / "markers/mouse_lemur_mtdna.fa.gz", fasta(markers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-debian", nargs="?", const="apt", default=None,
                        help="re-extract sources/ from the Debian packages (apt-get download + dpkg -x), or from "
                             "a directory where they are unpacked")
    parser.add_argument("--mirror", type=Path, default=MIRROR, help="where to write the mirror (default: %(default)s)")
    args = parser.parse_args()
    if args.from_debian == "apt":
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, check=True)
            for deb in Path(tmp).glob("*.deb"):
                subprocess.run(["dpkg", "-x", str(deb), str(Path(tmp) / "x")], check=True)
            extract(Path(tmp) / "x")
    elif args.from_debian:
        extract(Path(args.from_debian))
    build_mirror(args.mirror)


if __name__ == "__main__":
    main()
