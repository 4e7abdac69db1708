"""The embedded demo data: a UCSC hg38 + DepMap mirror that a demo run downloads through the real code path."""

from __future__ import annotations

import csv
import gzip
import hashlib
import statistics
import subprocess
import sys
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
BIGZIPS = DEMO / "mirror" / "goldenPath" / "hg38" / "bigZips"
DEPMAP = DEMO / "mirror" / "depmap"
SHIPPED = [
    BIGZIPS / "hg38.fa.gz",
    BIGZIPS / "md5sum.txt",
    DEPMAP / "Model.csv",
    DEPMAP / "OmicsSomaticMutations.csv",
    DEPMAP / "files.csv",
]

# Real column order of DepMap Public 25Q3 (from the release README).
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
MODEL_LEADING_COLUMNS = [
    "ModelID", "PatientID", "CellLineName", "StrippedCellLineName", "DepmapModelType", "OncotreeLineage",
    "OncotreePrimaryDisease", "OncotreeSubtype", "OncotreeCode",
]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def genome() -> dict[str, str]:
    records: dict[str, list[str]] = {}
    with gzip.open(BIGZIPS / "hg38.fa.gz", "rt") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith(">"):
                name = line[1:]
                assert name not in records, f"duplicate sequence {name}"
                records[name] = []
            else:
                records[name].append(line)
    for name, lines in records.items():
        assert all(len(line) == 50 for line in lines[:-1]), f"{name}: not wrapped at 50 columns like UCSC"
        assert 0 < len(lines[-1]) <= 50
    return {name: "".join(lines) for name, lines in records.items()}


@pytest.fixture(scope="module")
def mutations() -> list[dict[str, str]]:
    header, rows = read_csv(DEPMAP / "OmicsSomaticMutations.csv")
    assert header == MUTATION_COLUMNS
    return rows


@pytest.fixture(scope="module")
def models() -> dict[str, dict[str, str]]:
    header, rows = read_csv(DEPMAP / "Model.csv")
    assert header[: len(MODEL_LEADING_COLUMNS)] == MODEL_LEADING_COLUMNS
    assert len(header) == 49
    return {row["ModelID"]: row for row in rows}


def test_fasta_is_ucsc_like(genome):
    assert sorted(genome) == list(genome), "UCSC lists hg38.fa.gz sequences sorted by name"
    autosomes = [n for n in genome if n[3:].isdigit()]
    assert len(autosomes) >= 4 and {"chrM", "chrX"} <= set(genome)
    assert genome["chrM"].upper().startswith("GATCACAGGTCTATCACCC")  # rCRS, like hg38 chrM
    assert len(genome["chrM"]) == 16569
    for name in autosomes:
        assert 40_000 <= len(genome[name]) <= 310_000, name
    for name, seq in genome.items():
        assert set(seq) <= set("ACGTNacgtn"), name
    assert any(c.islower() for c in genome["chr22"]), "soft-masking of the real chr22 is kept"
    assert all("N" in genome[n] for n in ("chr4", "chr19", "chr22", "chrX"))
    with gzip.open(BIGZIPS / "hg38.fa.gz") as handle:
        assert handle.read(1) == b">"
    assert (BIGZIPS / "hg38.fa.gz").stat().st_size <= 1_500_000


def test_synthetic_chromosomes_differ_in_gc(genome):
    def gc(name: str) -> float:
        seq = genome[name].upper()
        return (seq.count("G") + seq.count("C")) / sum(seq.count(b) for b in "ACGT")

    assert gc("chr19") > gc("chr22") + 0.03 > gc("chr4") + 0.03


def test_md5sum_txt_matches(genome):
    lines = (BIGZIPS / "md5sum.txt").read_text().splitlines()
    assert lines == [f"{md5(BIGZIPS / 'hg38.fa.gz')}  hg38.fa.gz"]


def test_catalogue_md5s_match():
    header, rows = read_csv(DEPMAP / "files.csv")
    assert header == ["release", "release_date", "filename", "url", "md5_hash"]
    assert {r["filename"] for r in rows} == {"Model.csv", "OmicsSomaticMutations.csv"}
    for row in rows:
        assert md5(DEPMAP / row["url"]) == row["md5_hash"], row["filename"]


def test_every_ref_agrees_with_the_reference(genome, mutations):
    upper = {name: seq.upper() for name, seq in genome.items()}
    for i, row in enumerate(mutations, start=2):
        pos, ref, alt = int(row["Pos"]), row["Ref"], row["Alt"]
        where = f"line {i} ({row['Chrom']}:{pos} {ref}>{alt}, {row['ModelID']})"
        assert upper[row["Chrom"]][pos - 1:pos - 1 + len(ref)] == ref, where
        assert set(ref) <= set("ACGT") and set(alt) <= set("ACGT") and ref != alt, where
        if row["VariantType"] in ("insertion", "deletion"):
            assert ref[0] == alt[0], f"{where}: indels carry the VCF padding base"


def test_variant_types_and_filter_cases(mutations):
    types = Counter(r["VariantType"] for r in mutations)
    assert set(types) == {"SNV", "substitution", "insertion", "deletion", "indel"}
    assert 0.84 < types["SNV"] / len(mutations) < 0.92
    deletions = [r for r in mutations if r["VariantType"] == "deletion"]
    assert max(len(r["Ref"]) - 1 for r in deletions) > 10
    chroms = Counter(r["Chrom"] for r in mutations)
    assert chroms["chrX"] > 0 and chroms["chrM"] > 0
    assert all(r["Chrom"].startswith("chr") for r in mutations)
    assert Counter(r["IsDefaultEntryForModel"] for r in mutations).keys() == {"Yes", "No"}


def test_overlapping_mutations_within_a_cell_line(mutations):
    spans = defaultdict(list)
    for r in mutations:
        if r["IsDefaultEntryForModel"] == "Yes":
            pos = int(r["Pos"])
            spans[(r["ModelID"], r["Chrom"])].append((pos, pos + len(r["Ref"]) - 1))
    overlapping = set()
    for (model, _), intervals in spans.items():
        intervals.sort()
        if any(b[0] <= a[1] for a, b in zip(intervals, intervals[1:])):
            overlapping.add(model)
    assert len(overlapping) >= 3


def test_lineages_and_burdens(models, mutations):
    lineages = Counter(m["OncotreeLineage"] for m in models.values())
    assert lineages["Lung"] == 44 and lineages["Lymphoid"] == 44
    assert sum(n for lin, n in lineages.items() if lin not in ("Lung", "Lymphoid")) >= 8
    assert all(m["ModelID"].startswith("ACH-") and len(m["ModelID"]) == 10 for m in models.values())
    burden = Counter(r["ModelID"] for r in mutations if r["IsDefaultEntryForModel"] == "Yes")
    assert set(burden) == set(models)
    counts = sorted(burden.values())
    assert 120 <= statistics.mean(counts) <= 200
    assert counts[-1] > 3 * statistics.median(counts) / 2 > counts[0], "burden must vary around the median"
    assert (DEPMAP / "OmicsSomaticMutations.csv").stat().st_size <= 4_000_000


def test_enough_cell_lines_survive_the_median_filter(models, mutations):
    # The study keeps Lung and Lymphoid lines strictly above the median burden of the two together (autosomal,
    # default sequencing), balances the classes and splits each 70/10/20: 19 or more per class leave at
    # least 2 validation and 3 test cell lines.
    burden = Counter(r["ModelID"] for r in mutations
                     if r["IsDefaultEntryForModel"] == "Yes" and r["Chrom"][3:].isdigit())
    study = {m: n for m, n in burden.items() if models[m]["OncotreeLineage"] in ("Lung", "Lymphoid")}
    median = statistics.median(study.values())
    above = Counter(models[m]["OncotreeLineage"] for m, n in study.items() if n > median)
    assert min(above["Lung"], above["Lymphoid"]) >= 19, above


def _calls_by_line(models, mutations, lineage):
    calls = defaultdict(list)
    for r in mutations:
        if r["IsDefaultEntryForModel"] == "Yes" and models[r["ModelID"]]["OncotreeLineage"] == lineage:
            calls[(r["ModelID"], r["Chrom"])].append(r)
    for rows in calls.values():
        rows.sort(key=lambda r: int(r["Pos"]))
    return calls


def _in_signature(lineage, context, alt):
    if context[2] in "AG":  # read a purine reference on the other strand
        context = context.translate(str.maketrans("ACGT", "TGCA"))[::-1]
        alt = alt.translate(str.maketrans("ACGT", "TGCA"))
    m2, m1, ref, p1, _ = context
    if lineage == "Lung":  # tobacco SBS4: C>A
        return ref == "C" and alt == "A"
    return ref == "C" and alt in "TG" and ((m1 == "T" and p1 in "AT") or (m2 in "AT" and m1 in "AG"))


def test_windows_carry_several_calls_of_the_lineage_signature(genome, models, mutations):
    # What makes the task learnable from the mutated window: around a call, the same cell line has several
    # more calls (clusters), mostly of its lineage's signature, and a 512-bp window holds more than 256 bp.
    upper = {name: seq.upper() for name, seq in genome.items()}
    for lineage, other in (("Lung", "Lymphoid"), ("Lymphoid", "Lung")):
        per_length = {}
        for length in (256, 512):
            extra, own, foreign = [], 0, 0
            for (_, chrom), rows in _calls_by_line(models, mutations, lineage).items():
                starts = [int(r["Pos"]) for r in rows]
                for pos in starts:
                    lo, hi = bisect_left(starts, pos - length // 2), bisect_right(starts, pos + length // 2 - 1)
                    extra.append(hi - lo - 1)
                    for r in rows[lo:hi]:
                        if int(r["Pos"]) != pos and len(r["Ref"]) == len(r["Alt"]) == 1:
                            context = upper[chrom][int(r["Pos"]) - 3:int(r["Pos"]) + 2]
                            own += _in_signature(lineage, context, r["Alt"])
                            foreign += _in_signature(other, context, r["Alt"])
            per_length[length] = statistics.mean(extra)
            assert own > 0.65 * sum(extra) and foreign < 0.1 * sum(extra), (lineage, length)
        assert 3 <= per_length[512] <= 10, (lineage, per_length)
        assert per_length[512] > 1.6 * per_length[256], (lineage, per_length)


def test_lymphoid_clusters_are_strand_coordinated(models, mutations):
    # Kataegis: the SNVs of one cluster hit the same strand's C (all C>N, or all G>N on the + strand).
    same = total = 0
    for rows in _calls_by_line(models, mutations, "Lymphoid").values():
        snvs = [r for r in rows if r["VariantType"] == "SNV" and r["Ref"] in "CG"]
        for a, b in zip(snvs, snvs[1:]):
            if int(b["Pos"]) - int(a["Pos"]) < 100:
                total += 1
                same += a["Ref"] == b["Ref"]
    assert total > 1000 and same > 0.85 * total


# The lineage hotspots as data/demo/README.md documents them (demo coordinates, 1-based, inclusive).
HOTSPOTS = {
    "Lung": (("chr1", 40_000, 43_499), ("chr17", 12_000, 14_999), ("chr4", 70_000, 73_999)),
    "Lymphoid": (("chr22", 37_250, 41_249), ("chr22", 154_250, 157_249), ("chr19", 50_000, 53_499)),
}


def test_lineage_hotspots_are_a_modest_share(models, mutations):
    # Each study lineage has shared hotspot regions, but they hold only a modest share of its calls: they must not
    # be the only signal, and the other lineage rarely hits them.
    for lineage, other in (("Lung", "Lymphoid"), ("Lymphoid", "Lung")):
        def share(of: str) -> float:
            calls = [r for r in mutations if models[r["ModelID"]]["OncotreeLineage"] == of
                     and r["IsDefaultEntryForModel"] == "Yes"]
            inside = sum(any(r["Chrom"] == c and lo <= int(r["Pos"]) <= hi for c, lo, hi in HOTSPOTS[lineage])
                         for r in calls)
            return inside / len(calls)
        assert 0.03 < share(lineage) < 0.2, lineage
        assert share(other) < 0.01, (lineage, other)


def test_lineages_prefer_regions_of_their_cell_of_origin(models, mutations, genome):
    # Lung calls favour GC-poor regions, Lymphoid calls GC-rich ones (data/demo/README.md, mechanism 5): the GC of
    # the 4 kb around a call differs between the lineages by more than the spread of per-cell-line means.
    def regional_gc(chrom: str, pos: int) -> float:
        part = genome[chrom][max(0, pos - 2001):pos + 2000].upper()
        acgt = sum(part.count(b) for b in "ACGT")
        return (part.count("G") + part.count("C")) / acgt
    per_line: dict[str, list[float]] = {"Lung": [], "Lymphoid": []}
    by_line: dict[str, list[float]] = defaultdict(list)
    for r in mutations:
        if models[r["ModelID"]]["OncotreeLineage"] in per_line and r["IsDefaultEntryForModel"] == "Yes" \
                and r["Chrom"] not in ("chrX", "chrM"):
            by_line[r["ModelID"]].append(regional_gc(r["Chrom"], int(r["Pos"])))
    for model, values in by_line.items():
        per_line[models[model]["OncotreeLineage"]].append(statistics.mean(values))
    assert max(per_line["Lung"]) < statistics.mean(per_line["Lymphoid"])
    assert min(per_line["Lymphoid"]) > statistics.mean(per_line["Lung"])
    assert statistics.mean(per_line["Lymphoid"]) - statistics.mean(per_line["Lung"]) > 0.02


def test_regeneration_is_byte_identical(tmp_path):
    script = REPO / "scripts" / "make_demo_data.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, timeout=120)
    for path in SHIPPED:
        rebuilt = tmp_path / path.relative_to(DEMO)
        assert rebuilt.read_bytes() == path.read_bytes(), path.name
