"""The benchmarks study's plan (issue #24): the demo and the full-scale configurations plan every cell the config
asks for (each task x each backbone and baseline x each learning rate x each seed or fold), and nothing else, with
dry runs of `snakemake benchmarks` (no job runs). Expected cells are read from the config files here, not from the
study's own code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_full_scale import stand_in_config  # noqa: E402

TRAIN_OUTPUT = re.compile(r"^results/benchmarks/runs/([^/]+)/([^/]+)/([^/]+)/([^/]+)/metrics\.parquet$")


def planned_training_cells(configfile: Path, workdir: Path) -> set[tuple[str, str, str, str]]:
    """(task, model, setting, run) of every benchmarks_train job a dry run of `snakemake benchmarks` plans."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "snakemake", "benchmarks", "-n", "--forceall", "--cores", "1", "-s",
                             str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(configfile)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    cells, rule = set(), None
    for line in result.stdout.splitlines():
        if line.startswith("rule ") or line.startswith("localrule "):
            rule = line.split()[1].rstrip(":")
        elif rule == "benchmarks_train" and line.strip().startswith("output:"):
            match = TRAIN_OUTPUT.match(line.strip().removeprefix("output:").strip())
            assert match, line
            cells.add(match.groups())
    planned = re.search(r"^benchmarks_train\s+(\d+)$", result.stdout, re.MULTILINE)
    assert planned and int(planned.group(1)) == len(cells), "the job stats count other benchmarks_train jobs"
    return cells


def expected_cells(config: dict) -> set[tuple[str, str, str, str]]:
    block = config["studies"]["benchmarks"]
    cells = set()
    for task, spec in block["tasks"].items():
        runs = [f"fold{k}" for k in range(1, spec["folds"] + 1)] if spec.get("folds") else [f"seed{s}" for s in config["seeds"]]
        for model in block["backbones"]:
            cells |= {(task, model, f"lr{lr:g}", run) for lr in block["lr_grid"] for run in runs}
        for model in block.get("baselines", {}):
            cells |= {(task, model, "fixed", run) for run in runs}
    return cells


def test_demo_plans_four_families_on_two_tasks_with_three_replicates(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    cells = planned_training_cells(REPO / "config.yaml", tmp_path)
    assert cells == expected_cells(config)
    backbones = config["studies"]["benchmarks"]["backbones"]
    families = {b.get("family") or b["model"].get("name") or b["architecture"]["model"]["name"] for b in backbones.values()}
    assert {"hyenadna", "bert", "enbed"} <= families and families & {"albert", "longformer"}
    tasks = {task for task, *_ in cells}
    assert len(tasks) >= 2
    for task in tasks:
        for model in [*backbones, *config["studies"]["benchmarks"]["baselines"]]:
            runs = {run for t, m, _, run in cells if (t, m) == (task, model)}
            assert len(runs) >= 3, (task, model, runs)


def test_full_scale_plans_all_26_tasks_for_every_configured_model(tmp_path):
    config = stand_in_config(yaml.safe_load((REPO / "config" / "full_scale.yaml").read_text()), tmp_path / "hand-provided")
    configfile = tmp_path / "full_scale.yaml"
    configfile.write_text(yaml.safe_dump(config))
    (tmp_path / "work").mkdir()
    cells = planned_training_cells(configfile, tmp_path / "work")
    assert cells == expected_cells(config)
    tasks = {task for task, *_ in cells}
    assert tasks == set(config["datasets"]["benchmarks"]) and len(tasks) == 26
    nt_folds = {run for task, _, _, run in cells if task == "H3"}
    assert nt_folds == {f"fold{k}" for k in range(1, 11)}
