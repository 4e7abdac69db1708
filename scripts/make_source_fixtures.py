#!/usr/bin/env python3
"""Regenerate the demo mirror of the multi-species sources: RefSeq assemblies, NCBI organelle and viral
releases, MitoFish, Virus-Host DB and the benchmark suites, all in their real layouts.

    python scripts/make_source_fixtures.py                       # rebuild data/demo/mirror/... from data/demo/sources
    python scripts/make_source_fixtures.py --from-debian         # first re-extract the sources (apt-get download)
    python scripts/make_source_fixtures.py --from-debian DIR     # ... from `dpkg -x` output already in DIR
    python scripts/make_source_fixtures.py --out /tmp/x          # write under /tmp/x/mirror instead

Sibling of make_demo_data.py (the GRCh38 + DepMap mirror), and like it deterministic and standard-library
only: gzip with mtime 0, zip members dated 1980-01-01, GenBank text formatted here rather than by a library
whose output may change between versions. What is real and what is synthetic: data/demo/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / "data" / "demo"
SOURCES_DIR = DEMO_DIR / "sources"
SEED = 20251001
BACTERIA_SLICE = 12_000  # bases kept from the start of each bacterial chromosome

# Debian package -> (file inside it, committed source name, bases to keep or None for all)
DEBIAN = {
    "bowtie2-examples": [("usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz", "lambda_phage_bowtie2.fa.gz", None)],
    "python-biopython-doc": [("usr/share/doc/python-biopython-doc/Tests/GFF/NC_001422.gbk.gz", "phiX174_biopython.gbk.gz", None)],
    "gasic-examples": [
        ("usr/share/doc/gasic/examples/genomes/dwv.fasta.gz", "dwv_gasic.fa.gz", None),
        ("usr/share/doc/gasic/examples/genomes/vdv1.fasta.gz", "vdv1_gasic.fa.gz", None),
        ("usr/share/doc/gasic/examples/genomes/vdv1dwv5.fasta.gz", "vdv1dwv5_gasic.fa.gz", None),
    ],
    "bowtie-examples": [("usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz", "ecoli536_start_bowtie.fa.gz", BACTERIA_SLICE)],
    "ragout-examples": [
        ("usr/share/doc/ragout/examples/S.Aureus/references/COL.fasta.gz", "saureus_col_start_ragout.fa.gz", BACTERIA_SLICE),
        ("usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz", "hpylori_g27_start_ragout.fa.gz", BACTERIA_SLICE),
    ],
    "minimap2": [("usr/share/doc/minimap2/test/MT-orang.fa.gz", "mt_orang_minimap2.fa.gz", None)],
}

# Human 12S (MT-RNR1) on the rCRS, 1-based inclusive (NC_012920.1 annotation), and the same gene on the
# orangutan mitogenome, found by aligning it with minimap2 (`minimap2 -c MT-orang.fa h12s.fa`: 71-1025, 0-based).
HUMAN_12S = (648, 1601)
HUMAN_16S = (1671, 3229)
ORANG_12S = (72, 1025)


# --- helpers ---------------------------------------------------------------------------------------------


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def read_fasta(data: bytes) -> list[tuple[str, str]]:
    records: list[tuple[str, list[str]]] = []
    for line in gzip.decompress(data).decode().splitlines():
        if line.startswith(">"):
            records.append((line[1:].strip(), []))
        elif line.strip():
            records[-1][1].append(line.strip())
    return [(h, "".join(s)) for h, s in records]


def fasta(records: list[tuple[str, str]], width: int = 80) -> bytes:
    lines = []
    for header, seq in records:
        lines.append(f">{header}")
        lines += [seq[i:i + width] for i in range(0, len(seq), width)]
    return ("\n".join(lines) + "\n").encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    path = Path(tempfile.mkstemp(suffix=".zip")[1])
    try:
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        return path.read_bytes()
    finally:
        path.unlink()


def _ncbi_defline(header: str) -> str:
    fields = header.split("|")
    return f"{fields[3]} {fields[4].strip()}" if header.startswith("gi|") and len(fields) >= 5 else header


def revcomp(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


def mutate(rng: random.Random, seq: str, rate: float) -> str:
    return "".join(rng.choice([b for b in "ACGT" if b != c]) if c in "ACGT" and rng.random() < rate else c for c in seq)


def genbank(accession: str, version: int, organism: str, lineage: str, taxid: int, seq: str,
            features: list[tuple[str, str, dict[str, str]]], definition: str, topology: str = "circular") -> str:
    """A GenBank flat-file record in NCBI's column layout (LOCUS line, 21-column feature qualifiers)."""
    out = [f"LOCUS       {accession:<16}{len(seq):>12} bp    DNA     {topology:<8} VRT 01-JAN-2025",
           f"DEFINITION  {definition}", f"ACCESSION   {accession}", f"VERSION     {accession}.{version}",
           "KEYWORDS    RefSeq.", f"SOURCE      mitochondrion {organism}", f"  ORGANISM  {organism}"]
    words, line = lineage.split(" "), ""
    for word in words:
        if len(line) + len(word) + 1 > 66:
            out.append(f"            {line.rstrip()}")
            line = ""
        line += word + " "
    out.append(f"            {line.rstrip()}")
    out.append("FEATURES             Location/Qualifiers")
    all_features = [("source", f"1..{len(seq)}", {"organism": organism, "organelle": "mitochondrion",
                                                  "mol_type": "genomic DNA", "db_xref": f"taxon:{taxid}"})]
    for kind, location, qualifiers in all_features + features:
        out.append(f"     {kind:<16}{location}")
        for key, value in qualifiers.items():
            out.append(f'                     /{key}="{value}"')
    out.append("ORIGIN      ")
    lower = seq.lower()
    for start in range(0, len(lower), 60):
        chunk = " ".join(lower[i:i + 10] for i in range(start, min(start + 60, len(lower)), 10))
        out.append(f"{start + 1:>9} {chunk}")
    out.append("//")
    return "\n".join(out) + "\n"


# --- sources from Debian ---------------------------------------------------------------------------------


def extract_sources(root: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if root is None:
            root = Path(tmp) / "root"
            subprocess.run(["apt-get", "download", *DEBIAN], cwd=tmp, check=True)
            for deb in Path(tmp).glob("*.deb"):
                subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        for files in DEBIAN.values():
            for inside, name, keep in files:
                data = (root / inside).read_bytes()
                if keep is not None:
                    header, seq = read_fasta(data)[0]
                    data = gz(fasta([(f"{header} [first {keep} bases]", seq[:keep])]))
                else:
                    data = gz(gzip.decompress(data))
                write(SOURCES_DIR / name, data)


# --- the mirror ------------------------------------------------------------------------------------------


def refseq_assemblies(out: Path) -> None:
    """genomes/refseq/bacteria/assembly_summary.txt + one directory per assembly, NCBI layout."""
    bacteria = [
        # accession, asm name, taxid, species taxid, organism, strain, category, level, status, source file
        ("GCF_900000011.1", "DemoEc536", 362663, 562, "Escherichia coli 536", "strain=536", "representative genome",
         "Complete Genome", "latest", "ecoli536_start_bowtie.fa.gz"),
        ("GCF_900000012.1", "DemoEcOld", 362663, 562, "Escherichia coli 536", "strain=536", "na",
         "Contig", "replaced", None),
        ("GCF_900000021.1", "DemoSaCOL", 93062, 1280, "Staphylococcus aureus subsp. aureus COL", "strain=COL",
         "reference genome", "Complete Genome", "latest", "saureus_col_start_ragout.fa.gz"),
        ("GCF_900000031.1", "DemoHpG27", 563041, 210, "Helicobacter pylori G27", "strain=G27", "na",
         "Complete Genome", "latest", "hpylori_g27_start_ragout.fa.gz"),
    ]
    header = ("assembly_accession bioproject biosample wgs_master refseq_category taxid species_taxid organism_name "
              "infraspecific_name isolate version_status assembly_level release_type genome_rep seq_rel_date asm_name "
              "asm_submitter gbrs_paired_asm paired_asm_comp ftp_path excluded_from_refseq relation_to_type_material "
              "asm_not_live_date assembly_type group genome_size genome_size_ungapped gc_percent replicon_count "
              "scaffold_count contig_count annotation_provider annotation_name annotation_date total_gene_count "
              "protein_coding_gene_count non_coding_gene_count pubmed_id").split()
    lines = ["#   See ftp://ftp.ncbi.nlm.nih.gov/genomes/README_assembly_summary.txt for a description of the columns "
             "in this file.", "#" + "\t".join(header)]
    for acc, asm, taxid, species, organism, strain, category, level, status, source in bacteria:
        digits = acc[4:13]
        directory = f"all/GCF/{digits[:3]}/{digits[3:6]}/{digits[6:]}/{acc}_{asm}"
        ftp = f"https://ftp.ncbi.nlm.nih.gov/genomes/{directory}" if source else "na"
        row = {name: "na" for name in header}
        row.update({"assembly_accession": acc, "bioproject": "PRJNA000000", "biosample": "SAMN00000000",
                    "refseq_category": category, "taxid": str(taxid), "species_taxid": str(species),
                    "organism_name": organism, "infraspecific_name": strain, "version_status": status,
                    "assembly_level": level, "release_type": "Major", "genome_rep": "Full",
                    "seq_rel_date": "2025/01/01", "asm_name": asm, "asm_submitter": "genolm demo", "ftp_path": ftp,
                    "assembly_type": "haploid", "group": "bacteria", "annotation_provider": "na"})
        lines.append("\t".join(row[name] for name in header))
        if source:
            # NCBI deflines are "<accession> <title>"; the Debian copies keep the old "gi|N|ref|ACC|" form.
            genome = gz(fasta([(_ncbi_defline(h), s) for h, s in read_fasta((SOURCES_DIR / source).read_bytes())]))
            base = out / "genomes" / directory
            name = f"{acc}_{asm}_genomic.fna.gz"
            write(base / name, genome)
            write(base / "md5checksums.txt", f"{md5(genome)}  ./{name}\n".encode())
    write(out / "genomes/refseq/bacteria/assembly_summary.txt", ("\n".join(lines) + "\n").encode())


def mitochondria(out: Path, rng: random.Random) -> None:
    human = read_fasta((SOURCES_DIR / "chrM_rCRS_minimap2.fa.gz").read_bytes())[0][1].upper()
    orang = read_fasta((SOURCES_DIR / "mt_orang_minimap2.fa.gz").read_bytes())[0][1].upper()
    primates = "Eukaryota; Metazoa; Chordata; Craniata; Vertebrata; Euteleostomi; Mammalia; Eutheria; " \
               "Euarchontoglires; Primates; Haplorrhini; Catarrhini; Hominidae;"
    fish = "Eukaryota; Metazoa; Chordata; Craniata; Vertebrata; Euteleostomi; Actinopterygii; Neopterygii; " \
           "Teleostei;"
    release1 = genbank("NC_012920", 1, "Homo sapiens", primates + " Homo.", 9606, human, [
        ("rRNA", f"{HUMAN_12S[0]}..{HUMAN_12S[1]}", {"gene": "RNR1", "product": "s-rRNA",
                                                     "note": "12S rRNA; 12S ribosomal RNA"}),
        ("rRNA", f"{HUMAN_16S[0]}..{HUMAN_16S[1]}", {"gene": "RNR2", "product": "l-rRNA",
                                                     "note": "16S ribosomal RNA"}),
    ], "Homo sapiens mitochondrion, complete genome.")
    # Synthetic: the human sequence with only its 16S annotated, and an unannotated record.
    only_16s, unannotated = mutate(rng, human, 0.05), mutate(rng, orang[:6000], 0.05)
    release1 += genbank("ZZ000001", 1, "Demo syntheticus", primates + " Demo.", 2_900_001,
                        only_16s, [("rRNA", f"{HUMAN_16S[0]}..{HUMAN_16S[1]}",
                                                    {"gene": "rrnL", "product": "16S ribosomal RNA"})],
                        "Demo syntheticus mitochondrion, complete genome (synthetic).")
    release2 = genbank("NC_002083", 1, "Pongo abelii", primates + " Pongo.", 9601, orang, [
        ("rRNA", f"{ORANG_12S[0]}..{ORANG_12S[1]}", {"product": "12S ribosomal RNA"})],
        "Pongo abelii mitochondrion, complete genome.")
    release2 += genbank("ZZ000002", 1, "Demo nudus", primates + " Demo.", 2_900_002, unannotated,
                        [], "Demo nudus mitochondrion, partial genome, unannotated (synthetic).", "linear")
    directory = out / "refseq/release/mitochondrion"
    listing = []
    for number, text in ((1, release1), (2, release2)):
        for name, data in ((f"mitochondrion.{number}.genomic.gbff.gz", gz(text.encode())),
                           (f"mitochondrion.{number}.1.genomic.fna.gz",
                            gz(fasta([(f"{acc}.1 mitochondrion", s) for acc, s in (
                                (("NC_012920", human), ("ZZ000001", only_16s)) if number == 1 else
                                (("NC_002083", orang), ("ZZ000002", unannotated)))])))):
            write(directory / name, data)
            listing.append(f"{md5(data)} {name}")  # "<md5> <file>": any whitespace between; one space here
    write(out / "refseq/release/release-catalog/release-demo.files.installed", ("\n".join(listing) + "\n").encode())

    # MitoFish: synthetic fish mitogenome fragments (the orangutan 12S region, mutated), headers in three layouts,
    # annotated the way mitoannotations.zip annotates: per-genome tables, `<acc>.txt` (entry, feature, location,
    # qualifier, value) and `<acc>.NCBI.txt` (NCBI feature table), no sequence in either.
    region = orang[: ORANG_12S[1] + 600]
    fishes = [("ZZ000101", "Danio rerio", 7955, f"gb|ZZ000101|Danio_rerio", True),
              ("ZZ000102", "Salmo salar", 8030, "ZZ000102|Salmo salar|partial mitogenome", True),
              ("ZZ000103", "Oncorhynchus mykiss", 8022, "Oncorhynchus_mykiss|ZZ000103.1", False)]
    genomes, annotations = [], {}
    for acc, species, taxid, header, annotated in fishes:
        seq = mutate(rng, region, 0.18)
        if acc == "ZZ000102":  # deposited reverse-complemented: its 12S lies on the minus strand
            seq = revcomp(seq)
        genomes.append((header, seq))
        if annotated:
            start, end = ORANG_12S
            if acc == "ZZ000102":
                start, end = len(seq) - ORANG_12S[1] + 1, len(seq) - ORANG_12S[0] + 1
            annotations[f"{acc}.txt"] = mitofish_table(acc, species, taxid, len(seq), start, end, acc == "ZZ000102")
            annotations[f"{acc}.NCBI.txt"] = mitofish_feature_table(acc, species, len(seq), start, end,
                                                                    acc == "ZZ000102")
    write(out / "mitofish/complete_partial_mitogenomes.zip",
          zip_bytes({"complete_partial_mitogenomes.fa": fasta(genomes)}))
    write(out / "mitofish/mitoannotations.zip", zip_bytes(annotations))


def mitofish_table(acc: str, species: str, taxid: int, length: int, start: int, end: int, minus: bool) -> bytes:
    """A MitoFish `<acc>.txt`: tab-separated entry, feature, location, qualifier, value (DDBJ annotation layout)."""
    location = f"complement({start}..{end})" if minus else f"{start}..{end}"
    rows = [[acc, "TOPOLOGY", "", "circular", ""],
            ["", "source", f"1..{length}", "organism", species], ["", "", "", "organelle", "mitochondrion"],
            ["", "", "", "mol_type", "genomic DNA"], ["", "", "", "db_xref", f"taxon:{taxid}"],
            ["", "rRNA", location, "product", "12S rRNA"]]
    return "".join("\t".join(row) + "\n" for row in rows).encode()


def mitofish_feature_table(acc: str, species: str, length: int, start: int, end: int, minus: bool) -> bytes:
    """A MitoFish `<acc>.NCBI.txt`: NCBI's five-column feature table (start > stop on the minus strand)."""
    first, last = (end, start) if minus else (start, end)
    lines = [f">Feature {acc}", f"1\t{length}\tsource", f"\t\t\torganism\t{species}", f"{first}\t{last}\trRNA",
             "\t\t\tgene\trrnS", "\t\t\tproduct\t12S rRNA"]
    return ("\n".join(lines) + "\n").encode()


def viruses(out: Path) -> None:
    lam = read_fasta((SOURCES_DIR / "lambda_phage_bowtie2.fa.gz").read_bytes())[0][1]
    phix_gbk = gzip.decompress((SOURCES_DIR / "phiX174_biopython.gbk.gz").read_bytes()).decode()
    origin = phix_gbk.split("\nORIGIN", 1)[1]
    phix = "".join(c for c in origin if c.isalpha()).upper()
    insects = [read_fasta((SOURCES_DIR / name).read_bytes())[0] for name in
               ("dwv_gasic.fa.gz", "vdv1_gasic.fa.gz", "vdv1dwv5_gasic.fa.gz")]
    file1 = [("NC_001416.1 Enterobacteria phage lambda, complete genome", lam),
             ("NC_001422.1 Coliphage phiX174, complete genome", phix)]
    file2 = [(h.split("|")[3] + h.split("|")[4], s) for h, s in insects]
    directory = out / "refseq/release/viral"
    write(directory / "viral.1.1.genomic.fna.gz", gz(fasta(file1, 70)))
    write(directory / "viral.2.1.genomic.fna.gz", gz(fasta(file2, 70)))
    write(directory / "viral.1.genomic.gbff.gz", gz(phix_gbk.encode()))
    columns = ["virus tax id", "virus name", "virus lineage", "refseq id", "KEGG GENOME", "KEGG DISEASE", "DISEASE",
               "host tax id", "host name", "host lineage", "pmid", "evidence", "sample type", "source organism"]
    phage_lineage = "Viruses; Duplodnaviria; Heunggongvirae; Uroviricota; Caudoviricetes"
    ecoli = "Bacteria; Pseudomonadota; Gammaproteobacteria; Enterobacterales; Enterobacteriaceae; Escherichia"
    bee = "Eukaryota; Metazoa; Arthropoda; Hexapoda; Insecta; Pterygota; Neoptera; Endopterygota; Hymenoptera; " \
          "Apocrita; Aculeata; Apoidea; Apidae; Apis"
    mite = "Eukaryota; Metazoa; Arthropoda; Chelicerata; Arachnida; Acari; Parasitiformes; Mesostigmata; Varroidae; " \
           "Varroa"
    picorna = "Viruses; Riboviria; Orthornavirae; Pisuviricota; Pisoniviricetes; Picornavirales; Iflaviridae; Iflavirus"
    rows = [
        ["10710", "Escherichia phage Lambda", phage_lineage, "NC_001416", "", "", "", "562", "Escherichia coli",
         ecoli, "", "Literature", "", ""],
        ["10847", "Escherichia phage phiX174", "Viruses; Monodnaviria; Sangervirae; Phixviricota; Malgrandaviricetes; "
         "Petitvirales; Microviridae; Bullavirinae; Sinsheimervirus", "NC_001422", "", "", "", "562",
         "Escherichia coli", ecoli, "", "Literature", "", ""],
        ["198112", "Deformed wing virus", picorna, "NC_004830", "", "", "", "7460", "Apis mellifera", bee, "",
         "Literature", "", ""],
        ["198112", "Deformed wing virus", picorna, "NC_004830", "", "", "", "109461", "Varroa destructor", mite, "",
         "Literature", "", ""],
        ["237567", "Varroa destructor virus 1", picorna, "NC_006494", "", "", "", "109461", "Varroa destructor",
         mite, "", "Literature", "", ""],
        # Virus-Host DB's unknown host: tax id 1, `root`, no lineage (over a thousand viruses in recent copies),
        # here for the recombinant isolate, listed under its GenBank accession as GenBank-only viruses are.
        ["2900101", "Varroa destructor virus 1 recombinant isolate", picorna, "HM067437", "", "", "", "1", "root",
         "", "", "", "", ""],
    ]
    text = "\t".join(columns) + "\n" + "".join("\t".join(r) + "\n" for r in rows)
    write(out / "virushostdb/virushostdb.tsv", text.encode())


def benchmarks(out: Path, rng: random.Random) -> None:
    """A Genomic Benchmarks dataset of each kind and a Nucleotide Transformer task, on real sequence."""
    lam = read_fasta((SOURCES_DIR / "lambda_phage_bowtie2.fa.gz").read_bytes())[0][1]
    human = read_fasta((SOURCES_DIR / "chrM_rCRS_minimap2.fa.gz").read_bytes())[0][1].upper()
    members: dict[str, bytes] = {}
    for split, count in (("train", 6), ("test", 3)):
        for label, source in (("phage", lam), ("human_mito", human)):
            for i in range(count):
                start = rng.randrange(0, len(source) - 200)
                members[f"demo_phage_vs_mito/{split}/{label}/{i}.txt"] = source[start:start + 200].encode()
    write(out / "benchmarks/genomic_benchmarks/demo_phage_vs_mito.zip", zip_bytes(members))
    # The suite's published layout: `<class>.csv.gz` per split, numeric ids that repeat across classes, the strand
    # empty for a whole class (as in human_ocr_ensembl's positives), and a metadata.yaml naming each class's
    # reference by URL (here both GRCh38, so the one configured reference serves both).
    intervals: dict[str, bytes] = {}
    for split, count in (("train", 6), ("test", 3)):
        for label in ("positive", "negative"):
            rows = ["id,region,start,end,strand"]
            for i in range(count):
                start = rng.randrange(0, 15_000)
                drawn = rng.choice("+-")  # drawn for every row, so the later fixtures' draws stay as they were
                strand = drawn if label == "negative" else ""
                rows.append(f"{i},chrM,{start},{start + 150},{strand}")
            intervals[f"demo_chrM_intervals/{split}/{label}.csv.gz"] = gz(("\n".join(rows) + "\n").encode())
    grch38 = "http://ftp.ensembl.org/pub/release-100/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.toplevel.fa.gz"
    intervals["demo_chrM_intervals/metadata.yaml"] = "".join(
        f"  {label}:\n    extra_processing: ENSEMBL_HUMAN_GENOME\n    type: fa.gz\n    url: {grch38}\n"
        for label in ("negative", "positive")).join(["classes:\n", "version: 0\n"]).encode()
    write(out / "benchmarks/genomic_benchmarks/demo_chrM_intervals.zip", zip_bytes(intervals))
    task: dict[str, bytes] = {}
    for split, count in (("train", 8), ("test", 4)):
        records = []
        for i in range(count):
            label = i % 2
            source = lam if label else human
            start = rng.randrange(0, len(source) - 300)
            records.append((f"{split}_{i}|{label}", source[start:start + 300]))
        task[f"demo_promoter/{split}.fna"] = fasta(records)
    write(out / "benchmarks/nucleotide_transformer/demo_promoter.zip", zip_bytes(task))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-debian", nargs="?", const="", default=None, metavar="DIR",
                        help="re-extract data/demo/sources first (apt-get download, or from DIR)")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="write <out>/mirror/... (default data/demo)")
    args = parser.parse_args()
    if args.from_debian is not None:
        extract_sources(Path(args.from_debian) if args.from_debian else None)
    rng = random.Random(SEED)
    mirror = args.out / "mirror"
    refseq_assemblies(mirror)
    mitochondria(mirror, rng)
    viruses(mirror)
    benchmarks(mirror, rng)
    print(f"wrote the source mirror under {mirror}", file=sys.stderr)


if __name__ == "__main__":
    main()
