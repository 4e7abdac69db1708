#!/usr/bin/env python3
"""Regenerate genolm's embedded demo data: a small mirror of UCSC hg38 and of a DepMap release.

The mirror has the real layouts (UCSC ``goldenPath/hg38/bigZips`` and the DepMap release catalogue) so that
a demo run exercises the same download and parsing code as a real run. What is real and what is synthetic
is documented in ``data/demo/README.md``.

    python scripts/make_demo_data.py                  # rebuild data/demo/mirror from data/demo/sources
    python scripts/make_demo_data.py --from-debian    # first re-extract data/demo/sources from Debian packages
    python scripts/make_demo_data.py --out /tmp/x     # write the mirror under /tmp/x/mirror instead

Everything is deterministic (fixed seeds, gzip mtime 0 and no file name in the gzip header), so a rebuild is
byte-identical to the committed files. Only the Python standard library is used, on purpose: numpy's random
streams are not guaranteed stable across versions, Python's ``random.Random`` with an integer seed is.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import math
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / "data" / "demo"
SOURCES_DIR = DEMO_DIR / "sources"

SEED = 20250930
FASTA_WIDTH = 50  # UCSC's hg38.fa.gz wraps at 50 columns
RELEASE = "DepMap Public 25Q3"
RELEASE_DATE = "2025-09-30"

# --- Real source sequences ------------------------------------------------------------------------------

DEBIAN_PACKAGES = {
    "minimap2": "usr/share/doc/minimap2/test/MT-human.fa.gz",
    "maffilter-examples": (
        "usr/share/doc/maffilter/examples/Gorilla/"
        "Compara.epo_5_catarrhini_hsap-projected.chr22.subset.nogap.cleaned_aln.maf.gz"
    ),
    "artfastqgenerator-examples": "usr/share/doc/artfastqgenerator/examples/miniReference.fasta.gz",
    "python-pyfaidx-examples": "usr/share/doc/python-pyfaidx-examples/examples/chr17.hg19.part.fa",
}
# GRCh37 chr22 windows (0-based, half-open) well covered by the human rows of the maffilter example MAF.
CHR22_WINDOWS = ((27_200_000, 27_300_000), (34_400_000, 34_600_000))
CHR22_JOIN_GAP = 1000  # N run joining the two windows in the demo chr22

SOURCE_FILES = {
    "chrM": "chrM_rCRS_minimap2.fa.gz",
    "chr22": "chr22_GRCh37_windows_maffilter.fa.gz",
    "chr1_chr2": "chr1_chr2_GRCh37_first100kb_artfastqgenerator.fa.gz",
    "chr17": "chr17_hg19_part_pyfaidx.fa.gz",
}

# --- Output layout -------------------------------------------------------------------------------------

UCSC_DIR = Path("mirror/goldenPath/hg38/bigZips")
DEPMAP_DIR = Path("mirror/depmap")

MUTATION_COLUMNS = (
    "Chrom Pos Ref Alt AF DP RefCount AltCount GT PS VariantType VariantInfo DNAChange ProteinChange HugoSymbol "
    "EnsemblGeneID EnsemblFeatureID HgncName HgncFamily UniprotID DbsnpRsID GcContent NMD MolecularConsequence "
    "VepImpact VepBiotype VepHgncID VepExistingVariation VepManeSelect VepENSP VepSwissprot Sift Polyphen "
    "GnomadeAF GnomadgAF VepClinSig VepSomatic VepPliGeneValue VepLofTool OncogeneHighImpact "
    "TumorSuppressorHighImpact TranscriptLikelyLof Brca1FuncScore CivicID CivicDescription CivicScore LikelyLoF "
    "HessDriver HessSignature RevelScore PharmgkbId GwasDisease GwasPmID GtexGene ProveanPrediction AMClass "
    "AMPathogenicity Hotspot Rescue EntrezGeneID ModelID ModelConditionID SequencingID IsDefaultEntryForModel "
    "IsDefaultEntryForMC"
).split()

MODEL_COLUMNS = (
    "ModelID PatientID CellLineName StrippedCellLineName DepmapModelType OncotreeLineage OncotreePrimaryDisease "
    "OncotreeSubtype OncotreeCode PatientSubtypeFeatures RRID Age AgeCategory Sex PatientRace PrimaryOrMetastasis "
    "SampleCollectionSite SourceType SourceDetail CatalogNumber ModelType TissueOrigin ModelDerivationMaterial "
    "ModelTreatment PatientTreatmentStatus PatientTreatmentType PatientTreatmentDetails Stage StagingSystem "
    "PatientTumorGrade PatientTreatmentResponse GrowthPattern OnboardedMedia FormulationID SerumFreeMedia "
    "PlateCoating EngineeredModel EngineeredModelDetails CulturedResistanceDrug PublicComments CCLEName HCMIID "
    "PediatricModelType ModelAvailableInDbgap ModelSubtypeFeatures WTSIMasterCellID SangerModelID COSMICID "
    "ModelIDAlias"
).split()

CATALOGUE_COLUMNS = ("release", "release_date", "filename", "url", "md5_hash")

# --- Synthetic chromosomes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticChromosome:
    name: str
    length: int
    gc_mean: float  # isochore GC targets are drawn around this
    gc_sd: float
    sine_every: int  # mean spacing (bp) of SINE-like repeat copies
    line_every: int  # mean spacing (bp) of LINE-like repeat copies
    n_runs: tuple[tuple[int, int], ...]  # (start, length) of assembly-gap-like N runs


SYNTHETIC = (
    # GC-poor, LINE-rich, like the large gene-poor autosomes.
    SyntheticChromosome("chr4", 160_000, 0.37, 0.02, 9_000, 5_000, ((0, 3_000), (88_000, 400))),
    # GC-rich, SINE (Alu)-dense, like chr19.
    SyntheticChromosome("chr19", 140_000, 0.51, 0.03, 1_200, 20_000, ((61_000, 150), (139_000, 1_000))),
    # Moderately GC-poor and LINE-rich, like chrX.
    SyntheticChromosome("chrX", 80_000, 0.39, 0.02, 6_000, 4_000, ((0, 2_000), (50_000, 500))),
)
MARKOV_ORDER = 4
ISOCHORE_MIN, ISOCHORE_MAX = 20_000, 50_000

# Chromosome order of the FASTA: UCSC's hg38.fa.gz lists sequences sorted by name.
AUTOSOMES = ("chr1", "chr2", "chr4", "chr17", "chr19", "chr22")

# --- Synthetic cell lines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lineage:
    name: str
    code: str  # short tag used in the synthetic cell line names
    count: int
    diseases: tuple[tuple[str, str, str], ...]  # (OncotreePrimaryDisease, OncotreeSubtype, OncotreeCode)
    site: str
    growth: str
    ccle_suffix: str
    signature: str
    hotspot_share: float
    kataegis_share: float


LINEAGES = (
    Lineage(
        "Lung", "LU", 24,
        (
            ("Non-Small Cell Lung Cancer", "Lung Adenocarcinoma", "LUAD"),
            ("Non-Small Cell Lung Cancer", "Lung Squamous Cell Carcinoma", "LUSC"),
            ("Non-Small Cell Lung Cancer", "Large Cell Lung Carcinoma", "LCLC"),
        ),
        "lung", "Adherent", "LUNG", "tobacco", 0.55, 0.0,
    ),
    Lineage(
        "Lymphoid", "LY", 24,
        (
            ("Mature B-Cell Neoplasms", "Diffuse Large B-Cell Lymphoma, NOS", "DLBCLNOS"),
            ("Mature B-Cell Neoplasms", "Burkitt Lymphoma", "BL"),
            ("Mature B-Cell Neoplasms", "Plasma Cell Myeloma", "PCM"),
        ),
        "lymph_node", "Suspension", "HAEMATOPOIETIC_AND_LYMPHOID_TISSUE", "aid_apobec", 0.55, 0.25,
    ),
    Lineage(
        "Skin", "SK", 4, (("Melanoma", "Cutaneous Melanoma", "SKCM"),),
        "skin", "Adherent", "SKIN", "uv", 0.0, 0.0,
    ),
    Lineage(
        "Breast", "BR", 3, (("Invasive Breast Carcinoma", "Breast Invasive Ductal Carcinoma", "IDC"),),
        "breast", "Adherent", "BREAST", "apobec", 0.0, 0.05,
    ),
    Lineage(
        "Bowel", "BO", 3, (("Colorectal Adenocarcinoma", "Colon Adenocarcinoma", "COAD"),),
        "colon", "Adherent", "LARGE_INTESTINE", "cpg", 0.0, 0.0,
    ),
)

# Lineage hotspots: (chromosome, 1-based start hint, length). Shared by every cell line of the lineage so that
# windows around its mutations carry lineage-specific genomic content.
HOTSPOTS = {
    "Lung": (("chr1", 40_000, 3_500), ("chr17", 12_000, 3_000), ("chr4", 70_000, 4_000)),
    "Lymphoid": (("chr22", 30_000, 4_000), ("chr22", 150_000, 3_000), ("chr19", 50_000, 3_500)),
}

MEAN_BURDEN = 150
BURDEN_SIGMA = 0.55
CHRX_SHARE, CHRM_SHARE = 0.02, 0.005
# Variant kinds and their shares. DepMap's VariantType is VEP's VARIANT_CLASS (see _variant_class): DNP, TNP
# and ONP become "substitution", "complex" (2 bases replaced by 1 other base) becomes "indel".
VARIANT_KINDS = (
    ("SNV", 0.876), ("DNP", 0.02), ("TNP", 0.005), ("ONP", 0.001),
    ("insertion", 0.04), ("deletion", 0.05), ("complex", 0.003),
)
OVERLAP_MODELS = 6  # models that get a deletion spanning one of their SNVs

BASES = "ACGT"
COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


# ======================================================================================================
# Small I/O helpers


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip: no file name, mtime 0, fixed level."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as handle:
        handle.write(data)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def fasta_text(records: list[tuple[str, str]], width: int = FASTA_WIDTH) -> str:
    out = []
    for header, seq in records:
        out.append(f">{header}\n")
        out.extend(seq[i:i + width] + "\n" for i in range(0, len(seq), width))
    return "".join(out)


def read_fasta(text: str) -> list[tuple[str, str]]:
    records: list[tuple[str, str]] = []
    header, chunks = None, []
    for line in text.splitlines():
        if line.startswith(">"):
            if header is not None:
                records.append((header, "".join(chunks)))
            header, chunks = line[1:], []
        elif line:
            chunks.append(line.strip())
    if header is not None:
        records.append((header, "".join(chunks)))
    return records


def csv_bytes(columns: tuple[str, ...] | list[str], rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


# ======================================================================================================
# Extracting the real sequences from Debian packages (only with --from-debian)


def extract_sources(debian_root: Path | None, sources_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = debian_root if debian_root is not None else _download_debs(Path(tmp))
        files = {pkg: root / rel for pkg, rel in DEBIAN_PACKAGES.items()}
        missing = [str(p) for p in files.values() if not p.exists()]
        if missing:
            sys.exit(f"make_demo_data: missing Debian files: {', '.join(missing)}")

        (_, chrm), = read_fasta(gzip.decompress(files["minimap2"].read_bytes()).decode())
        write_atomic(sources_dir / SOURCE_FILES["chrM"], gzip_bytes(fasta_text(
            [("chrM human mitochondrion (MT_human from minimap2 test/MT-human.fa.gz)", chrm)], 60).encode()))

        windows = _chr22_windows(files["maffilter-examples"])
        write_atomic(sources_dir / SOURCE_FILES["chr22"], gzip_bytes(fasta_text(
            [(f"chr22:{lo + 1}-{hi} GRCh37 human rows of maffilter-examples Gorilla EPO MAF, unaligned bases N",
              seq) for (lo, hi), seq in windows], 60).encode()))

        mini = read_fasta(gzip.decompress(files["artfastqgenerator-examples"].read_bytes()).decode())
        keep = [(f"chr{h.split()[0]} {h.split()[2]} first {len(s)} bp (artfastqgenerator miniReference)", s)
                for h, s in mini if h.split()[0] in ("1", "2")]
        write_atomic(sources_dir / SOURCE_FILES["chr1_chr2"], gzip_bytes(fasta_text(keep, 60).encode()))

        (_, chr17), = read_fasta(files["python-pyfaidx-examples"].read_text())
        write_atomic(sources_dir / SOURCE_FILES["chr17"], gzip_bytes(fasta_text(
            [("chr17 part of hg19 chr17 (pyfaidx examples chr17.hg19.part.fa)", chr17)], 60).encode()))


def _download_debs(tmp: Path) -> Path:
    subprocess.run(["apt-get", "download", *DEBIAN_PACKAGES], cwd=tmp, check=True)
    root = tmp / "root"
    for deb in sorted(tmp.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def _chr22_windows(maf_path: Path) -> list[tuple[tuple[int, int], str]]:
    """Place the ungapped human rows of the MAF at their GRCh37 offsets inside each window."""
    windows = [(w, bytearray(b"N" * (w[1] - w[0]))) for w in CHR22_WINDOWS]
    with gzip.open(maf_path, "rt") as handle:
        for line in handle:
            if not line.startswith("s Hsap.22 "):
                continue
            _, _, start, size, strand, _, text = line.split()
            if strand != "+":
                continue
            start, seq = int(start), text.replace("-", "").encode()
            assert len(seq) == int(size), line[:60]
            for (lo, hi), buf in windows:
                a, b = max(lo, start), min(hi, start + len(seq))
                if a < b:
                    buf[a - lo:b - lo] = seq[a - start:b - start]
    return [(w, buf.decode()) for w, buf in windows]


# ======================================================================================================
# Reference genome


def load_sources(sources_dir: Path) -> dict[str, str]:
    def records(key: str) -> list[tuple[str, str]]:
        return read_fasta(gzip.decompress((sources_dir / SOURCE_FILES[key]).read_bytes()).decode())

    chroms = {"chrM": records("chrM")[0][1]}
    chroms["chr22"] = ("N" * CHR22_JOIN_GAP).join(seq for _, seq in records("chr22"))
    for header, seq in records("chr1_chr2"):
        chroms[header.split()[0]] = seq
    chroms["chr17"] = records("chr17")[0][1]
    return chroms


def fit_markov(seqs: list[str], order: int) -> list[list[int]]:
    """Counts of the next base after each `order`-mer of the (uppercased) real sequence."""
    counts = [[1, 1, 1, 1] for _ in range(4 ** order)]  # +1 pseudocount keeps every context generatable
    mask = 4 ** order - 1
    code = {b: i for i, b in enumerate(BASES)}
    for seq in seqs:
        ctx, valid = 0, 0
        for base in seq.upper():
            i = code.get(base)
            if i is None:
                valid = 0
                continue
            if valid >= order:
                counts[ctx][i] += 1
            ctx = ((ctx << 2) | i) & mask
            valid += 1
    return counts


def _tilted_tables(counts: list[list[int]], gc_weight: float) -> list[tuple[float, float, float]]:
    tables = []
    for a, c, g, t in counts:
        c, g = c * gc_weight, g * gc_weight
        total = a + c + g + t
        tables.append(((a) / total, (a + c) / total, (a + c + g) / total))
    return tables


def _markov_run(rng: random.Random, tables, length: int, ctx: int, order: int) -> tuple[str, int]:
    mask = 4 ** order - 1
    out = []
    for _ in range(length):
        r = rng.random()
        p0, p1, p2 = tables[ctx]
        i = 0 if r < p0 else 1 if r < p1 else 2 if r < p2 else 3
        out.append(BASES[i])
        ctx = ((ctx << 2) | i) & mask
    return "".join(out), ctx


def _repeat_library(real: list[str]) -> tuple[list[str], list[str]]:
    """Soft-masked (repeat-annotated) runs of the real chr22 sequence, split into SINE- and LINE-sized ones."""
    sines, lines = [], []
    for seq in real:
        i = 0
        while i < len(seq):
            if seq[i].islower():
                j = i
                while j < len(seq) and seq[j].islower():
                    j += 1
                run = seq[i:j]
                if "n" not in run:
                    if 260 <= len(run) <= 340:
                        sines.append(run)
                    elif len(run) >= 900:
                        lines.append(run[:6000])
                i = j
            else:
                i += 1
    return sines, lines


def _diverged_copy(rng: random.Random, template: str, divergence: float) -> str:
    seq = list(template if rng.random() < 0.5 else revcomp(template))
    for k in range(len(seq)):
        if rng.random() < divergence:
            seq[k] = rng.choice([b for b in "acgt" if b != seq[k]])
    if len(seq) > 400 and rng.random() < 0.7:  # LINE copies are mostly 5'-truncated
        seq = seq[rng.randrange(len(seq) // 2):]
    return "".join(seq)


def synthesize(spec: SyntheticChromosome, counts, base_gc: float, sines: list[str], lines: list[str],
               rng: random.Random) -> str:
    """An order-k Markov chain fitted on real chr22, GC-tilted per isochore, with repeat copies and N runs."""
    parts: list[str] = []
    length = 0
    ctx = 0
    microsats = ("ca", "tg", "a", "t", "at", "ggaa", "tttc", "aatg")
    while length < spec.length:
        gc = min(0.62, max(0.30, rng.gauss(spec.gc_mean, spec.gc_sd)))
        weight = (gc / (1 - gc)) / (base_gc / (1 - base_gc))
        tables = _tilted_tables(counts, weight)
        block_end = length + rng.randint(ISOCHORE_MIN, ISOCHORE_MAX)
        while length < min(block_end, spec.length):
            gaps = {"sine": rng.expovariate(1 / spec.sine_every), "line": rng.expovariate(1 / spec.line_every),
                    "microsat": rng.expovariate(1 / 15_000)}
            kind = min(gaps, key=gaps.get)
            run, ctx = _markov_run(rng, tables, max(1, int(gaps[kind])), ctx, MARKOV_ORDER)
            parts.append(run)
            if kind == "sine":
                insert = _diverged_copy(rng, rng.choice(sines), rng.uniform(0.04, 0.15))
            elif kind == "line":
                insert = _diverged_copy(rng, rng.choice(lines), rng.uniform(0.05, 0.20))
            else:
                insert = rng.choice(microsats) * rng.randint(8, 30)
            parts.append(insert)
            length += len(run) + len(insert)
    seq = list("".join(parts)[:spec.length])
    for start, n in spec.n_runs:
        seq[start:start + n] = "N" * n
    return "".join(seq)


def build_reference(sources_dir: Path) -> dict[str, str]:
    chroms = load_sources(sources_dir)
    real22 = [chroms["chr22"]]
    counts = fit_markov(real22, MARKOV_ORDER)
    upper = chroms["chr22"].upper()
    base_gc = (upper.count("G") + upper.count("C")) / (len(upper) - upper.count("N"))
    sines, lines = _repeat_library(real22)
    for spec in SYNTHETIC:
        chroms[spec.name] = synthesize(spec, counts, base_gc, sines, lines,
                                       random.Random(f"{SEED}-{spec.name}"))
    return dict(sorted(chroms.items()))


# ======================================================================================================
# Synthetic DepMap release


@dataclass
class Model:
    model_id: str
    lineage: Lineage
    index: int  # 1-based within the lineage
    disease: tuple[str, str, str]
    burden: int
    patient_id: str
    sequencing_id: str
    condition_id: str
    age: int
    sex: str
    primary: str


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def make_models(rng: random.Random) -> list[Model]:
    slots = [(lin, i + 1) for lin in LINEAGES for i in range(lin.count)]
    rng.shuffle(slots)  # model IDs must not give the lineage away
    mu = math.log(MEAN_BURDEN) - BURDEN_SIGMA ** 2 / 2
    models = []
    for k, (lin, idx) in enumerate(slots):
        model_id = f"ACH-{900001 + k:06d}"
        models.append(Model(
            model_id=model_id, lineage=lin, index=idx, disease=lin.diseases[(idx - 1) % len(lin.diseases)],
            burden=max(25, min(700, round(rng.lognormvariate(mu, BURDEN_SIGMA)))),
            patient_id=f"PT-{_alnum(rng, 6)}", sequencing_id=f"CDS-{_alnum(rng, 6)}",
            condition_id=f"MC-{model_id[4:]}-{_alnum(rng, 4)}",
            age=rng.randint(4, 17) if lin.name == "Lymphoid" and rng.random() < 0.25 else rng.randint(28, 80),
            sex=rng.choice(("Male", "Female")), primary=rng.choice(("Primary", "Primary", "Metastatic")),
        ))
    return sorted(models, key=lambda m: m.model_id)


def model_rows(models: list[Model]) -> list[dict[str, str]]:
    rows = []
    for m in models:
        name = f"DEMO-{m.lineage.code}{m.index:02d}"
        stripped = name.replace("-", "")
        disease, subtype, code = m.disease
        rows.append({
            "ModelID": m.model_id, "PatientID": m.patient_id, "CellLineName": name,
            "StrippedCellLineName": stripped, "DepmapModelType": code, "OncotreeLineage": m.lineage.name,
            "OncotreePrimaryDisease": disease, "OncotreeSubtype": subtype, "OncotreeCode": code,
            "Age": str(m.age), "AgeCategory": "Pediatric" if m.age < 18 else "Adult", "Sex": m.sex,
            "PatientRace": "unknown", "PrimaryOrMetastasis": m.primary, "SampleCollectionSite": m.lineage.site,
            "SourceType": "Other", "SourceDetail": "genolm demo data (synthetic)", "ModelType": "Cell Line",
            "TissueOrigin": "Human", "ModelDerivationMaterial": "Other", "GrowthPattern": m.lineage.growth,
            "EngineeredModel": "None",
            "PublicComments": "Synthetic demo model made by genolm scripts/make_demo_data.py; not a real cell line.",
            "CCLEName": f"{stripped}_{m.lineage.ccle_suffix}", "ModelAvailableInDbgap": "No",
        })
    return rows


class Genome:
    """Uppercased reference with the lookups the mutation generator needs."""

    def __init__(self, chroms: dict[str, str]):
        self.seq = {name: s.upper() for name, s in chroms.items()}
        self.autosome_weights = [(c, len(self.seq[c]) - self.seq[c].count("N")) for c in AUTOSOMES]

    def clean(self, chrom: str, pos: int, n: int) -> bool:
        """True if the n bases starting at 1-based pos are all A/C/G/T."""
        s = self.seq[chrom]
        if pos < 1 or pos - 1 + n > len(s):
            return False
        return all(b in BASES for b in s[pos - 1:pos - 1 + n])

    def ref(self, chrom: str, pos: int, n: int = 1) -> str:
        return self.seq[chrom][pos - 1:pos - 1 + n]

    def context(self, chrom: str, pos: int, flank: int) -> str:
        return self.seq[chrom][pos - 1 - flank:pos + flank] if pos - 1 - flank >= 0 else ""

    def gc(self, chrom: str, pos: int, flank: int = 50) -> str:
        win = self.seq[chrom][max(0, pos - 1 - flank):pos + flank]
        acgt = sum(win.count(b) for b in BASES)
        return f"{(win.count('G') + win.count('C')) / acgt:.3f}" if acgt else ""

    def clean_region(self, chrom: str, hint: int, length: int) -> tuple[str, int, int]:
        start = hint
        while not self.clean(chrom, start, length):
            start += 250
        return chrom, start, start + length - 1


def _snv_alt(signature: str, ctx: str, rng: random.Random, motif: bool) -> str | None:
    """Alt base for the centre of the 5-mer `ctx` under a lineage's mutational process, or None to reject.

    `motif` asks for the lineage's characteristic substitution; otherwise a flat background substitution.
    """
    m2, m1, ref, p1, p2 = ctx
    if not motif:
        return rng.choice([b for b in BASES if b != ref])
    if signature == "tobacco":  # SBS4-like: C>A, i.e. G>T on the other strand
        return {"C": "A", "G": "T"}.get(ref)
    if signature in ("aid_apobec", "apobec"):
        # AID at WRC/GYW and APOBEC at TCW/WGA: C>T or C>G.
        on_c = ref == "C" and ((m2 in "AT" and m1 in "AG") or (m1 == "T" and p1 in "AT"))
        on_g = ref == "G" and ((p1 in "CT" and p2 in "AT") or (p1 == "A" and m1 in "AT"))
        if on_c:
            return "T" if rng.random() < 0.6 else "G"
        if on_g:
            return "A" if rng.random() < 0.6 else "C"
        return None
    if signature == "uv":  # C>T at dipyrimidines
        if ref == "C" and (m1 in "CT" or p1 in "CT"):
            return "T"
        if ref == "G" and (p1 in "AG" or m1 in "AG"):
            return "A"
        return None
    if signature == "cpg":  # C>T at CpG
        if ref == "C" and p1 == "G":
            return "T"
        if ref == "G" and m1 == "C":
            return "A"
        return None
    raise ValueError(signature)


MOTIF_SHARE = {"tobacco": 0.65, "aid_apobec": 0.70, "apobec": 0.5, "uv": 0.75, "cpg": 0.5}


class MutationMaker:
    def __init__(self, genome: Genome, rng: random.Random):
        self.g = genome
        self.rng = rng

    def _random_locus(self) -> tuple[str, int, int]:
        r = self.rng.random()
        if r < CHRM_SHARE:
            chrom = "chrM"
        elif r < CHRM_SHARE + CHRX_SHARE:
            chrom = "chrX"
        else:
            chrom = self.rng.choices([c for c, _ in self.g.autosome_weights],
                                     [w for _, w in self.g.autosome_weights])[0]
        return chrom, 1, len(self.g.seq[chrom])

    def _kind(self) -> str:
        return self.rng.choices([k for k, _ in VARIANT_KINDS], [w for _, w in VARIANT_KINDS])[0]

    def make(self, region: tuple[str, int, int], kind: str, signature: str, motif_share: float,
             used: set[tuple[str, int]]) -> tuple[str, int, str, str] | None:
        rng, g = self.rng, self.g
        chrom, lo, hi = region
        for _ in range(200):
            pos = rng.randint(max(lo, 4), hi - 25)
            if kind == "SNV":
                ctx = g.context(chrom, pos, 2)
                if len(ctx) != 5 or any(b not in BASES for b in ctx):
                    continue
                alt = _snv_alt(signature, ctx, rng, rng.random() < motif_share)
                if alt is None:
                    continue
                ref = ctx[2]
            elif kind in ("DNP", "TNP", "ONP"):
                n = {"DNP": 2, "TNP": 3, "ONP": 4}[kind]
                if not g.clean(chrom, pos, n):
                    continue
                ref = g.ref(chrom, pos, n)
                if signature == "uv" and kind == "DNP" and ref in ("CC", "GG"):
                    alt = "TT" if ref == "CC" else "AA"
                else:
                    alt = "".join(rng.choice([x for x in BASES if x != b]) for b in ref)
            elif kind == "deletion":
                n = rng.choices(range(1, 21), [40, 15, 10, 6, 5, 4] + [20 / 14] * 14)[0]
                if not g.clean(chrom, pos, n + 1):
                    continue
                ref, alt = g.ref(chrom, pos, n + 1), g.ref(chrom, pos)
            elif kind == "insertion":
                n = rng.choices(range(1, 11), [45, 15, 10, 8, 6, 5, 4, 3, 2, 2])[0]
                if not g.clean(chrom, pos, n + 1):
                    continue
                ref = g.ref(chrom, pos)
                # Half are tandem duplications of the following bases, as indels in repeats often are.
                ins = g.ref(chrom, pos + 1, n) if rng.random() < 0.5 else "".join(rng.choices(BASES, k=n))
                alt = ref + ins
            else:  # complex: a 2-base reference replaced by one different base
                if not g.clean(chrom, pos, 2):
                    continue
                ref = g.ref(chrom, pos, 2)
                alt = rng.choice([b for b in BASES if b != ref[0]])
            span = {(chrom, p) for p in range(pos, pos + len(ref))}
            if span & used:
                continue
            used |= span
            return chrom, pos, ref, alt
        return None

    def cell_line(self, model: Model, hotspots: list[tuple[str, int, int]]) -> list[tuple[str, int, str, str]]:
        rng, lin = self.rng, model.lineage
        sig, share = lin.signature, MOTIF_SHARE[lin.signature]
        used: set[tuple[str, int]] = set()
        muts = []
        n_hot = round(model.burden * lin.hotspot_share) if hotspots else 0
        n_kat = round((model.burden - n_hot) * lin.kataegis_share)
        for _ in range(n_hot):
            mut = self.make(rng.choice(hotspots), self._kind(), sig, share, used)
            if mut:
                muts.append(mut)
        while n_kat > 0:  # kataegis: clusters of motif mutations within ~1.5 kb
            chrom, lo, hi = self._random_locus()
            if chrom == "chrM":
                continue
            centre = rng.randint(lo + 1000, hi - 1000)
            size = min(n_kat, rng.randint(4, 8))
            for _ in range(size):
                mut = self.make((chrom, centre - 750, centre + 750), "SNV", sig, 1.0, used)
                if mut:
                    muts.append(mut)
            n_kat -= size
        while len(muts) < model.burden:
            mut = self.make(self._random_locus(), self._kind(), sig, share, used)
            if mut:
                muts.append(mut)
        return muts


def _chrom_key(chrom: str) -> tuple[int, str]:
    name = chrom[3:]
    return (int(name), "") if name.isdigit() else (100, name)


def mutation_row(genome: Genome, rng: random.Random, model: Model, mut: tuple[str, int, str, str],
                 kind: str, sequencing_id: str, condition_id: str, default: bool) -> dict[str, str]:
    chrom, pos, ref, alt = mut
    depth = max(12, round(rng.lognormvariate(math.log(70), 0.45)))
    af = 0.92 + 0.08 * rng.random() if chrom == "chrM" and rng.random() < 0.5 else rng.betavariate(2.2, 2.8)
    alt_count = max(3, min(depth, round(af * depth)))
    af = alt_count / depth
    return {
        "Chrom": chrom, "Pos": str(pos), "Ref": ref, "Alt": alt, "AF": f"{af:.3f}", "DP": str(depth),
        "RefCount": str(depth - alt_count), "AltCount": str(alt_count), "GT": "1/1" if af > 0.9 else "0/1",
        "VariantType": kind, "VariantInfo": "intergenic_variant", "GcContent": genome.gc(chrom, pos),
        "MolecularConsequence": "intergenic_variant", "VepImpact": "MODIFIER",
        "OncogeneHighImpact": "False", "TumorSuppressorHighImpact": "False", "LikelyLoF": "False",
        "HessDriver": "False", "Hotspot": "False", "Rescue": "False",
        "ModelID": model.model_id, "ModelConditionID": condition_id, "SequencingID": sequencing_id,
        "IsDefaultEntryForModel": "Yes" if default else "No", "IsDefaultEntryForMC": "Yes",
    }


def _variant_class(ref: str, alt: str) -> str:
    if len(ref) == len(alt):
        return "SNV" if len(ref) == 1 else "substitution"
    if ref[0] == alt[0] and len(ref) == 1:
        return "insertion"
    if ref[0] == alt[0] and len(alt) == 1:
        return "deletion"
    return "indel"


def make_depmap(chroms: dict[str, str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rng = random.Random(f"{SEED}-depmap")
    genome = Genome(chroms)
    models = make_models(rng)
    hotspots = {lin: [genome.clean_region(*h) for h in spots] for lin, spots in HOTSPOTS.items()}
    maker = MutationMaker(genome, rng)
    rows = []
    by_lineage: dict[str, list[Model]] = {}
    for m in models:
        by_lineage.setdefault(m.lineage.name, []).append(m)
    overlap_models = {m.model_id for lin in ("Lung", "Lymphoid") for m in by_lineage[lin][:OVERLAP_MODELS // 2]}
    # Models that also have an older, non-default sequencing.
    extra_seq = {m.model_id for m in by_lineage["Lung"][-2:] + by_lineage["Lymphoid"][-1:] + by_lineage["Skin"][-1:]}
    for m in models:
        muts = maker.cell_line(m, hotspots.get(m.lineage.name, []))
        if m.model_id in overlap_models:
            # A deletion spanning one of the line's own SNVs, so the overlap rule has something to resolve.
            chrom, pos, _, _ = next(x for x in muts if len(x[2]) == len(x[3]) == 1 and x[0] != "chrM"
                                    and genome.clean(x[0], x[1] - 2, 6))
            muts.append((chrom, pos - 2, genome.ref(chrom, pos - 2, 6), genome.ref(chrom, pos - 2)))
        for mut in muts:
            rows.append(mutation_row(genome, rng, m, mut, _variant_class(mut[2], mut[3]),
                                     m.sequencing_id, m.condition_id, True))
        if m.model_id in extra_seq:
            # An older, non-default sequencing of the same model: most calls again plus a few of its own.
            seq_id, cond_id = f"CDS-{_alnum(rng, 6)}", f"MC-{m.model_id[4:]}-{_alnum(rng, 4)}"
            again = [x for x in muts if rng.random() < 0.7]
            used = {(chrom, p) for chrom, start, ref, _ in muts for p in range(start, start + len(ref))}
            own = [maker.make(maker._random_locus(), "SNV", m.lineage.signature, 0.5, used) for _ in range(15)]
            for mut in again + [x for x in own if x]:
                rows.append(mutation_row(genome, rng, m, mut, _variant_class(mut[2], mut[3]),
                                         seq_id, cond_id, False))
    rows.sort(key=lambda r: (r["ModelID"], r["IsDefaultEntryForModel"] == "No", _chrom_key(r["Chrom"]),
                             int(r["Pos"]), r["Ref"], r["Alt"]))
    return model_rows(models), rows


# ======================================================================================================
# Assembling the mirror


def build(out: Path, sources_dir: Path) -> dict[Path, bytes]:
    chroms = build_reference(sources_dir)
    fasta = gzip_bytes(fasta_text(list(chroms.items())).encode())
    models, mutations = make_depmap(chroms)
    model_csv = csv_bytes(MODEL_COLUMNS, models)
    mutation_csv = csv_bytes(MUTATION_COLUMNS, mutations)
    catalogue = csv_bytes(CATALOGUE_COLUMNS, [
        {"release": RELEASE, "release_date": RELEASE_DATE, "filename": name, "url": name, "md5_hash": md5(data)}
        for name, data in (("Model.csv", model_csv), ("OmicsSomaticMutations.csv", mutation_csv))
    ])
    return {
        out / UCSC_DIR / "hg38.fa.gz": fasta,
        out / UCSC_DIR / "md5sum.txt": f"{md5(fasta)}  hg38.fa.gz\n".encode(),
        out / DEPMAP_DIR / "Model.csv": model_csv,
        out / DEPMAP_DIR / "OmicsSomaticMutations.csv": mutation_csv,
        out / DEPMAP_DIR / "files.csv": catalogue,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="directory to write mirror/ into")
    parser.add_argument("--sources", type=Path, default=SOURCES_DIR, help="extracted real sequences")
    parser.add_argument("--from-debian", nargs="?", const="download", metavar="ROOT",
                        help="re-extract the sources first, from an unpacked Debian root or (no value) by "
                             "running apt-get download + dpkg -x")
    args = parser.parse_args(argv)
    if args.from_debian:
        extract_sources(None if args.from_debian == "download" else Path(args.from_debian), args.sources)
    files = build(args.out, args.sources)
    for path, data in files.items():
        write_atomic(path, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
