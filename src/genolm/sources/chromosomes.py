"""Chromosome names across naming conventions.

The same GRCh38 chromosome is `chr1` at UCSC, `1` at Ensembl and `NC_000001.11` at RefSeq, and FASTA deflines
may carry more fields after the name (NCBI analysis sets: `>chr1  AC:CM000663.2  gi:...  LN:248956422 ...`).
genolm uses the UCSC names everywhere; this module maps every other spelling onto them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from genolm.errors import GenolmInputError

AUTOSOMES = tuple(f"chr{i}" for i in range(1, 23))
CANONICAL = AUTOSOMES + ("chrX", "chrY", "chrM")

# GRCh38 RefSeq accessions. The version suffix differs between chromosomes (chr14 is .9, chr7 is .14), and a
# different version is a different sequence (GRCh37 used NC_000001.10), so accessions are matched exactly.
_REFSEQ = {
    "chr1": "NC_000001.11", "chr2": "NC_000002.12", "chr3": "NC_000003.12", "chr4": "NC_000004.12",
    "chr5": "NC_000005.10", "chr6": "NC_000006.12", "chr7": "NC_000007.14", "chr8": "NC_000008.11",
    "chr9": "NC_000009.12", "chr10": "NC_000010.11", "chr11": "NC_000011.10", "chr12": "NC_000012.12",
    "chr13": "NC_000013.11", "chr14": "NC_000014.9", "chr15": "NC_000015.10", "chr16": "NC_000016.10",
    "chr17": "NC_000017.11", "chr18": "NC_000018.10", "chr19": "NC_000019.10", "chr20": "NC_000020.11",
    "chr21": "NC_000021.9", "chr22": "NC_000022.11", "chrX": "NC_000023.11", "chrY": "NC_000024.10",
    "chrM": "NC_012920.1",
}
# GRCh38 GenBank accessions (GCA_000001405 FASTA files name records by these).
_GENBANK = {f"chr{i}": f"CM{663 + i - 1:06d}.2" for i in range(1, 23)}
_GENBANK.update({"chrX": "CM000685.2", "chrY": "CM000686.2", "chrM": "J01415.2"})


def _ensembl(canonical: str) -> str:
    return "MT" if canonical == "chrM" else canonical[3:]


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for name in CANONICAL:
        short = name[3:]
        for alias in (name, short, _ensembl(name), _REFSEQ[name], _GENBANK[name]):
            lookup[alias.upper()] = name
        # Ensembl and UCSC disagree on the mitochondrion (MT vs M); accept both spellings in both styles.
        lookup[f"CHR{short.upper()}"] = name
    lookup["CHRMT"] = "chrM"
    return lookup


_LOOKUP = _build_lookup()


def record_name(defline: str) -> str:
    """The sequence name of a FASTA header: its first whitespace-separated token, without the '>'."""
    fields = defline.lstrip(">").split()
    return fields[0] if fields else ""


def canonical_name(name: str) -> str | None:
    """UCSC name of a GRCh38 chromosome given in any convention, or None for anything else (scaffolds, typos)."""
    return _LOOKUP.get(record_name(name).upper())


def alias_table(names: Iterable[str], renames: dict[str, str] | None = None) -> pl.DataFrame:
    """One row per source name: its canonical name and its spelling in each convention.

    Names that are not GRCh38 chromosomes (alt contigs, decoys) keep their own name, or their name in
    `renames` (from an assembly report), as the canonical one, and have no aliases.
    """
    rows = []
    renames = renames or {}
    for source in names:
        canonical = canonical_name(source)
        if canonical is None:
            name = record_name(source)
            rows.append({"canonical": renames.get(name, name), "ucsc": None, "ensembl": None, "refseq": None,
                         "source_name": source})
        else:
            rows.append({"canonical": canonical, "ucsc": canonical, "ensembl": _ensembl(canonical),
                         "refseq": _REFSEQ[canonical], "source_name": source})
    schema = {c: pl.Utf8 for c in ("canonical", "ucsc", "ensembl", "refseq", "source_name")}
    return pl.DataFrame(rows, schema=schema)


def parse_chromosome_spec(spec: str | Sequence[str]) -> str | list[str]:
    """`"all"`, `"autosomes"`, a comma-separated string or a list of names -> "all", "autosomes" or a list."""
    if isinstance(spec, str):
        if spec in ("all", "autosomes"):
            return spec
        return [s.strip() for s in spec.split(",") if s.strip()]
    return list(spec)


def select_chromosomes(available: Sequence[str], spec: str | Sequence[str], *, source: object = "reference") -> list[str]:
    """The names in `available` (in its order) that `spec` asks for.

    `spec` is "all", "autosomes" (those of chr1..chr22 that are available) or explicit names in any convention;
    an explicit name that matches nothing in `available` is an error naming it.
    """
    spec = parse_chromosome_spec(spec)
    if not spec:
        raise GenolmInputError(source, "the chromosome selection is empty: name chromosomes, or use 'all' or "
                                       "'autosomes'", record="chromosomes")
    if spec == "all":
        return list(available)
    key = {name: canonical_name(name) or name for name in available}
    if spec == "autosomes":
        chosen = [name for name in available if key[name] in AUTOSOMES]
        if not chosen:
            raise GenolmInputError(source, f"no autosomes (chr1..chr22) among its sequences: {_preview(available)}")
        return chosen
    wanted = []
    for name in spec:
        target = canonical_name(name) or name
        if target not in key.values():
            raise GenolmInputError(source, f"chromosome {name!r} is not in the reference (it has {_preview(available)})")
        wanted.append(target)
    return [name for name in available if key[name] in wanted]


def _preview(names: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
