"""The README's status column and the study pages quote the generated comparisons tables
(genolm.comparisons_status, `genolm comparisons-status`): regenerated from a comparisons.tsv, and a check that
fails, naming the comparison, when a document and the table disagree."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import run_genolm
from genolm.comparisons import COMPARISONS_SCHEMA, write_comparisons
from genolm.comparisons_status import check_blocks, status_cell, write_blocks
from genolm.errors import GenolmInputError

DOCUMENT = """# a study

| study | status |
| --- | --- |
| toy | <!-- comparisons:toy -->not generated yet: `make demo`, then `genolm comparisons-status --write`<!-- /comparisons:toy --> |
| other | <!-- comparisons:other -->hand-written, not ours<!-- /comparisons:other --> |

<!-- comparisons-table:toy -->
<!-- /comparisons-table:toy -->
"""


def synthetic_table(verdict_b: str = "inconclusive", difference_b: float = 0.004) -> pl.DataFrame:
    rows = [
        {"comparison": "longer", "arm_a": "A", "arm_b": "B", "metric": "balanced_accuracy", "split": "test",
         "unit": "cell line", "expected_direction": 1, "difference": 0.052, "ci_low": 0.011, "ci_high": 0.094,
         "verdict": "supported", "replicates": 3, "units": 12, "replicate_differences": "0.05,0.04,0.066",
         "resamples": 2000, "undefined_resamples": 0, "level": 0.95, "description": "thesis"},
        {"comparison": "pretrained", "arm_a": "A", "arm_b": "C", "metric": "balanced_accuracy", "split": "test",
         "unit": "cell line", "expected_direction": 1, "difference": difference_b, "ci_low": -0.02, "ci_high": 0.03,
         "verdict": verdict_b, "replicates": 3, "units": 12, "replicate_differences": "0.01,-0.01,0.012",
         "resamples": 2000, "undefined_resamples": 7, "level": 0.95, "description": None},
    ]
    return pl.DataFrame(rows, schema=COMPARISONS_SCHEMA)


def test_written_blocks_quote_the_table_and_then_agree_with_it():
    table = synthetic_table()
    text = write_blocks(DOCUMENT, {"toy": table})
    assert "longer **supported** (+0.052 [+0.011, +0.094], 3 replicates)" in text
    assert "pretrained **inconclusive** (+0.004 [-0.020, +0.030], 3 replicates)" in text
    assert "| pretrained | A | C |" in text and "7 of 2000 resamples undefined" in text
    assert "hand-written, not ours" in text  # a study without a table is left alone
    assert check_blocks(text, {"toy": table}) == []
    assert write_blocks(text, {"toy": table}) == text  # regenerating is idempotent


def test_a_document_that_disagrees_with_the_table_fails_naming_the_comparison():
    written = write_blocks(DOCUMENT, {"toy": synthetic_table()})
    rerun = synthetic_table(verdict_b="supported", difference_b=0.031)
    problems = check_blocks(written, {"toy": rerun})
    assert len(problems) == 2  # the README cell and the page's table
    assert all("comparison pretrained" in p for p in problems)
    assert [p.split(" is ")[0] for p in check_blocks(DOCUMENT, {"toy": rerun})] == [
        "toy status: comparison longer", "toy status: comparison pretrained",
        "toy table: comparison longer", "toy table: comparison pretrained"]  # the placeholder quotes nothing
    # a comparison quoted by hand that the table does not have
    extra = written.replace("<!-- /comparisons:toy -->", "; faster **supported** (+1.000 [+0.5, +1.5], 3 replicates)"
                                                          "<!-- /comparisons:toy -->")
    assert check_blocks(extra, {"toy": synthetic_table()}) == ["toy status: comparison faster is quoted but not in the table"]


def test_the_command_checks_and_rewrites_a_document(tmp_path):
    table_path = tmp_path / "comparisons.tsv"
    write_comparisons(synthetic_table(), table_path)
    document = tmp_path / "README.md"
    document.write_text(DOCUMENT)
    args = ["--documents", str(document), "--table", f"toy={table_path}"]
    failed = run_genolm("comparisons-status", *args, check=False)  # the blocks are empty: the check fails
    assert failed.returncode == 1 and "comparison longer is not quoted" in failed.stderr
    run_genolm("comparisons-status", *args, "--write")
    assert status_cell(synthetic_table()) in document.read_text()
    run_genolm("comparisons-status", *args)  # now they agree (exit 0)


def test_a_missing_or_foreign_table_is_named(tmp_path):
    from genolm.comparisons_status import read_comparisons_table

    with pytest.raises(GenolmInputError, match="make demo"):
        read_comparisons_table(tmp_path / "absent.tsv")
    (tmp_path / "foreign.tsv").write_text("comparison\tverdict\nx\tsupported\n")
    with pytest.raises(GenolmInputError, match="not a comparisons table"):
        read_comparisons_table(tmp_path / "foreign.tsv")
