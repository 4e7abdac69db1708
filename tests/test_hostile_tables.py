"""Careless tables and configs (issue #21 items 4 and 9, #26 item 8): short rows, lineages spelt another way,
duplicate YAML keys, out-of-range seeds and label fractions, list values from `--config`, misspelt names."""

from __future__ import annotations

import copy
import gzip
import subprocess
import sys

import polars as pl
import pytest
import yaml

from conftest import REPO
from genolm.commands._common import json_arg
from genolm.config import load_config, load_schema, validate_config
from genolm.errors import GenolmInputError
from genolm.qc import QCCounts
from genolm.sources.mutations import read_mutations
from genolm.sources.tables import category_key, require_field_counts
from genolm.studies.cancer_type.selection import select_cell_lines

DEPMAP_HEADER = "Chrom,Pos,Ref,Alt,AF,DP,VariantType,HugoSymbol,ModelID,IsDefaultEntryForModel\n"
DEPMAP_ROW = "chr1,10,A,C,0.5,30,SNV,G,ACH-1,Yes\n"


@pytest.fixture()
def demo_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


# ---------------------------------------------------------------------------------------------- field counts


@pytest.mark.parametrize("row, fields", [
    ("chr1,12,A,C,0.5,30,SNV,G,ACH-1\n", 9),  # the last field (IsDefaultEntryForModel) lost
    ("chr1,12,A,C,0.5,30,SNV,G,ACH-1,Yes,extra\n", 11),
])
def test_depmap_row_one_field_short_is_refused_like_one_field_long(tmp_path, row, fields):
    """Before, the short row was read with an empty IsDefaultEntryForModel and its mutation dropped as
    `not_default_entry_for_model`; now both are refused naming the file and the line."""
    path = tmp_path / "m.csv"
    path.write_text(DEPMAP_HEADER + DEPMAP_ROW + row + DEPMAP_ROW)
    with pytest.raises(GenolmInputError) as error:
        read_mutations(path, "depmap", qc=QCCounts("t"))
    assert str(error.value) == f"{path}: line 3: malformed table: {fields} fields where the header has 10 " + (
        "(a row cut short or a lost separator)" if fields < 10 else "(an unquoted separator or extra fields)")


def test_field_counts_honour_quotes_blank_lines_gzip_and_comment_lines(tmp_path):
    table = 'a,b,c\n"x, y",2,"say ""hi"", then"\n\n4,5,6\r\n'
    plain = tmp_path / "t.csv"
    plain.write_text(table)
    require_field_counts(plain, ",", 3)  # quoted separators, escaped quotes, a blank line, CRLF: all whole rows
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress((table + "7,8\n").encode()))
    with pytest.raises(GenolmInputError, match=r"t\.csv\.gz: line 5: malformed table: 2 fields"):
        require_field_counts(packed, ",", 3)
    spanning = tmp_path / "notes.csv"  # a quoted field over two lines: counted by records, not lines
    spanning.write_text('a,b,c\n1,"two\nlines",3\n4,5,6\n7,8\n')
    with pytest.raises(GenolmInputError, match=r"notes\.csv: line 5: malformed table: 2 fields"):
        require_field_counts(spanning, ",", 3)
    spanning.write_text('a,b,c\n1,"two\nlines, with a comma",3\n4,5,6\n')
    require_field_counts(spanning, ",", 3)
    maf = tmp_path / "x.maf"
    maf.write_text("#version 2.4\n#x\nTumor_Sample_Barcode\tChromosome\tStart_Position\tReference_Allele\t"
                   "Tumor_Seq_Allele2\nACH-1\tchr1\t10\tA\tC\nACH-1\tchr1\t12\tA\n")
    with pytest.raises(GenolmInputError, match=r"x\.maf: line 5: malformed table: 4 fields where the header has 5"):
        read_mutations(maf, "maf", qc=QCCounts("t"))


# ---------------------------------------------------------------------------------------------- lineages


def _selection_input(lineage_of: dict[str, str | None]) -> tuple[pl.DataFrame, pl.DataFrame]:
    samples = pl.DataFrame({"sample": list(lineage_of), "lineage": list(lineage_of.values())},
                           schema={"sample": pl.Utf8, "lineage": pl.Utf8})
    rows = [{"sample": sample, "chrom": "chr1", "pos": 100 + 10 * i, "ref": "A", "alt": "C"}
            for n, sample in enumerate(lineage_of) for i in range(5 + n)]  # distinct burdens
    return pl.DataFrame(rows), samples


def test_lineages_match_whatever_their_case_and_spacing_and_every_cell_line_is_counted():
    """Before, "lung" and " LUNG " cell lines vanished from a selection of Lung with no QC reason."""
    lineage_of = {}
    for i, spelling in enumerate(["Lung", "lung", " LUNG ", "Lung", "lung", "Lung"]):
        lineage_of |= {f"L{i}": spelling, f"Y{i}": "Lymphoid"}  # burdens interleaved: both lineages above the median
    lineage_of |= {"S1": "Skin", "S2": "skin", "N1": None}
    mutations, samples = _selection_input(lineage_of)
    qc = QCCounts("t")
    cell_lines, _ = select_cell_lines(mutations, samples, lineages=["Lung", "Lymphoid"],
                                      split_fractions={"train": 0.5, "val": 0.0, "test": 0.5}, seed=1, qc=qc)
    assert qc.get("cell_lines_read") == 15
    assert qc.get("cell_lines_of_lineages") == 12  # all six Lung spellings and six Lymphoid
    assert qc.get("lineage_spelling_normalized") == 3
    assert {(r, d): qc.get(r, d) for r, d in [("lineage_not_selected", "Skin"), ("lineage_not_selected", "skin"),
                                                ("lineage_not_selected", "(no lineage)")]} == {
        ("lineage_not_selected", "Skin"): 1, ("lineage_not_selected", "skin"): 1,
        ("lineage_not_selected", "(no lineage)"): 1}
    assert set(cell_lines["lineage"]) == {"Lung", "Lymphoid"}  # the config's spelling
    assert qc.get("cell_lines_read") == (qc.get("cell_lines_selected") + qc.total("lineage_not_selected")
                                         + qc.total("duplicate_sample") + qc.total("not_above_median_mutations")
                                         + qc.total("dropped_for_class_balance"))
    assert category_key("  Soft   Tissue ") == category_key("soft tissue") == "soft tissue"


# ---------------------------------------------------------------------------------------------- duplicate keys


def test_a_key_given_twice_in_a_config_file_is_refused_naming_both_lines(tmp_path):
    """Before, the second `seeds` won silently."""
    path = tmp_path / "config.yaml"
    text = (REPO / "config.yaml").read_text()
    path.write_text("seeds: [1, 2, 3]\n" + text + "\nseeds: [4]\n")
    first = 1 + next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith("seeds:"))
    with pytest.raises(GenolmInputError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: duplicate key 'seeds' (lines 1 and {first})")
    nested = tmp_path / "nested.yaml"
    nested.write_text("studies:\n  virbert:\n    enabled: true\n    enabled: false\n")
    with pytest.raises(GenolmInputError, match=r"nested\.yaml: duplicate key 'enabled' \(lines 3 and 4\)"):
        load_config(nested)


def test_duplicate_keys_in_a_schema_or_a_spec_file_are_refused(tmp_path):
    schema = tmp_path / "schema.yaml"
    schema.write_text((REPO / "src/genolm/schemas/config.schema.yaml").read_text()
                      + "  seed: {type: integer}\n")  # a second `seed` under $defs
    with pytest.raises(GenolmInputError, match=r"schema\.yaml: duplicate key 'seed'"):
        load_schema(schema)
    spec = tmp_path / "spec.yaml"
    spec.write_text("model: {name: bert}\nmodel: {name: albert}\n")
    with pytest.raises(Exception, match=r"spec\.yaml: duplicate key 'model' \(lines 1 and 2\)"):
        json_arg(f"@{spec}")


def test_snakemake_refuses_a_configfile_with_a_duplicate_key(tmp_path):
    """Snakemake's own YAML reader takes the last `seeds`; the workflow re-reads the file and refuses it."""
    config = tmp_path / "twice.yaml"
    config.write_text((REPO / "config.yaml").read_text() + "\nseeds: [7]\n")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(tmp_path), "--snakefile",
         str(REPO / "Snakefile"), "--configfile", str(config)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert result.returncode != 0
    assert f"{config}: duplicate key 'seeds'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------------------------------------- schema bounds


@pytest.mark.parametrize("change, key", [
    ({"seeds": [1, -1]}, r"key seeds\.1: -1 is less than the minimum of 0"),
    ({"seeds": [2 ** 32]}, r"key seeds\.0: 4294967296 is greater than the maximum of 4294967295"),
    ({"seed": -3}, r"key seed: -3 is less than the minimum of 0"),
    ({"seed": 2 ** 32}, r"key seed: 4294967296 is greater than the maximum"),
])
def test_seeds_outside_0_to_2_32_minus_1_fail_validation_naming_the_key(demo_config, change, key):
    demo_config.update(change)
    with pytest.raises(GenolmInputError, match=key):
        validate_config(demo_config)
    demo_config.update({name: ([2 ** 32 - 1] if name == "seeds" else 0) for name in change})
    validate_config(demo_config)  # the bounds themselves are valid


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_arm_label_fractions_outside_0_1_fail_validation(demo_config, fraction):
    arm = next(iter(demo_config["studies"]["virbert"]["arms"]))
    demo_config["studies"]["virbert"]["arms"][arm]["label_fractions"] = [0.5, fraction]
    with pytest.raises(GenolmInputError, match=rf"key studies\.virbert\.arms\.{arm}\.label_fractions\.1: "):
        validate_config(demo_config)


def test_a_list_from_the_command_line_says_how_to_pass_it(demo_config):
    """`--config seeds=[1, 2]` reaches the config as ['1', '2'] (Snakemake reads list items as strings)."""
    demo_config["seeds"] = ["1", "2"]
    with pytest.raises(GenolmInputError, match=r"key seeds\.0: .*--config reads the values inside a list or mapping "
                                               r"as strings: give `seeds` in a YAML file"):
        validate_config(demo_config)
    demo_config["seeds"] = ["one"]  # not a number in any reading: no hint
    with pytest.raises(GenolmInputError) as error:
        validate_config(demo_config)
    assert "--config" not in str(error.value)


# ---------------------------------------------------------------------------------------------- names


def test_a_misspelt_study_or_backbone_names_the_valid_names(demo_config):
    config = copy.deepcopy(demo_config)
    config["studies"]["cancer_typ"] = config["studies"].pop("cancer_type")
    with pytest.raises(GenolmInputError, match=r"unknown key 'cancer_typ' under studies \(did you mean 'cancer_type'\? "
                                               r"valid: benchmarks, cancer_type, enbed, small_transformers, virbert\)"):
        validate_config(config)
    config = copy.deepcopy(demo_config)
    backbones = sorted(config["studies"]["cancer_type"]["backbones"])
    experiment = next(name for name, spec in config["studies"]["cancer_type"]["experiments"].items()
                      if "backbone" in spec)
    config["studies"]["cancer_type"]["experiments"][experiment]["backbone"] = backbones[0] + "x"
    with pytest.raises(GenolmInputError, match=rf"no backbone named '{backbones[0]}x' \(did you mean "
                                               rf"'{backbones[0]}'.*valid: {', '.join(backbones)}\)"):
        validate_config(config)
