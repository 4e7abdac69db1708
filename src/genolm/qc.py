"""QC tables: what a stage filtered out, counted, never dropped silently.

Every stage that removes records (mutations on other chromosomes, REF mismatches, overlapping mutations,
cell lines below the median burden, ...) counts them here and writes the table beside its output as a TSV
with the columns `stage, reason, detail, count`. Each stage asserts that its table adds up
(`QCCounts.require_balance`: input = kept + every counted reason); docs/data_contracts.md lists the balances.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from genolm.atomic import atomic_file

QC_SCHEMA = {"stage": pl.Utf8, "reason": pl.Utf8, "detail": pl.Utf8, "count": pl.Int64}


class QCCounts:
    """Counts per (reason, detail) for one stage."""

    def __init__(self, stage: str):
        self.stage = stage
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, reason: str, count: int = 1, detail: str = "") -> None:
        # Zero counts are kept on purpose: "0 REF mismatches" is information too.
        self._counts[(reason, detail)] += int(count)

    def get(self, reason: str, detail: str = "") -> int:
        return self._counts.get((reason, detail), 0)

    def total(self, reason: str) -> int:
        return sum(n for (r, _), n in self._counts.items() if r == reason)

    def require_balance(self, *balances: tuple[str, str, tuple[str, ...]],
                        informational: tuple[str, ...] = ()) -> None:
        """Assert that the table adds up: for each `(input, kept, dropped)`, the count of `input` equals the count
        of `kept` plus every `dropped` reason's count; and every reason in the table is one of these or
        `informational` (a breakdown, not a filter). A mismatch is a bug in genolm (a count taken before a
        later filter, a reason named wrongly), raised as AssertionError before the stage writes anything."""
        named = set(informational)
        for input_reason, kept_reason, dropped in balances:
            named |= {input_reason, kept_reason, *dropped}
            total, kept = self.total(input_reason), self.total(kept_reason)
            removed = {reason: self.total(reason) for reason in dropped}
            if total != kept + sum(removed.values()):
                raise AssertionError(
                    f"QC table of {self.stage} does not add up: {input_reason} {total} != {kept_reason} {kept} + "
                    + " + ".join(f"{reason} {count}" for reason, count in removed.items()))
        unaccounted = sorted({reason for reason, _ in self._counts} - named)
        if unaccounted:
            raise AssertionError(f"QC table of {self.stage}: reason(s) {unaccounted} are neither inputs, kept, "
                                 "dropped nor informational")

    def merge(self, other: "QCCounts") -> None:
        self._counts.update(other._counts)

    def to_frame(self) -> pl.DataFrame:
        rows = [
            {"stage": self.stage, "reason": r, "detail": d, "count": n}
            for (r, d), n in sorted(self._counts.items())
        ]
        return pl.DataFrame(rows, schema=QC_SCHEMA)

    def write(self, path: str | Path) -> None:
        with atomic_file(path) as tmp:
            self.to_frame().write_csv(tmp, separator="\t")


def read_qc(path: str | Path) -> pl.DataFrame:
    return pl.read_csv(path, separator="\t", schema=QC_SCHEMA)
