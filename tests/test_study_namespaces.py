"""Studies in their own namespace (issue #25 item 3): a fifth study, added as its package and its rule file, changes
no job of the other studies; a study file that assigns an unprefixed global (the old recipe's `STUDY`), defines a
generic rule name, claims another study's prefix or writes another study's registry entry stops the workflow,
naming what it defined.

Each test works in a copy of the checkout (the repository itself is never written)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from rule_jobs import planned_jobs

NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".snakemake", "results", "resources", "__pycache__",
                                    ".pytest_cache", "*.egg-info")
# The rules that gather every study's outputs: a new study adds its own to them, by design.
GATHERING_RULES = {"all", "collect_metrics"}

PROBE_SCHEMA = """\
type: object
additionalProperties: false
default: {enabled: false}
properties:
  enabled: {type: boolean, default: true}
  experiments: {type: object, default: {}, additionalProperties: {type: object}}
"""

PROBE_JOBS = '''\
"""The probe study's training jobs (one per experiment and seed), as its rule file runs them."""

from genolm.compute import TrainingJob


def spec(name):
    return {"tokenizer": {"name": "character"}, "model": {"name": "kmer-logreg"},
            "head": {"name": "classification", "label_names": ["a", "b"]}, "context_length": 100}


def training_jobs(config, study):
    if not study["enabled"]:
        return []
    return [TrainingJob("probe", f"runs/{name}/seed{seed}", spec(name)) for name in study["experiments"]
            for seed in config["seeds"]]
'''

# A newcomer's study written by docs/architecture.md's recipe: prefixed names, the one training rule.
PROBE_RULES = '''\
# A probe study (tests/test_study_namespaces.py).

from genolm.studies.probe import jobs as pb_jobs

PB_STUDY = study_block(config, "probe")
PB = f"{RESULTS}/probe"

if PB_STUDY["enabled"]:
    pb_runs = [f"{PB}/runs/{name}/seed{seed}/metrics.parquet" for name in PB_STUDY["experiments"] for seed in SEEDS]
    METRIC_TABLES["probe"] = pb_runs
    FINAL_OUTPUTS["probe"] = list(pb_runs)


rule probe:
    input:
        study_outputs("probe"),


rule probe_windows:
    input:
        reference=f"{RES}/reference/grch38/genome.fa.gz",
    output:
        shards=directory(f"{PB}/shards/windows"),
        qc=f"{PB}/qc/windows.tsv",
    log:
        f"{PB}/logs/windows.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm reference-windows --reference {input.reference:q} --chromosomes all --length 100"
        " --max-windows 50 --seed 1 --out {output.shards:q} --qc {output.qc:q} > {log:q} 2>&1"


register_training_rule("probe_train", "probe", lambda wc: f"runs/{wc.experiment}/seed{wc.seed}")


use rule genolm_train as probe_train with:
    input:
        shards=f"{PB}/shards/windows",
    output:
        metrics=f"{PB}/runs/{{experiment}}/seed{{seed}}/metrics.parquet",
    params:
        seed=lambda wc: wc.seed,
        job_dir=lambda wc: f"{PB}/runs/{wc.experiment}/seed{wc.seed}",
        plots=lambda wc: f"{RESULTS}/plots/probe/{wc.experiment}/seed{wc.seed}",
        spec=lambda wc: canonical_json(pb_jobs.spec(wc.experiment)),
        study="probe",
        task="probe",
        experiment=lambda wc: wc.experiment,
        tracking=lambda wc: tracking_args("probe_train", experiment=wc.experiment, seed=wc.seed),
    log:
        f"{PB}/logs/train_{{experiment}}_seed{{seed}}.log",
'''

# The same study by the recipe as it was: a global `STUDY` (cancer_type's lambdas read theirs lazily) and a
# generic rule name.
OLD_RECIPE_RULES = '''\
STUDY = study_block(config, "probe")


rule pretrain:
    output:
        f"{RESULTS}/probe/pretrain.txt",
    log:
        f"{RESULTS}/probe/pretrain.log",
    conda:
        "../../../envs/data.yaml"
    shell:
        "python -m genolm --help > {output:q} 2> {log:q}"
'''


# A study that writes another study's registry entry (its final outputs, so `make cancer_type` would build them).
FOREIGN_ENTRY_RULES = PROBE_RULES + '''

FINAL_OUTPUTS["cancer_type"] = []
'''


def checkout_copy(destination: Path) -> Path:
    shutil.copytree(REPO, destination, ignore=NOT_COPIED, symlinks=True)
    return destination


def add_probe_study(checkout: Path, rules: str, prefix: str = "pb") -> None:
    package = checkout / "src" / "genolm" / "studies" / "probe"
    package.mkdir()
    (package / "__init__.py").write_text(f'"""A probe study."""\n\nWORKFLOW_PREFIX = "{prefix}"\n')
    (package / "config.schema.yaml").write_text(PROBE_SCHEMA)
    (package / "jobs.py").write_text(PROBE_JOBS)
    (checkout / "workflow" / "rules" / "studies" / "probe.smk").write_text(rules)


def by_job(planned: dict) -> dict:
    return {(job["rule"], tuple(job["output"])): job for job in planned["jobs"]}


def test_a_fifth_study_changes_no_job_of_the_other_studies(tmp_path):
    checkout = checkout_copy(tmp_path / "checkout")
    demo = yaml.safe_load((REPO / "config.yaml").read_text())
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump(demo))
    before = by_job(planned_jobs(tmp_path / "demo.yaml", checkout, snakefile=checkout / "Snakefile"))

    add_probe_study(checkout, PROBE_RULES)
    demo["studies"]["probe"] = {"experiments": {"first": {}, "second": {}}}
    (tmp_path / "with_probe.yaml").write_text(yaml.safe_dump(demo))
    after = by_job(planned_jobs(tmp_path / "with_probe.yaml", checkout, snakefile=checkout / "Snakefile"))

    probe_jobs = sorted(rule for rule, _ in after if rule.startswith("probe"))
    assert probe_jobs.count("probe_train") == 2 * len(demo["seeds"]) and "probe_windows" in probe_jobs
    compared = {key: job for key, job in before.items() if key[0] not in GATHERING_RULES}
    assert {rule for rule, _ in compared} >= {"cancer_type_finetune", "enbed_train", "st_pretrain", "virbert_finetune"}
    changed = sorted(f"{rule} {outputs[0]}" for (rule, outputs), job in compared.items()
                     if (rule, outputs) not in after
                     or {k: after[(rule, outputs)][k] for k in ("params", "input", "shell", "resources")}
                     != {k: job[k] for k in ("params", "input", "shell", "resources")})
    assert not changed


def dry_run(checkout: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=checkout,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("rules", "prefix", "message"), [
    (OLD_RECIPE_RULES, "pb", "workflow/rules/studies/probe.smk: defines global(s) STUDY; defines rule(s) pretrain: "),
    (PROBE_RULES, "ct", "workflow/rules/studies/probe.smk: prefix 'ct' collides with study "
                                         "'cancer_type' (prefix 'ct')"),
    (FOREIGN_ENTRY_RULES, "pb", "workflow/rules/studies/probe.smk: writes FINAL_OUTPUTS['cancer_type']: "),
], ids=["unprefixed-global-and-generic-rule", "another-study's-prefix", "another-study's-entry"])
def test_a_study_outside_its_namespace_stops_the_workflow_naming_what_it_defined(tmp_path, rules, prefix, message):
    checkout = checkout_copy(tmp_path / "checkout")
    add_probe_study(checkout, rules, prefix=prefix)
    result = dry_run(checkout)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]
