"""Rule parameters are canonical and relocatable (issue #21 item 8, issue #26 item 4): what Snakemake records of
every job of the demo and the full-scale configurations does not change when the configuration's keys are
reordered, when a source the job does not read changes release, or when the checkout and its run directory lie
elsewhere; and the chromosome check holds only against the reference the configuration would use."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, checkout_copy
from rule_jobs import planned_jobs

STUDY_RULES = {"cancer_type": "cancer_type_finetune", "enbed": "enbed_train", "small_transformers": "st_pretrain",
               "virbert": "virbert_finetune", "benchmarks": "benchmarks_train"}


def sorted_keys(value):
    """The same configuration with every mapping's keys sorted, as a YAML dumper writes it."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def by_job(planned: dict) -> dict:
    return {(job["rule"], tuple(job["output"])): job for job in planned["jobs"]}


def write(config: dict, path: Path, sort_keys: bool = False) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=sort_keys))
    return path


@pytest.fixture(scope="module")
def configurations(full_scale_plan) -> dict:
    """Per configuration (demo, full_scale): its config as loaded, the checkout and work directory to plan in (the
    session's full-scale plan's: its base plan is reused, not planned again)."""
    checkout = full_scale_plan["checkout"]
    demo = yaml.safe_load((REPO / "config.yaml").read_text())
    return {"demo": (demo, checkout, checkout), "full_scale": (full_scale_plan["config"], checkout, full_scale_plan["workdir"])}


def plan(configurations, name: str, config: dict, tag: str, sort_keys: bool = False) -> dict:
    _, checkout, workdir = configurations[name]
    return by_job(planned_jobs(write(config, workdir.parent / f"{name}_{tag}.yaml", sort_keys), workdir,
                               snakefile=checkout / "Snakefile"))


@pytest.fixture(scope="module")
def base_plans(configurations, full_scale_plan) -> dict:
    return {"demo": plan(configurations, "demo", configurations["demo"][0], "base"),
            "full_scale": by_job(full_scale_plan["planned"])}


def changed_jobs(before: dict, after: dict) -> set:
    """Jobs of `after` that Snakemake would replan against a finished `before`: new outputs, or other recorded
    parameters or input files (the params and input rerun triggers)."""
    return {key for key, job in after.items()
            if key not in before or before[key]["params"] != job["params"] or before[key]["input"] != job["input"]}


def readers_of(jobs: dict, files_under: str) -> set:
    """The jobs that read, directly or through other jobs, a file whose path contains `files_under`."""
    producer = {output: key for key, job in jobs.items() for output in job["output"]}
    readers = {key for key in jobs if any(files_under in output for output in key[1])}
    grown = True
    while grown:
        before = len(readers)
        readers |= {key for key, job in jobs.items() if any(producer.get(f) in readers for f in job["input"])}
        grown = len(readers) > before
    return readers


@pytest.mark.parametrize("name", ["demo", "full_scale"])
def test_every_study_is_planned(base_plans, name):
    rules = {rule for rule, _ in base_plans[name]}
    assert {study: rule in rules for study, rule in STUDY_RULES.items()} == dict.fromkeys(STUDY_RULES, True)


@pytest.mark.parametrize("name", ["demo", "full_scale"])
def test_the_same_configuration_with_sorted_keys_records_the_same_parameters(configurations, base_plans, name):
    config = configurations[name][0]
    reordered = plan(configurations, name, sorted_keys(config), "sorted")
    base = base_plans[name]
    assert reordered.keys() == base.keys()
    differing = {f"{rule} {outputs[0]}": (sorted(set(map(str, base[(rule, outputs)]["params"]))
                                                 ^ set(map(str, job["params"]))))
                 for (rule, outputs), job in reordered.items() if job["params"] != base[(rule, outputs)]["params"]}
    assert not differing, f"{len(differing)} jobs record other parameters: {differing}"
    assert not changed_jobs(base, reordered)


@pytest.mark.parametrize("name", ["demo", "full_scale"])
def test_a_depmap_release_change_replans_only_what_reads_depmap(configurations, base_plans, name):
    config = copy.deepcopy(configurations[name][0])
    config["sources"]["depmap"]["release"] = "next-release"
    # written by a YAML dumper (keys sorted), as a lab's tooling writes a release change
    after = plan(configurations, name, config, "depmap", sort_keys=True)
    changed = changed_jobs(base_plans[name], after)
    readers = readers_of(after, "/downloads/depmap/")
    assert {rule for rule, _ in changed} >= {"download", "prepare_mutations"}
    assert changed <= readers, f"jobs that do not read DepMap replan: {sorted(r for r, _ in changed - readers)}"


def test_parameters_hold_neither_the_checkout_nor_the_working_directory(configurations, base_plans, tmp_path):
    """The demo planned from a checkout at another path records the same parameters and inputs: a finished demo
    directory copied elsewhere plans nothing new."""
    config, first, _ = configurations["demo"]
    elsewhere = checkout_copy(tmp_path / "another" / "place" / "genolm")
    moved = by_job(planned_jobs(write(config, tmp_path / "demo.yaml"), elsewhere, snakefile=elsewhere / "Snakefile"))
    base = base_plans["demo"]
    assert moved.keys() == base.keys()
    assert not changed_jobs(base, moved)
    for plans, checkout in ((base, first), (moved, elsewhere)):
        for (rule, _), job in plans.items():
            for value in map(str, job["params"] + job["input"]):
                assert str(checkout) not in value and str(checkout.resolve()) not in value, (rule, value)
    _, _, full_work = configurations["full_scale"]
    for (rule, _), job in base_plans["full_scale"].items():
        for value in map(str, job["params"]):
            assert str(full_work) not in value and str(REPO) not in value, (rule, value)


def _dry_run(checkout: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(checkout / "Snakefile"),
                           "--configfile", str(config), "-n", "--quiet", "rules", "--cores", "1"],
                          capture_output=True, text=True, timeout=600, cwd=checkout, env=env)


def test_chromosomes_are_checked_against_the_prepared_reference_only_when_it_is_current(configurations, tmp_path):
    """A reference prepared from the demo's release has no chr3; a configuration naming chr3 is refused while it
    uses that release, and planned once it names another release (whose reference is still to be prepared)."""
    config, _, _ = configurations["demo"]
    checkout = checkout_copy(tmp_path / "genolm")
    download = checkout / "resources/downloads/grch38" / config["sources"]["grch38"]["release"] / "hg38.fa.gz"
    download.parent.mkdir(parents=True)
    download.write_bytes(b"")
    time.sleep(0.01)
    fai = checkout / "resources/reference/grch38/genome.fa.gz.fai"
    fai.parent.mkdir(parents=True)
    fai.write_text("".join(f"{name}\t100000\t7\t60\t61\n" for name in ("chr1", "chr2", "chr4", "chr17", "chr22", "chrM")))
    os.utime(fai, (download.stat().st_mtime + 10, download.stat().st_mtime + 10))
    naming_chr3 = copy.deepcopy(config)
    naming_chr3["studies"]["cancer_type"]["umap"]["reference_chromosomes"] = ["chr1", "chr3"]

    refused = _dry_run(checkout, write(naming_chr3, tmp_path / "same_release.yaml"))
    assert refused.returncode != 0
    assert "'chr3' is not a chromosome of the prepared reference of source 'grch38'" in refused.stdout + refused.stderr

    naming_chr3["sources"]["grch38"]["release"] = "hg38-2024"
    planned = _dry_run(checkout, write(naming_chr3, tmp_path / "new_release.yaml"))
    assert planned.returncode == 0, (planned.stdout + planned.stderr)[-3000:]
    assert "prepare_reference" in planned.stdout
