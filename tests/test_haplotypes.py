"""Haplotype sequences (genolm.datasets.haplotypes, `genolm haplotypes`) equal `bcftools consensus -s S -H 1|2`
on a random reference and a random phased VCF with SNVs, insertions, deletions, multi-allelic and overlapping
records; and their QC adds up, the unusable calls counted by reason."""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_genolm
from genolm.qc import read_qc

TOOLS = ("bcftools", "bgzip", "tabix")
needs_bcftools = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                    reason=f"needs {', '.join(TOOLS)} on PATH (Debian packages bcftools and tabix)")
SAMPLES = ["HG00096", "HG00097", "NA12878"]


def random_case(tmp_path: Path, seed: int, *, phased_only: bool) -> tuple[Path, Path, dict[str, str]]:
    """A two-chromosome reference and a bgzipped, indexed VCF of random variants phased for SAMPLES."""
    rng = random.Random(seed)
    chroms = {"chr1": "".join(rng.choice("ACGT") for _ in range(3000)),
              "chr2": "".join(rng.choice("ACGT") for _ in range(2000))}
    reference = tmp_path / "ref.fa"
    reference.write_text("".join(f">{name}\n{seq}\n" for name, seq in chroms.items()))
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    lines += [f"##contig=<ID={name},length={len(seq)}>" for name, seq in chroms.items()]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *SAMPLES]))
    for name, seq in chroms.items():
        pos = 5
        while (pos := pos + rng.randint(1, 25)) < len(seq) - 10:  # close enough that some records overlap
            kind = rng.random()
            ref = seq[pos - 1 : pos - 1 + (rng.randint(2, 6) if kind < 0.25 else 1)]
            if kind < 0.25:  # deletion
                alts = [ref[0]]
            elif kind < 0.5:  # insertion
                alts = [ref + "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 5)))]
            else:  # SNV, sometimes multi-allelic
                alts = [b for b in "ACGT" if b != ref][: rng.choice([1, 1, 2])]
            genotypes = []
            for _ in SAMPLES:
                a, b = rng.randint(0, len(alts)), rng.randint(0, len(alts))
                separator = "|" if phased_only or a == b or rng.random() < 0.8 else "/"
                genotypes.append(f"{a}{separator}{b}")
            if not phased_only and rng.random() < 0.05:
                genotypes[0] = ".|."
            lines.append("\t".join([name, str(pos), ".", ref, ",".join(alts), ".", "PASS", ".", "GT", *genotypes]))
    vcf = tmp_path / "calls.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    subprocess.run(["tabix", "-p", "vcf", f"{vcf}.gz"], check=True)
    return reference, Path(f"{vcf}.gz"), chroms


@needs_bcftools
def test_haplotypes_equal_bcftools_consensus(tmp_path):
    reference, vcf, chroms = random_case(tmp_path, seed=3, phased_only=True)
    out, qc = tmp_path / "haplotypes", tmp_path / "qc.tsv"
    run_genolm("haplotypes", "--vcf", str(vcf), "--reference", str(reference), "--chromosomes", "chr1", "chr2",
               "--samples", *SAMPLES, "--out", str(out), "--qc", str(qc))
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}_h{h}.fa.gz" for s in SAMPLES for h in (1, 2))
    ours = {f"{path.name.removesuffix('.fa.gz')} {chrom}": sequence
            for path in out.iterdir() for chrom, sequence in read_fasta_text(gzip.open(path, "rt").read()).items()}
    assert len(ours) == 2 * len(SAMPLES) * len(chroms)
    counts = dict(read_qc(qc).select("reason", "count").iter_rows())
    assert counts["overlap_skipped"] > 0 and counts["applied"] > 100  # the hard path is exercised
    for sample in SAMPLES:
        for haplotype in (1, 2):
            result = subprocess.run(["bcftools", "consensus", "-f", str(reference), "-s", sample, "-H", str(haplotype),
                                     str(vcf)], capture_output=True, text=True, check=True)
            expected = read_fasta_text(result.stdout)
            for chrom in chroms:
                assert ours[f"{sample}_h{haplotype} {chrom}"] == expected[chrom], (sample, haplotype, chrom)


def read_fasta_text(text: str) -> dict[str, str]:
    sequences: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith(">"):
            current = sequences.setdefault(line[1:].split()[0], [])
        else:
            current.append(line.strip())
    return {name: "".join(parts) for name, parts in sequences.items()}


@needs_bcftools
def test_unusable_calls_are_counted_by_reason_and_add_up(tmp_path):
    reference, vcf, chroms = random_case(tmp_path, seed=5, phased_only=False)
    out, qc = tmp_path / "haplotypes", tmp_path / "qc.tsv"
    run_genolm("haplotypes", "--vcf", str(vcf), "--reference", str(reference), "--chromosomes", "chr1",
               "--max-samples", "2", "--seed", "1", "--out", str(out), "--qc", str(qc))
    counts = dict(read_qc(qc).select("reason", "count").iter_rows())
    assert counts["unphased_heterozygous"] > 0 and counts["records_written"] == 4
    assert counts["calls"] == sum(counts[r] for r in ("applied", "reference_allele", "missing_allele",
                                                      "unphased_heterozygous", "symbolic_alt", "ref_mismatch",
                                                      "overlap_skipped"))
    assert len({path.name.split("_h")[0] for path in out.iterdir()} & set(SAMPLES)) == 2


@needs_bcftools
def test_a_sample_the_vcf_lacks_is_refused_and_nothing_written(tmp_path):
    reference, vcf, _ = random_case(tmp_path, seed=7, phased_only=True)
    out = tmp_path / "haplotypes"
    result = run_genolm("haplotypes", "--vcf", str(vcf), "--reference", str(reference), "--chromosomes", "chr1",
                        "--samples", "HG99999", "--out", str(out), "--qc", str(tmp_path / "qc.tsv"), check=False)
    assert result.returncode != 0 and "calls.vcf.gz: no sample 'HG99999' among its 3 samples" in result.stderr
    assert not out.exists()
