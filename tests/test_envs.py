"""What a compute node runs comes from envs/*.yaml: every rule names one, each file is a valid conda environment
(package specs parsed by rattler, the conda ecosystem's own parser), the training env has a CUDA build of
PyTorch, and together they provide every runtime dependency of the genolm package."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from rattler import MatchSpec

from conftest import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))
# The workflow engine and its executor plugin run on the submit host, not inside the jobs' environments.
SUBMIT_HOST_ONLY = {"snakemake", "snakemake-executor-plugin-slurm"}
# PyPI name -> the conda-forge packages that provide it.
CONDA_NAMES = {"torch": {"pytorch", "pytorch-gpu", "pytorch-cpu"}}


def packages(env: dict) -> dict[str, MatchSpec]:
    specs = {}
    for dependency in env["dependencies"]:
        spec = MatchSpec(dependency, strict=True)
        specs[spec.name.normalized] = spec
    return specs


@pytest.mark.parametrize("path", ENVS, ids=[p.name for p in ENVS])
def test_env_file_is_a_valid_conda_environment(path):
    env = yaml.safe_load(path.read_text())
    assert set(env) <= {"name", "channels", "dependencies"}, set(env)
    assert env["channels"] and all(isinstance(c, str) for c in env["channels"])
    assert all(isinstance(d, str) for d in env["dependencies"]), "pip sections are not used: conda packages only"
    specs = packages(env)
    assert len(specs) == len(env["dependencies"]), "a package is listed twice"
    assert "python" in specs


def test_a_spec_the_parser_rejects_is_caught():
    with pytest.raises(Exception, match="build string"):
        packages({"dependencies": ["numpy >=1.24 !!"]})


def test_training_env_has_a_cuda_build_of_pytorch():
    specs = packages(yaml.safe_load((REPO / "envs" / "train.yaml").read_text()))
    torch = [spec for name, spec in specs.items() if name in CONDA_NAMES["torch"]]
    assert len(torch) == 1
    # conda-forge's pytorch-gpu is the CUDA build; a plain `pytorch` must pin a cuda build string.
    assert torch[0].name.normalized == "pytorch-gpu" or "cuda" in str(torch[0].build or "")


def test_every_rule_names_an_env_file_that_exists():
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert "Specify a conda environment or container for each rule" not in lint.stdout + lint.stderr
    named = set()
    for rules in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r"conda:\s*\n\s*\"([^\"]+)\"", rules.read_text()):
            path = (rules.parent / env).resolve()
            assert path.exists(), f"{rules.name}: {env}"
            named.add(path)
    assert named == {p.resolve() for p in ENVS}  # and no env file is left unused


def test_the_envs_provide_every_runtime_dependency_of_the_package():
    provided = set().union(*(packages(yaml.safe_load(p.read_text())) for p in ENVS))
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = []
    for requirement in dependencies:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower()
        if name not in SUBMIT_HOST_ONLY and not CONDA_NAMES.get(name, {name}) & provided:
            missing.append(name)
    assert not missing, f"in pyproject.toml but in no envs/*.yaml: {missing}"
