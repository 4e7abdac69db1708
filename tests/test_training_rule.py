"""One training rule whose scheduler request comes from each job's spec (issue #25 item 4, issue #28 item 1).

The full-scale configuration is planned once (dry run, the SLURM profile's default resources, hand-provided files
as empty stand-ins) and every `genolm train` job it plans is checked: it is the one template's command, and it
asks for what genolm.compute.job_resources gives its spec (GPUs per node = devices, nodes = num_nodes, one task
per GPU, memory, runtime, resource class and the partition the config maps it to).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from conftest import REPO

from genolm.compute import RESOURCE_KEYS, job_resources, read_benchmark
from genolm.config import study_block, validate_config

PROFILE = REPO / "profiles" / "slurm" / "config.v8+.yaml"


@pytest.fixture(scope="session")
def full_scale(full_scale_plan) -> tuple[dict, dict]:
    """(the validated full-scale config with its stand-ins, every job it plans): conftest's one plan per session."""
    return validate_config(full_scale_plan["config"]), full_scale_plan["planned"]


def options(job: dict) -> dict[str, str]:
    """The `--name value` options of a job's command line (the last of a repeated one)."""
    words = shlex.split(job["shell"].split(" > ")[0])
    return {word: value for word, value in zip(words, words[1:]) if word.startswith("--")}


def training_jobs(planned: dict) -> list[dict]:
    return [job for job in planned["jobs"] if "genolm train" in (job["shell"] or "")]


def job_spec(job: dict, planned: dict) -> dict:
    """The spec a job trains with: its --spec, or for `--spec @FILE` the spec the job writing FILE was given."""
    spec = options(job)["--spec"]
    if not spec.startswith("@"):
        return json.loads(spec)
    writer = next(other for other in planned["jobs"] if spec[1:] in other["output"])
    return json.loads(options(writer)["--spec"])


def test_every_training_rule_is_the_one_template(full_scale):
    _, planned = full_scale
    template = planned["rules"]["genolm_train"]["shell"]
    training_rules = {name for name, rule in planned["rules"].items() if "genolm train" in (rule["shell"] or "")}
    assert {name: planned["rules"][name]["shell"] for name in training_rules} == dict.fromkeys(training_rules, template)
    assert "--threads {threads}" in template
    # written once: no rule file restates the command
    written = [path.relative_to(REPO) for path in (REPO / "workflow").rglob("*.smk") if "genolm train" in path.read_text()]
    assert written == [Path("workflow/rules/training.smk")]
    # and every study's training jobs run through it
    studies = {options(job)["--study"] for job in training_jobs(planned)}
    assert studies == {"cancer_type", "enbed", "small_transformers", "virbert", "benchmarks"}


def test_every_full_scale_training_job_asks_for_what_its_spec_needs(full_scale):
    config, planned = full_scale
    compute = config["compute"]
    table = compute["throughput_table"]
    benchmark = read_benchmark(REPO / table if table else None)
    jobs_of = {}
    checked = 0
    for job in training_jobs(planned):
        given = options(job)
        study = given["--study"]
        if study not in jobs_of:
            module = __import__(f"genolm.studies.{study}.jobs", fromlist=["training_jobs"])
            jobs_of[study] = {j.name: j for j in module.training_jobs(config, study_block(config, study))}
        name = given["--out"].removeprefix(f"results/{study}/")
        planned_job = jobs_of[study][name]
        spec = job_spec(job, planned)
        # the study's own record of the job (what the rule's resources come from): its training settings are the
        # rule's; its tokenizer may be the spec a pretraining job's directory will hold (planned before it exists)
        assert planned_job.spec.get("training") == spec.get("training"), f"{job['rule']} {given['--out']}"
        expected = job_resources(planned_job.spec, compute, architecture=planned_job.architecture, benchmark=benchmark)
        asked = job["resources"]
        where = f"{job['rule']} {given['--out']}"
        assert {key: asked.get(key) for key in RESOURCE_KEYS if key != "cpus_per_task"} == {
            key: expected[key] for key in RESOURCE_KEYS if key != "cpus_per_task"}, where
        assert asked["cpus_per_task"] == job["threads"] == int(given["--threads"]), where
        # what the spec says, read off the request itself
        training = spec.get("training", {})
        devices, nodes = training.get("devices", 1), training.get("num_nodes", 1)  # the schema's defaults
        assert asked["slurm_partition"] == compute["partitions"][asked["resource_class"]], where
        assert asked["nodes"] == nodes, where
        if asked["resource_class"] == "gpu":
            wanted = devices if isinstance(devices, int) and devices > 0 else compute["training_gpus"]
            assert asked["gres"].split(":")[-1] == str(wanted) and asked["tasks_per_gpu"] == 1, where
        else:
            assert asked["gres"] == "" and asked["tasks_per_gpu"] == 0, where
        checked += 1
    assert checked > 500
    classes = {job["resources"]["resource_class"] for job in training_jobs(planned)}
    assert classes == {"gpu", "cpu"}  # the full-scale config trains on GPUs and has CPU baselines


def test_no_profile_lists_rule_names():
    profile = yaml.safe_load(PROFILE.read_text())
    assert "set-resources" not in profile
