#!/usr/bin/env python3
"""Regenerate genolm's embedded demo data: a small mirror of UCSC hg38 and of a DepMap release.

The mirror has the real layouts (UCSC ``goldenPath/hg38/bigZips`` and the DepMap release catalogue) so that
a demo run exercises the same download and parsing code as a real run. What is real and what is synthetic
is documented in ``data/demo/README.md``.

    python scripts/make_demo_data.py                  # rebuild data/demo/mirror from data/demo/sources
    python scripts/make_demo_data.py --from-debian    # first re-extract data/demo/sources from Debian packages
    python scripts/make_demo_data.py --out /tmp/x     # write the mirror under /tmp/x/mirror instead
    python scripts/make_demo_data.py --measure        # then report what the study's windows carry (numpy,
                                                      # scikit-learn; ~30 s): the numbers in data/demo/README.md

Everything is deterministic (fixed seeds, gzip mtime 0 and no file name in the gzip header), so a rebuild is
byte-identical to the committed files. Only the Python standard library is used to build, on purpose: numpy's
random streams are not guaranteed stable across versions, Python's ``random.Random`` with a fixed seed is.
(`--measure` alone imports numpy and scikit-learn; it reads the files and writes nothing.)
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
import statistics
import subprocess
import sys
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate
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
    signature: str  # key of SIGNATURES: the lineage's mutational process
    signature_share: float  # share of the scattered SNVs drawn from `signature` (the rest: clock-like background)
    mean_burden: int  # mean number of calls of the default sequencing
    hotspot_share: float  # share of the calls in the lineage's shared hotspots (HOTSPOTS)
    cluster_share: float  # share of the calls in clusters private to the cell line
    cluster_span: int  # bp over which one cluster's members are spread
    cluster_size: tuple[int, int]  # members per cluster (inclusive range)
    strand_coordinated: bool  # every SNV of a cluster on the same strand (C, or G, of the + strand): kataegis
    # Cell-of-origin regional preference: a cluster or scattered call falls in a REGION_BIN-bp region with
    # weight exp(gc_tilt * z), z the region's GC z-score over the autosomes. Negative: GC-poor, late-replicating
    # heterochromatin; positive: GC-rich, early-replicating, transcribed regions.
    gc_tilt: float = 0.0


# How strongly Lung calls prefer GC-poor and Lymphoid calls GC-rich regions (Lineage.gc_tilt). Real tumours' regional
# mutation density follows the chromatin of their cell of origin closely enough to tell cancer types apart
# (Polak et al. 2015, Nature 518:360): mutations are densest in late-replicating, GC-poor heterochromatin of the
# tissue the tumour came from, and B-cell lymphomas add AID's off-target hits in highly transcribed genes.
GC_TILT = 0.8
REGION_BIN = 4_000

LINEAGES = (
    Lineage(
        "Lung", "LU", 44,
        (
            ("Non-Small Cell Lung Cancer", "Lung Adenocarcinoma", "LUAD"),
            ("Non-Small Cell Lung Cancer", "Lung Squamous Cell Carcinoma", "LUSC"),
            ("Non-Small Cell Lung Cancer", "Large Cell Lung Carcinoma", "LCLC"),
        ),
        "lung", "Adherent", "LUNG", "tobacco", 0.7, 160, 0.08, 0.80, 1_000, (16, 26), False, -GC_TILT,
    ),
    Lineage(
        "Lymphoid", "LY", 44,
        (
            ("Mature B-Cell Neoplasms", "Diffuse Large B-Cell Lymphoma, NOS", "DLBCLNOS"),
            ("Mature B-Cell Neoplasms", "Burkitt Lymphoma", "BL"),
            ("Mature B-Cell Neoplasms", "Plasma Cell Myeloma", "PCM"),
        ),
        "lymph_node", "Suspension", "HAEMATOPOIETIC_AND_LYMPHOID_TISSUE", "aid_apobec", 0.7, 160, 0.08, 0.80,
        800, (13, 21), True, GC_TILT,
    ),
    Lineage(
        "Skin", "SK", 4, (("Melanoma", "Cutaneous Melanoma", "SKCM"),),
        "skin", "Adherent", "SKIN", "uv", 0.8, 110, 0.0, 0.0, 0, (0, 0), False,
    ),
    Lineage(
        "Breast", "BR", 3, (("Invasive Breast Carcinoma", "Breast Invasive Ductal Carcinoma", "IDC"),),
        "breast", "Adherent", "BREAST", "apobec", 0.5, 110, 0.0, 0.25, 1_000, (5, 9), True,
    ),
    Lineage(
        "Bowel", "BO", 3, (("Colorectal Adenocarcinoma", "Colon Adenocarcinoma", "COAD"),),
        "colon", "Adherent", "LARGE_INTESTINE", "cpg", 0.6, 110, 0.0, 0.0, 0, (0, 0), False,
    ),
)

# Lineage hotspots: (chromosome, 1-based start hint, length). Shared by every cell line of the lineage, like
# recurrently mutated regions (e.g. AID's off-target genes in B cells); kept to a modest share of the calls.
HOTSPOTS = {
    "Lung": (("chr1", 40_000, 3_500), ("chr17", 12_000, 3_000), ("chr4", 70_000, 4_000)),
    "Lymphoid": (("chr22", 30_000, 4_000), ("chr22", 150_000, 3_000), ("chr19", 50_000, 3_500)),
}

# Burden of the default sequencing: lognormal around the lineage's mean. Each lineage's burdens are drawn
# stratified (one per quantile slice), so the study's lineages share one distribution and "above the median of
# the selected cell lines" keeps about half of each.
BURDEN_SIGMA = 0.8  # real DepMap: mean/median 1.2 (Lung) to 1.7 (Lymphoid), i.e. sigma 0.6-1.0
BURDEN_MIN, BURDEN_MAX = 40, 900
CHRX_SHARE, CHRM_SHARE = 0.02, 0.005
# Variant kinds and their shares. DepMap's VariantType is VEP's VARIANT_CLASS (see _variant_class): DNP, TNP
# and ONP become "substitution", "complex" (2 bases replaced by 1 other base) becomes "indel".
VARIANT_KINDS = (
    ("SNV", 0.876), ("DNP", 0.02), ("TNP", 0.005), ("ONP", 0.001),
    ("insertion", 0.04), ("deletion", 0.05), ("complex", 0.003),
)
CLUSTER_KINDS = (("SNV", 0.9), ("DNP", 0.03), ("insertion", 0.03), ("deletion", 0.04))
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


def _stratified_burdens(rng: random.Random, lin: Lineage) -> list[int]:
    """One lognormal burden per quantile slice of the lineage's distribution, in random order."""
    mu = math.log(lin.mean_burden) - BURDEN_SIGMA ** 2 / 2
    normal = statistics.NormalDist()
    burdens = [
        max(BURDEN_MIN, min(BURDEN_MAX, round(math.exp(
            mu + BURDEN_SIGMA * normal.inv_cdf((i + 0.02 + 0.96 * rng.random()) / lin.count)))))
        for i in range(lin.count)
    ]
    rng.shuffle(burdens)
    return burdens


def make_models(rng: random.Random) -> list[Model]:
    slots = [(lin, i + 1) for lin in LINEAGES for i in range(lin.count)]
    rng.shuffle(slots)  # model IDs must not give the lineage away
    burdens = {lin.name: _stratified_burdens(rng, lin) for lin in LINEAGES}
    models = []
    for k, (lin, idx) in enumerate(slots):
        model_id = f"ACH-{900001 + k:06d}"
        models.append(Model(
            model_id=model_id, lineage=lin, index=idx, disease=lin.diseases[(idx - 1) % len(lin.diseases)],
            burden=burdens[lin.name][idx - 1],
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


# --- Mutational signatures --------------------------------------------------------------------------------
#
# A signature gives, for a pyrimidine reference base (C or T) in its 5-base context m2 m1 [ref] p1 p2, the
# relative rate of each substitution. A purine reference base is read on the other strand (G>T is C>A of the
# reverse complement), so every signature is strand-symmetric, as COSMIC's SBS signatures are. The rates are
# hand-made approximations of the COSMIC profiles named below, not copies of them.

TOBACCO_5P = {"C": 1.6, "G": 1.1, "A": 0.9, "T": 0.5}  # SBS4: C>A highest after a C (CpC) ...
TOBACCO_3P = {"G": 1.8, "A": 1.0, "C": 0.9, "T": 0.8}  # ... and at CpG (adducts at methylated CpG)


def _rates(signature: str, m2: str, m1: str, ref: str, p1: str, p2: str) -> dict[str, float]:
    if signature == "background":  # clock-like: SBS1 (C>T at CpG) on a flat SBS5
        if ref == "C":
            return {"A": 0.4, "G": 0.4, "T": 1.0 + (4.0 if p1 == "G" else 0.0)}
        return {"A": 0.35, "C": 0.9, "G": 0.3}
    if signature == "tobacco":  # SBS4: C>A (G>T), a little T>A
        if ref == "C":
            return {"A": 3.0 * TOBACCO_5P[m1] * TOBACCO_3P[p1], "G": 0.1, "T": 0.2}
        return {"A": 0.15, "C": 0.1, "G": 0.05}
    if signature in ("aid_apobec", "apobec"):
        # APOBEC3A/B (SBS2 C>T, SBS13 C>G) at TCW; AID (SBS84) C>T/C>G at WRC, lymphoid only.
        if ref == "C":
            tcw = m1 == "T" and p1 in "AT"
            wrc = signature == "aid_apobec" and m2 in "AT" and m1 in "AG"
            return {"A": 0.05, "G": 0.05 + 5.0 * tcw + 1.5 * wrc, "T": 0.1 + 6.0 * tcw + 3.0 * wrc}
        return {"A": 0.05, "C": 0.1, "G": 0.05}
    if signature == "uv":  # SBS7: C>T at dipyrimidines
        if ref == "C":
            return {"A": 0.05, "G": 0.05, "T": 0.3 + (5.0 if m1 in "CT" else 0.0) + (1.0 if p1 in "CT" else 0.0)}
        return {"A": 0.1, "C": 0.15, "G": 0.05}
    if signature == "cpg":  # SBS1: C>T at CpG
        if ref == "C":
            return {"A": 0.1, "G": 0.1, "T": 0.3 + (10.0 if p1 == "G" else 0.0)}
        return {"A": 0.1, "C": 0.3, "G": 0.1}
    raise ValueError(signature)


SIGNATURES = ("background", "tobacco", "aid_apobec", "apobec", "uv", "cpg")
BASE_CODE = {b: i for i, b in enumerate(BASES)}


def in_signature(signature: str, context: str, alt: str) -> bool:
    """Whether an SNV (5-base reference context, alt base) is of the lineage signature's characteristic kind:
    tobacco C>A (G>T); AID/APOBEC C>T or C>G (G>A, G>C) at TCW or WRC. Used by --measure."""
    if context[2] in "AG":
        context, alt = revcomp(context), alt.translate(COMPLEMENT)
    m2, m1, ref, p1, _ = context
    if signature == "tobacco":
        return ref == "C" and alt == "A"
    if signature == "aid_apobec":
        return ref == "C" and alt in "TG" and ((m1 == "T" and p1 in "AT") or (m2 in "AT" and m1 in "AG"))
    raise ValueError(signature)


class SignatureTable:
    """A signature tabulated over the 1,024 5-mers (base-4 code, first base most significant): the total rate
    of mutating the centre base, and the alternative bases with their cumulative rates."""

    def __init__(self, signature: str):
        self.total: list[float] = []
        self.alts: list[tuple[str, ...]] = []
        self.cum: list[tuple[float, ...]] = []
        for code in range(1024):
            kmer = "".join(BASES[(code >> (2 * (4 - k))) & 3] for k in range(5))
            if kmer[2] in "CT":
                rates = _rates(signature, *kmer)
            else:
                rates = {alt.translate(COMPLEMENT): r for alt, r in _rates(signature, *revcomp(kmer)).items()}
            alts = tuple(sorted(rates))
            self.alts.append(alts)
            self.cum.append(tuple(accumulate(rates[a] for a in alts)))
            self.total.append(self.cum[-1][-1])

    def alt(self, code: int, rng: random.Random) -> str:
        cum = self.cum[code]
        return self.alts[code][bisect_right(cum, rng.random() * cum[-1])]


def _context_codes(seq: str) -> array:
    """The 5-mer code centred on each position of `seq` (uppercase), -1 where the 5-mer is not all A/C/G/T."""
    codes = array("i", [-1]) * len(seq)
    value, valid = 0, 0
    for i, base in enumerate(seq):
        k = BASE_CODE.get(base)
        if k is None:
            value, valid = 0, 0
            continue
        value = ((value << 2) | k) & 1023
        valid += 1
        if valid >= 5:
            codes[i - 2] = value
    return codes


class Genome:
    """Uppercased reference with the lookups the mutation generator needs."""

    def __init__(self, chroms: dict[str, str]):
        self.seq = {name: s.upper() for name, s in chroms.items()}
        self.codes = {name: _context_codes(s) for name, s in self.seq.items()}
        self.autosome_weights = [(c, len(self.seq[c]) - self.seq[c].count("N")) for c in AUTOSOMES]

    def clean(self, chrom: str, pos: int, n: int) -> bool:
        """True if the n bases starting at 1-based pos are all A/C/G/T."""
        s = self.seq[chrom]
        if pos < 1 or pos - 1 + n > len(s):
            return False
        return all(b in BASES for b in s[pos - 1:pos - 1 + n])

    def ref(self, chrom: str, pos: int, n: int = 1) -> str:
        return self.seq[chrom][pos - 1:pos - 1 + n]

    def gc(self, chrom: str, pos: int, flank: int = 50) -> str:
        win = self.seq[chrom][max(0, pos - 1 - flank):pos + flank]
        acgt = sum(win.count(b) for b in BASES)
        return f"{(win.count('G') + win.count('C')) / acgt:.3f}" if acgt else ""

    def clean_region(self, chrom: str, hint: int, length: int) -> tuple[str, int, int]:
        start = hint
        while not self.clean(chrom, start, length):
            start += 250
        return chrom, start, start + length - 1


@dataclass
class Region:
    """Candidate positions lo, lo + 1, ... of one chromosome with their cumulative SNV rates."""

    chrom: str
    lo: int  # 1-based
    cum: array  # of float

    @property
    def hi(self) -> int:
        return self.lo + len(self.cum) - 1


class MutationMaker:
    def __init__(self, genome: Genome, rng: random.Random):
        self.g = genome
        self.rng = rng
        self.tables = {name: SignatureTable(name) for name in SIGNATURES}
        self._genome_wide: dict[tuple[str, str, float], Region] = {}
        self.region_gc_z = self._region_gc_z()

    def _region_gc_z(self) -> dict[str, list[float]]:
        """Per chromosome, the GC z-score of each REGION_BIN-bp region (over the autosomes' regions); 0 for a
        region with too few A/C/G/T to measure."""
        gc: dict[str, list[float | None]] = {}
        for chrom, seq in self.g.seq.items():
            values = []
            for start in range(0, len(seq), REGION_BIN):
                part = seq[start:start + REGION_BIN]
                acgt = sum(part.count(b) for b in BASES)
                values.append((part.count("G") + part.count("C")) / acgt if acgt >= REGION_BIN // 4 else None)
            gc[chrom] = values
        autosomal = [v for c in AUTOSOMES for v in gc[c] if v is not None]
        mean, sd = statistics.mean(autosomal), statistics.pstdev(autosomal)
        return {c: [0.0 if v is None else (v - mean) / sd for v in values] for c, values in gc.items()}

    def regional_weight(self, lin: Lineage, chrom: str, pos: int) -> float:
        """The lineage's cell-of-origin preference for the region holding 1-based `pos`."""
        return math.exp(lin.gc_tilt * self.region_gc_z[chrom][(pos - 1) // REGION_BIN])

    def region(self, chrom: str, lo: int, hi: int, signature: str, strand: str | None = None) -> Region:
        """Positions lo..hi (1-based, inclusive) weighted by the signature's rate in their context; with
        `strand` ('C' or 'G') only positions whose + strand base is that one."""
        rates, codes, seq = self.tables[signature].total, self.g.codes[chrom], self.g.seq[chrom]
        weights = (rates[codes[p - 1]] if codes[p - 1] >= 0 and (strand is None or seq[p - 1] == strand) else 0.0
                   for p in range(lo, hi + 1))
        return Region(chrom, lo, array("d", accumulate(weights)))

    def genome_wide(self, chrom: str, signature: str, lin: Lineage) -> Region:
        """Every position of `chrom`, weighted by the signature's context rate times the lineage's regional
        preference."""
        key = (chrom, signature, lin.gc_tilt)
        if key not in self._genome_wide:
            region = self.region(chrom, 1, len(self.g.seq[chrom]), signature)
            rates = [b - a for a, b in zip([0.0, *region.cum[:-1]], region.cum)]
            tilted = (rate * self.regional_weight(lin, chrom, region.lo + i) for i, rate in enumerate(rates))
            self._genome_wide[key] = Region(chrom, region.lo, array("d", accumulate(tilted)))
        return self._genome_wide[key]

    def _kind(self, kinds) -> str:
        return self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]

    def _claim(self, chrom: str, pos: int, ref: str, alt: str,
               used: set[tuple[str, int]]) -> tuple[str, int, str, str] | None:
        span = {(chrom, p) for p in range(pos, pos + len(ref))}
        if span & used:
            return None
        used |= span
        return chrom, pos, ref, alt

    def _non_snv(self, kind: str, chrom: str, pos: int, signature: str) -> tuple[str, str] | None:
        """(ref, alt) of a variant of `kind` (not an SNV) at `pos`, or None where it does not fit."""
        rng, g = self.rng, self.g
        if kind in ("DNP", "TNP", "ONP"):
            n = {"DNP": 2, "TNP": 3, "ONP": 4}[kind]
            if not g.clean(chrom, pos, n):
                return None
            ref = g.ref(chrom, pos, n)
            if kind == "DNP" and ref in ("CC", "GG") and signature in ("uv", "tobacco"):
                # DBS1 (UV) CC>TT; DBS2 (tobacco) CC>AA
                alt = {"uv": {"CC": "TT", "GG": "AA"}, "tobacco": {"CC": "AA", "GG": "TT"}}[signature][ref]
            else:
                alt = "".join(rng.choice([x for x in BASES if x != b]) for b in ref)
        elif kind == "deletion":
            n = rng.choices(range(1, 21), [40, 15, 10, 6, 5, 4] + [20 / 14] * 14)[0]
            if not g.clean(chrom, pos, n + 1):
                return None
            ref, alt = g.ref(chrom, pos, n + 1), g.ref(chrom, pos)
        elif kind == "insertion":
            n = rng.choices(range(1, 11), [45, 15, 10, 8, 6, 5, 4, 3, 2, 2])[0]
            if not g.clean(chrom, pos, n + 1):
                return None
            ref = g.ref(chrom, pos)
            # Half are tandem duplications of the following bases, as indels in repeats often are.
            ins = g.ref(chrom, pos + 1, n) if rng.random() < 0.5 else "".join(rng.choices(BASES, k=n))
            alt = ref + ins
        else:  # complex: a 2-base reference replaced by one different base
            if not g.clean(chrom, pos, 2):
                return None
            ref = g.ref(chrom, pos, 2)
            alt = rng.choice([b for b in BASES if b != ref[0]])
        return ref, alt

    def in_region(self, region: Region, kind: str, signature: str,
                  used: set[tuple[str, int]]) -> tuple[str, int, str, str] | None:
        """One variant of `kind` in the region: an SNV at a position drawn by its context rate under
        `signature` (the region's weights), any other kind at a uniformly drawn position."""
        rng, chrom = self.rng, region.chrom
        for _ in range(200):
            if kind == "SNV":
                pos = region.lo + bisect_right(region.cum, rng.random() * region.cum[-1])
                ref, alt = self.g.ref(chrom, pos), self.tables[signature].alt(self.g.codes[chrom][pos - 1], rng)
            else:
                pos = rng.randint(max(region.lo, 4), max(region.lo, region.hi - 25))
                pair = self._non_snv(kind, chrom, pos, signature)
                if pair is None:
                    continue
                ref, alt = pair
            mut = self._claim(chrom, pos, ref, alt, used)
            if mut:
                return mut
        return None

    def scattered(self, lin: Lineage, chrom: str, used: set[tuple[str, int]],
                  kind: str | None = None) -> tuple[str, int, str, str] | None:
        """One variant anywhere on `chrom`; an SNV follows the lineage's signature with probability
        `signature_share`, else the clock-like background."""
        kind = kind or self._kind(VARIANT_KINDS)
        signature = lin.signature if self.rng.random() < lin.signature_share else "background"
        return self.in_region(self.genome_wide(chrom, signature, lin), kind, signature, used)

    def _autosome(self) -> str:
        return self.rng.choices([c for c, _ in self.g.autosome_weights], [w for _, w in self.g.autosome_weights])[0]

    def cluster_region(self, lin: Lineage) -> Region:
        """A cluster's span at an autosomal place drawn by the lineage's regional preference, at least 90 %
        A/C/G/T."""
        rng, half = self.rng, lin.cluster_span // 2
        top = math.exp(abs(lin.gc_tilt) * max(abs(z) for c in AUTOSOMES for z in self.region_gc_z[c]))
        while True:
            chrom = self._autosome()
            centre = rng.randint(half + 10, len(self.g.seq[chrom]) - half - 10)
            # Rejection sampling: a place is kept with probability proportional to its regional weight.
            if rng.random() * top > self.regional_weight(lin, chrom, centre):
                continue
            window = self.g.seq[chrom][centre - half - 1:centre + half]
            if window.count("N") <= 0.1 * len(window):
                strand = rng.choice("CG") if lin.strand_coordinated else None
                region = self.region(chrom, centre - half, centre + half, lin.signature, strand)
                if region.cum[-1] > 0:
                    return region

    def cell_line(self, model: Model, hotspots: list[Region]) -> list[tuple[str, int, str, str]]:
        rng, lin = self.rng, model.lineage
        used: set[tuple[str, int]] = set()
        muts = []

        def add(mut):
            if mut:
                muts.append(mut)

        n_hot = round(model.burden * lin.hotspot_share) if hotspots else 0
        n_clustered = round(model.burden * lin.cluster_share)
        for _ in range(n_hot):
            add(self.in_region(rng.choice(hotspots), self._kind(VARIANT_KINDS), lin.signature, used))
        while n_clustered > 0:
            size = min(n_clustered, rng.randint(*lin.cluster_size))
            if n_clustered - size < lin.cluster_size[0]:
                size = n_clustered  # no runt cluster at the end
            region = self.cluster_region(lin)
            for _ in range(size):
                add(self.in_region(region, self._kind(CLUSTER_KINDS), lin.signature, used))
            n_clustered -= size
        # The rest is scattered over the genome; chrX and chrM get their share of the whole burden here.
        scattered_share = max(0.05, 1 - lin.hotspot_share - lin.cluster_share)
        while len(muts) < model.burden:
            r = rng.random() * scattered_share
            chrom = "chrM" if r < CHRM_SHARE else "chrX" if r < CHRM_SHARE + CHRX_SHARE else self._autosome()
            add(self.scattered(lin, chrom, used))
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
    maker = MutationMaker(genome, rng)
    lineages = {lin.name: lin for lin in LINEAGES}
    hotspots = {
        name: [maker.region(*genome.clean_region(*h), lineages[name].signature) for h in spots]
        for name, spots in HOTSPOTS.items()
    }
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
            own = [maker.scattered(m.lineage, maker._autosome(), used, "SNV") for _ in range(15)]
            for mut in again + [x for x in own if x]:
                rows.append(mutation_row(genome, rng, m, mut, _variant_class(mut[2], mut[3]),
                                         seq_id, cond_id, False))
    rows.sort(key=lambda r: (r["ModelID"], r["IsDefaultEntryForModel"] == "No", _chrom_key(r["Chrom"]),
                             int(r["Pos"]), r["Ref"], r["Alt"]))
    return model_rows(models), rows


# ======================================================================================================
# Measuring what the study's windows carry (--measure; needs numpy and scikit-learn, e.g. the project's .venv)

MEASURE_LINEAGES = ("Lung", "Lymphoid")
MEASURE_LENGTHS = (256, 512)
MEASURE_SEEDS = (1, 2, 3, 4, 5)
MEASURE_MAX_ANCHORS = 60  # config.yaml studies.cancer_type.max_anchors_per_cell_line
MEASURE_SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}
MEASURE_KMERS = (3, 4, 6)
MEASURE_C = 0.01  # inverse L2 strength of the logistic regression; fixed, not tuned per run
# Real DepMap, from the study's thesis (section 3.1): Table 3.2 mean calls per Lung/Lymphoid cell line
# (aggregated), Table 3.1 A+C+G+T of the GRCh38 autosomes.
REAL_MEAN_CALLS = 825
REAL_ACGT_BP = 2_937_000_000


def _split_sizes(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """genolm.studies.cancer_type.selection.split_sizes (largest remainder, every split non-empty), restated
    here so that the script does not import the package."""
    names = list(fractions)
    exact = [fractions[s] * n for s in names]
    sizes = [math.floor(x) for x in exact]
    for i in sorted(range(len(names)), key=lambda i: (-(exact[i] - sizes[i]), i))[: n - sum(sizes)]:
        sizes[i] += 1
    if n >= len(names):
        for i in range(len(names)):
            if sizes[i] == 0:
                donor = max(range(len(names)), key=lambda j: (sizes[j], -j))
                sizes[donor] -= 1
                sizes[i] += 1
    return dict(zip(names, sizes))


def _apply(seq: str, start: int, muts: list[tuple[str, int, str, str]]) -> str:
    """`seq` (the reference from 0-based `start`) with the non-overlapping mutations applied, first come first."""
    out, cursor = [], 0
    for _, pos, ref, alt in sorted(muts, key=lambda m: m[1]):
        lo, hi = pos - 1 - start, pos - 1 - start + len(ref)
        if lo < cursor:
            continue
        out.append(seq[cursor:lo])
        out.append(alt)
        cursor = hi
    out.append(seq[cursor:])
    return "".join(out)


class StudyWindows:
    """The study's selection and windows, restated for measuring (numpy only; no genolm import).

    Selection: autosomal default-sequencing calls; Lung and Lymphoid cell lines strictly above the median
    burden of the two together; classes balanced; 70/10/20 split per class by cell line; min(burden, 60)
    anchors per line. Windows of `length` bp are cut either centred on the anchor or, as genolm's
    mutate-windows does, at a uniformly drawn offset that keeps the anchor inside; a mutated window has all of
    the cell line's calls inside it applied (overlaps: first come first).
    """

    def __init__(self, out: Path):
        fasta = gzip.decompress((out / UCSC_DIR / "hg38.fa.gz").read_bytes()).decode()
        self.genome = {name: seq.upper() for name, seq in read_fasta(fasta) if name in AUTOSOMES}
        with open(out / DEPMAP_DIR / "Model.csv", newline="") as handle:
            self.lineage_of = {r["ModelID"]: r["OncotreeLineage"] for r in csv.DictReader(handle)}
        calls: dict[str, set[tuple[str, int, str, str]]] = {}
        with open(out / DEPMAP_DIR / "OmicsSomaticMutations.csv", newline="") as handle:
            for r in csv.DictReader(handle):
                if r["IsDefaultEntryForModel"] == "Yes" and r["Chrom"] in self.genome:
                    calls.setdefault(r["ModelID"], set()).add((r["Chrom"], int(r["Pos"]), r["Ref"], r["Alt"]))
        self.muts = {s: sorted(v) for s, v in calls.items() if self.lineage_of[s] in MEASURE_LINEAGES}
        self.by_chrom: dict[tuple[str, str], list[tuple[str, int, str, str]]] = {}
        for s, rows in self.muts.items():
            for m in rows:
                self.by_chrom.setdefault((s, m[0]), []).append(m)
        self.starts = {key: [m[1] for m in rows] for key, rows in self.by_chrom.items()}
        self.counts = {s: len(v) for s, v in self.muts.items()}
        self.median = statistics.median(self.counts.values())
        self.above = {lin: sorted(s for s in self.muts if self.lineage_of[s] == lin and self.counts[s] > self.median)
                      for lin in MEASURE_LINEAGES}

    def select(self, seed: int):
        """(split of each chosen cell line, anchors as (sample, call), the generator for the offsets)."""
        import numpy as np

        rng = np.random.default_rng(seed)
        keep = min(len(v) for v in self.above.values())
        split = {}
        for members in self.above.values():
            members = [members[i] for i in np.sort(rng.choice(len(members), keep, replace=False))]
            sizes = _split_sizes(len(members), MEASURE_SPLITS)
            names = [name for name, size in sizes.items() for _ in range(size)]
            for i, j in enumerate(rng.permutation(len(members))):
                split[members[j]] = names[i]
        n_anchors = min(MEASURE_MAX_ANCHORS, min(self.counts[s] for s in split))
        anchors = [(s, self.muts[s][i]) for s in sorted(split)
                   for i in np.sort(rng.choice(self.counts[s], n_anchors, replace=False))]
        return split, anchors, rng

    @staticmethod
    def start(anchor, length: int, u: float | None) -> int:
        """Window start: centred on the anchor (u None) or at offset u in [0, 1) of the allowed starts."""
        p0, n = anchor[1] - 1, len(anchor[2])
        return p0 + n // 2 - length // 2 if u is None else p0 + n - length + int(u * (length - n + 1))

    def window(self, sample: str, anchor, length: int, start: int):
        """(reference window, mutated window, the cell line's other calls inside the window)."""
        chrom = anchor[0]
        seq = self.genome[chrom]
        start = max(0, min(start, len(seq) - length))
        key = (sample, chrom)
        lo = bisect_left(self.starts[key], start + 1)
        hi = bisect_right(self.starts[key], start + length + 64)
        near = [m for m in self.by_chrom[key][lo:hi] if m != anchor]
        inside = [m for m in near if m[1] - 1 + len(m[2]) <= start + length]
        mutated = _apply(seq[start:start + length + 64], start, [anchor] + near)
        return seq[start:start + length], mutated[:length], inside


def kmer_features(seqs: list[str], k: int):
    """log(1 + count) of each canonical k-mer (a k-mer and its reverse complement counted together, since the
    signatures are strand-symmetric) in each sequence; k-mers with N are skipped."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    lut = np.full(256, 4, np.uint8)
    for i, b in enumerate(b"ACGT"):
        lut[b] = i
    weights = 4 ** np.arange(k - 1, -1, -1)
    codes = np.arange(4 ** k)
    rc = ((3 - (codes[:, None] // weights) % 4) * weights[::-1]).sum(1)  # code of the reverse complement
    canonical = np.minimum(codes, rc)
    columns = {c: i for i, c in enumerate(np.unique(canonical))}
    column_of = np.array([columns[c] for c in canonical])
    x = np.zeros((len(seqs), len(columns)), np.float32)
    for row, s in enumerate(seqs):
        w = sliding_window_view(lut[np.frombuffer(s.encode(), np.uint8)], k)
        w = w[(w < 4).all(1)].astype(np.int64)
        x[row] = np.bincount(column_of[w @ weights], minlength=len(columns))
    return np.log1p(x)


def kmer_accuracy(x, y, train, test) -> float:
    """Test accuracy of a logistic regression on standardized features, fitted on the train rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=MEASURE_C, max_iter=3000))
    model.fit(x[train], y[train])
    return float(model.score(x[test], y[test]))


def measure(out: Path, seeds: tuple[int, ...] = MEASURE_SEEDS) -> str:
    """What a Lung or Lymphoid window carries, and how far a k-mer logistic regression gets on it (Markdown)."""
    import numpy as np

    study = StudyWindows(out)
    lineage_of, counts, above = study.lineage_of, study.counts, study.above
    signature_of = {lin.name: lin.signature for lin in LINEAGES}
    lines = [f"Cell lines (autosomal default-sequencing calls; median of Lung + Lymphoid together: "
             f"{study.median:g}):"]
    for lin in MEASURE_LINEAGES:
        members = [s for s in study.muts if lineage_of[s] == lin]
        lines.append(f"  {lin}: {len(members)} cell lines, burden {min(counts[s] for s in members)}-"
                     f"{max(counts[s] for s in members)} (mean {statistics.mean(counts[s] for s in members):.0f}), "
                     f"{len(above[lin])} strictly above the median")
    split, anchors, rng = study.select(seeds[0])
    sizes = Counter((lineage_of[s], split[s]) for s in split)
    lines.append("  after class balancing, per class train/val/test: " + "; ".join(
        f"{lin} {sizes[(lin, 'train')]}/{sizes[(lin, 'val')]}/{sizes[(lin, 'test')]}" for lin in MEASURE_LINEAGES)
        + f"; {len(anchors) // len(split)} anchors per cell line")

    # What a window carries: the first seed's anchors, every split.
    lines += ["", "| lineage | L | other calls in the window, centred | same, random offset | in own signature "
                  "| in the other lineage's signature |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    offsets = rng.random(len(anchors))
    for lin in MEASURE_LINEAGES:
        other = next(x for x in MEASURE_LINEAGES if x != lin)
        for length in MEASURE_LENGTHS:
            centred, shifted, own, foreign = [], [], 0, 0
            for (s, anchor), u in zip(anchors, offsets):
                if lineage_of[s] != lin:
                    continue
                inside = study.window(s, anchor, length, study.start(anchor, length, None))[2]
                centred.append(len(inside))
                shifted.append(len(study.window(s, anchor, length, study.start(anchor, length, u))[2]))
                for chrom, pos, ref, alt in inside:
                    if len(ref) == len(alt) == 1:
                        context = study.genome[chrom][pos - 3:pos + 2]
                        own += in_signature(signature_of[lin], context, alt)
                        foreign += in_signature(signature_of[other], context, alt)
            total = sum(centred)
            lines.append(f"| {lin} | {length} | {statistics.mean(centred):.2f} | {statistics.mean(shifted):.2f} | "
                         f"{own / total:.0%} | {foreign / total:.0%} |")

    # k-mer logistic regression, cell lines split as the study splits them.
    results: dict[tuple[int, str, int], list[float]] = {}
    for seed in seeds:
        split, anchors, rng = study.select(seed)
        offsets = rng.random(len(anchors))
        y = np.array([MEASURE_LINEAGES.index(lineage_of[s]) for s, _ in anchors])
        test = np.array([split[s] == "test" for s, _ in anchors])
        for length in MEASURE_LENGTHS:
            windows = [study.window(s, a, length, study.start(a, length, u)) for (s, a), u in zip(anchors, offsets)]
            for source, column in (("reference", 0), ("mutated", 1)):
                for k in MEASURE_KMERS:
                    x = kmer_features([w[column] for w in windows], k)
                    results.setdefault((length, source, k), []).append(kmer_accuracy(x, y, ~test, test))
    lines += ["", f"Logistic regression on canonical k-mer counts (log(1 + count), standardized, C = {MEASURE_C}), "
                  f"trained on the windows of the train and val cell lines, accuracy on those of the test cell lines; "
                  f"mean ± sd over {len(seeds)} seeds of selection, anchors and offsets:",
              "", "| L | features | mutated windows | reference windows |", "| ---: | --- | ---: | ---: |"]
    for length in MEASURE_LENGTHS:
        for k in MEASURE_KMERS:
            cells = []
            for source in ("mutated", "reference"):
                acc = results[(length, source, k)]
                cells.append(f"{statistics.mean(acc):.3f} ± {statistics.stdev(acc) if len(acc) > 1 else 0:.3f}")
            lines.append(f"| {length} | {k}-mers | {cells[0]} | {cells[1]} |")

    # Density against real DepMap.
    demo_bp = sum(len(s) - s.count("N") for s in study.genome.values())
    demo_mean = statistics.mean(counts.values())
    demo_density, real_density = demo_mean / demo_bp, REAL_MEAN_CALLS / REAL_ACGT_BP
    lines += ["", f"Density: {demo_mean:.0f} autosomal calls per Lung/Lymphoid cell line over {demo_bp:,} A/C/G/T bp "
                  f"= {demo_density * 1e6:.0f} per Mb; real DepMap {REAL_MEAN_CALLS} over {REAL_ACGT_BP:,} bp = "
                  f"{real_density * 1e6:.2f} per Mb: {demo_density / real_density:,.0f}x denser genome-wide. Spread "
                  f"evenly, real calls would put {512 * real_density:.1e} other calls in a 512-bp window."]
    return "\n".join(lines)


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
    parser.add_argument("--measure", action="store_true",
                        help="after building, report what the study's windows carry and how a k-mer logistic "
                             "regression does on them (needs numpy and scikit-learn; about a minute)")
    parser.add_argument("--measure-only", action="store_true", help="measure the mirror under --out, do not build")
    parser.add_argument("--measure-seeds", type=int, default=len(MEASURE_SEEDS), metavar="N",
                        help=f"seeds to average the regression over (default {len(MEASURE_SEEDS)})")
    args = parser.parse_args(argv)
    if not args.measure_only:
        if args.from_debian:
            extract_sources(None if args.from_debian == "download" else Path(args.from_debian), args.sources)
        files = build(args.out, args.sources)
        for path, data in files.items():
            write_atomic(path, data)
    if args.measure or args.measure_only:
        print(measure(args.out, tuple(range(1, args.measure_seeds + 1))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
