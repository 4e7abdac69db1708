"""Configuration that passes the schema but cannot work is refused before any job starts, naming the key; the
same configuration in another key order plans the same jobs; a user's --configfile replaces the demo's."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from genolm.config import canonical_json, check_semantics, validate_config
from genolm.errors import GenolmInputError

DEMO = yaml.safe_load((REPO / "config.yaml").read_text())


def demo() -> dict:
    return copy.deepcopy(DEMO)


@pytest.mark.parametrize("change, key, fragment", [
    (lambda c: c["studies"]["cancer_type"].update(split={"train": 0.8, "val": 0.3, "test": 0.2}),
     "studies.cancer_type.split", "sum to 1"),
    (lambda c: c["studies"]["cancer_type"].update(split={"train": 1.2, "val": -0.1, "test": -0.1}),
     "studies.cancer_type.split", "minimum"),
    (lambda c: c["studies"]["cancer_type"].update(chromosomes=["chr1", "chr23"]),
     "studies.cancer_type.chromosomes", "'chr23'"),
    (lambda c: c["studies"]["cancer_type"]["backbones"]["tiny-1k"]["pretraining"].update(val_chromosomes=["chrQ"]),
     "studies.cancer_type.backbones.tiny-1k.pretraining.val_chromosomes", "'chrQ'"),
    (lambda c: c["sources"]["depmap"].update(release="../../etc"), "sources.depmap.release", "does not match"),
    (lambda c: c["sources"]["depmap"]["files"].update({"../x.csv": {"url": "x"}}), "sources.depmap.files", "../x.csv"),
])
def test_values_that_cannot_work_are_refused_naming_the_key(change, key, fragment):
    config = demo()
    change(config)
    with pytest.raises(GenolmInputError) as error:
        validate_config(config, source="my_config.yaml")
    message = str(error.value)
    assert message.startswith("my_config.yaml: ") and key in message and fragment in message, message


def test_chromosomes_and_contexts_against_a_prepared_reference():
    config = validate_config(demo())
    lengths = {f"chr{i}": 1000 for i in range(1, 23)}
    check_semantics(config, reference_lengths=lambda source: lengths if source == "grch38" else None)  # fits
    with pytest.raises(GenolmInputError, match=r"studies\.cancer_type\.backbones\.tiny-1k\.context_length: "
                                               r"context length 256 is longer .* \(the longest has 200 bases\)"):
        check_semantics(config, reference_lengths=lambda source: {k: 200 for k in lengths})
    short = {k: v for k, v in lengths.items() if k != "chr2"}
    with pytest.raises(GenolmInputError, match=r"val_chromosomes: 'chr2' is not a chromosome of the prepared "
                                               r"reference of source 'grch38'"):
        check_semantics(config, reference_lengths=lambda source: short)


def test_rule_parameters_do_not_depend_on_key_order():
    spec = {"model": {"preset": "tiny", "d_model": 8}, "tokenizer": {"name": "character"}}
    reordered = {"tokenizer": {"name": "character"}, "model": {"d_model": 8, "preset": "tiny"}}
    assert canonical_json(spec) == canonical_json(reordered)


def _dry_run(workdir: Path, *configfiles: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "-n", "-p", "--cores", "1"]
    if configfiles:
        command += ["--configfile", *map(str, configfiles)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _normalized(command: str) -> str:
    """A command line with each run of input tables in sorted order: Snakemake records a job's input files
    sorted, so their order never triggers a rerun; every other token keeps its place."""
    tokens, run, out = command.split(), [], []
    for token in tokens + [""]:
        if token.endswith(".parquet") and not (out and out[-1].startswith("--out")):
            run.append(token)
            continue
        out += sorted(run) + ([token] if token else [])
        run = []
    return " ".join(out)


def _shell_commands(result: subprocess.CompletedProcess) -> list[str]:
    """The planned jobs' command lines: every parameter of every job."""
    return sorted(_normalized(line.strip()) for line in (result.stdout + result.stderr).splitlines()
                  if "python -m genolm" in line)


@pytest.mark.slow
def test_the_same_config_in_another_key_order_plans_the_same_commands(tmp_path):
    sorted_config = tmp_path / "sorted.yaml"
    sorted_config.write_text(yaml.safe_dump(DEMO, sort_keys=True))  # as a user's tool would rewrite it
    reversed_config = tmp_path / "reversed.yaml"

    def reverse(value):
        return {k: reverse(v) for k, v in reversed(list(value.items()))} if isinstance(value, dict) else value

    reversed_config.write_text(yaml.safe_dump(reverse(DEMO), sort_keys=False))
    (tmp_path / "w").mkdir()
    baseline = _shell_commands(_dry_run(tmp_path / "w", REPO / "config.yaml"))
    assert baseline
    assert _shell_commands(_dry_run(tmp_path / "w", sorted_config)) == baseline
    assert _shell_commands(_dry_run(tmp_path / "w", reversed_config)) == baseline


@pytest.mark.slow
def test_a_configfile_replaces_the_demo_configuration(tmp_path):
    """A user's file with one study and one experiment plans that study and experiment only."""
    config = demo()
    config["studies"] = {"cancer_type": config["studies"]["cancer_type"]}
    experiments = config["studies"]["cancer_type"]["experiments"]
    config["studies"]["cancer_type"]["experiments"] = {"1K-main": experiments["1K-main"]}
    config["studies"]["cancer_type"]["umap"] = {"experiments": []}
    config["studies"]["cancer_type"]["comparisons"] = []  # the demo's name arms this file removes
    config["studies"]["cancer_type"]["zero_shot"] = {"backbones": []}  # nor its zero-shot arm (no experiment)
    config["studies"]["cancer_type"]["variant_benchmark"] = {"labels": None}
    config["datasets"] = {}
    user = tmp_path / "mine.yaml"
    user.write_text(yaml.safe_dump(config))
    (tmp_path / "w").mkdir()
    commands = _shell_commands(_dry_run(tmp_path / "w", user))
    experiments_run = {m.group(1) for c in commands for m in [re.search(r"--experiment (\S+)", c)] if m}
    assert experiments_run == {"1K-main", "pretrain-tiny-1k"} or experiments_run == {"1K-main"}, experiments_run
    assert not any("--study virbert" in c or "enbed" in c or "prepare-mito" in c for c in commands)


@pytest.mark.slow
def test_a_depmap_release_written_by_a_tool_changes_only_what_reads_depmap(tmp_path):
    """A new DepMap release in a config rewritten by yaml.safe_dump (keys sorted): the commands of the jobs that
    do not read DepMap (the reference, pretraining, the other studies) are unchanged, so Snakemake reruns only
    what reads DepMap."""
    config = demo()
    config["sources"]["depmap"]["release"] = "next"
    updated = tmp_path / "updated.yaml"
    updated.write_text(yaml.safe_dump(config, sort_keys=True))
    (tmp_path / "w").mkdir()
    before = set(_shell_commands(_dry_run(tmp_path / "w", REPO / "config.yaml")))
    after = set(_shell_commands(_dry_run(tmp_path / "w", updated)))
    changed = before - after
    assert changed, "the release change changed nothing"
    assert all("depmap" in c or "cancer_type" in c or "collect-metrics" in c for c in changed), sorted(changed)[:3]
    assert not any("--task pretraining" in c for c in changed)
    assert not any(c.split()[c.split().index("genolm") + 1] in ("prepare-reference", "reference-windows")
                   for c in changed)
