"""The docs say what the code does: paths they name exist, the padding side they state is the tokenizers', every
value the config schema accepts is documented, the results table's values are listed, and nothing points outside
the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from genolm.config import load_schema
from genolm.tokenizers import TOKENIZERS, build

REPO = Path(__file__).resolve().parents[1]
STUDIES = sorted(p.stem for p in (REPO / "workflow" / "rules" / "studies").glob("*.smk"))


def docs_text() -> str:
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def test_config_header_names_schema_files_that_exist():
    header = []
    for line in (REPO / "config.yaml").read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    named = re.findall(r"[\w./<>-]+\.schema\.yaml", "\n".join(header))
    assert named, "config.yaml's header names no schema file"
    for path in named:
        for expanded in ([path.replace("<study>", s) for s in STUDIES] if "<study>" in path else [path]):
            assert (REPO / expanded).is_file(), f"config.yaml names {expanded}, which does not exist"


def _default_padding_side(name: str) -> str:
    tokenizer = build(name, k=3) if "kmer" in name else build(name)
    ids, mask = tokenizer.encode_batch(["ACGTACGTACGT", "ACG"])
    assert mask[1].sum() < mask.shape[1]  # the short sequence is padded
    return "left" if mask[1, 0] == 0 else "right"


def test_tokenizers_doc_states_the_padding_side_the_tokenizers_use():
    sides = {name: _default_padding_side(name) for name in TOKENIZERS if name != "kmer_bpe"}  # kmer_bpe is learnt
    text = " ".join((REPO / "docs" / "tokenizers.md").read_text().split())
    statement = re.search(r"`padding_side=None` means (.*?\.)", text)
    assert statement, "docs/tokenizers.md no longer says what padding_side=None means"
    stated = statement.group(1)
    left = sorted(name for name, side in sides.items() if side == "left")
    if not left:
        assert '"right"' in stated and '"left"' not in stated, (sides, stated)
    for name in left:
        assert '"left"' in stated and f"`{name}`" in stated, (sides, stated)


def _enum_values(node) -> set[str]:
    values = set()
    if isinstance(node, dict):
        values.update(str(v) for v in node.get("enum", []))
        for child in node.values():
            values |= _enum_values(child)
    elif isinstance(node, list):
        for child in node:
            values |= _enum_values(child)
    return values


def test_every_value_the_config_schema_accepts_is_documented():
    text = docs_text()
    undocumented = sorted(value for value in _enum_values(load_schema())
                          if not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text))
    assert not undocumented, f"schema values no page of README.md or docs/ mentions: {undocumented}"


@pytest.mark.parametrize("column, value", [("tokenizer", "pretrained"), ("init", "none"), ("split", "all")])
def test_results_table_doc_lists_the_values_the_code_writes(column, value):
    text = (REPO / "docs" / "data_contracts.md").read_text()
    section = text.split("## Results table", 1)[1].split("\n## ", 1)[0]  # other tables have a `split` column too
    rows = [line for line in section.splitlines() if line.startswith(f"| `{column}` |")]
    assert len(rows) == 1 and f"`{value}`" in rows[0]


def test_docs_cite_nothing_outside_the_repository():
    # Spelt in parts so that this file does not match itself: the folder beside a checkout, and the variable
    # that used to point the golden-vector test at it.
    outside = (".." + "/shared", "shared" + "/seeds", "GENOLM_" + "GOLDEN_DIR")
    offenders = []
    for path in [REPO / "README.md", REPO / "Makefile", REPO / "config.yaml", *(REPO / "docs").rglob("*.md"),
                 *(REPO / ".ci").rglob("*"), *(REPO / "src").rglob("*.py"), *(REPO / "tests").rglob("*.py")]:
        if path.is_file():
            text = path.read_text(errors="replace")
            if any(word in text for word in outside):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_study_and_a_misspelt_target_lists_the_valid_ones():
    shown = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for target in ["demo", "test", "test-fast", "benchmark", *STUDIES]:
        assert re.search(rf"^  {re.escape(target)} ", shown, re.M), target
    misspelt = subprocess.run(["make", "-s", "cancr_type"], cwd=REPO, capture_output=True, text=True)
    assert misspelt.returncode != 0
    assert "no target 'cancr_type'" in misspelt.stderr and all(s in misspelt.stderr for s in STUDIES)
    assert "demo" in misspelt.stderr and "help" in misspelt.stderr
