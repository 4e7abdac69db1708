"""EPDnew promoters (the Eukaryotic Promoter Database, https://epd.expasy.org/ftp/epdnew/): TSS windows.

EPDnew publishes one BED file per organism and release, e.g. `H_sapiens/006/Hs_EPDnew_006_hg38.bed`: BED6+2,
`chrom, start, end, name, score, strand, thickStart, thickEnd`, where start..end is the promoter region (-49..+10
around the TSS on the promoter's strand) and thickStart..thickEnd the TSS itself (one base, 0-based half-open).
A BED line without thick columns must be the one-base TSS itself.

`tss_windows` cuts, for each promoter, the bases -upstream .. +downstream around the TSS (the small-transformer
thesis: -4,999 .. +5,000) from the organism's assembly and orients them on the promoter's strand: on `-` the window
is reverse-complemented, so in every window the TSS is the base at index `upstream` and upstream lies to its left.
Promoters whose window runs off the chromosome, or whose chromosome the assembly lacks, are counted and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.fasta import reverse_complement

@dataclass(frozen=True)
class Promoter:
    chrom: str
    tss: int  # 0-based position of the TSS base
    strand: str  # "+" or "-"
    name: str
    record: str  # "line N", for messages


def read_epd_bed(path: str | Path) -> list[Promoter]:
    """The promoters of an EPDnew BED file (track/browser/comment lines skipped)."""
    path = Path(path)
    promoters = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise GenolmInputError(path, f"cannot read: {error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        record = f"line {number}"
        if len(fields) < 6:
            raise GenolmInputError(path, f"expected BED6 or more (chrom, start, end, name, score, strand[, thickStart, "
                                         f"thickEnd]), got {len(fields)} columns", record=record)
        try:
            start, end = int(fields[1]), int(fields[2])
            thick = (int(fields[6]), int(fields[7])) if len(fields) >= 8 else (start, end)
        except ValueError:
            raise GenolmInputError(path, "start, end, thickStart and thickEnd must be integers", record=record) from None
        strand = fields[5]
        if strand not in "+-" or len(strand) != 1:
            raise GenolmInputError(path, f"strand must be + or -, got {strand!r}", record=record)
        if thick[1] - thick[0] != 1 or not start <= thick[0] < end:
            raise GenolmInputError(path, f"the TSS (thickStart..thickEnd {thick[0]}..{thick[1]}) must be one base "
                                         f"inside {start}..{end}", record=record)
        promoters.append(Promoter(fields[0], thick[0], strand, fields[3], record))
    if not promoters:
        raise GenolmInputError(path, "no promoter lines")
    return promoters


def tss_window(genome, promoter: Promoter, upstream: int, downstream: int) -> str | None:
    """Bases -upstream..+downstream around the TSS on the promoter's strand (TSS at index `upstream`), or None when
    the window leaves the chromosome. `genome` maps chromosome names to sequences supporting slicing (pyfaidx)."""
    length = len(genome[promoter.chrom])
    if promoter.strand == "+":
        start, end = promoter.tss - upstream, promoter.tss + downstream + 1
    else:
        start, end = promoter.tss - downstream, promoter.tss + upstream + 1
    if start < 0 or end > length:
        return None
    bases = str(genome[promoter.chrom][start:end]).upper()
    return bases if promoter.strand == "+" else reverse_complement(bases)


def tss_windows(genome, promoters: list[Promoter], *, upstream: int, downstream: int,
                qc: QCCounts) -> list[tuple[Promoter, str]]:
    out = []
    for promoter in promoters:
        if promoter.chrom not in genome:
            qc.add("chromosome_not_in_assembly", 1, detail=promoter.chrom)
            continue
        window = tss_window(genome, promoter, upstream, downstream)
        if window is None:
            qc.add("window_off_chromosome", 1)
            continue
        qc.add("windows", 1, detail=promoter.strand)
        out.append((promoter, window))
    return out
