"""Shared fixtures: the repository root, the embedded demo data, small prepared inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from slurm_cluster import slurm_cluster  # noqa: F401  (the fixture, for slurm_e2e_run)

REPO = Path(__file__).resolve().parents[1]
DEMO_MIRROR = REPO / "data" / "demo" / "mirror"

# One CPU thread per test process (torch, oneDNN, OpenBLAS), set before anything imports torch and inherited by every
# command and workflow a test starts. `make test` runs two pytest-xdist workers on two cores, each starting its own
# subprocesses; with the libraries' default, an OpenMP thread per core in every process, the threads of concurrent
# processes spin-wait against each other for cores (a model test file used 2.5 times the CPU time, a tiny training
# job a quarter more). The workflow's training rules already pass their `threads` (1 in tests/e2e/config.yaml); a
# value set by whoever runs the tests is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_genolm(*args: str, cwd: Path | None = None, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `python -m genolm ...` as a user would, capturing output."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-m", "genolm", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"genolm {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def built_once(tmp_path_factory, worker_id: str, name: str, build):
    """`build(directory)` run once for the whole test session, its (JSON) result returned to every caller. Under
    pytest-xdist the workers share it: the first to ask builds it under a file lock in their common temporary root,
    the others wait and reuse it, or its failure (a failed or timed-out build is not retried by the next worker)."""
    if worker_id == "master":
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    with FileLock(shared / f"{name}.lock"):
        state = shared / f"{name}.json"
        if not state.exists():
            try:
                state.write_text(json.dumps({"built": build(shared / name)}, default=str))
            except Exception as failure:
                state.write_text(json.dumps({"failure": f"{type(failure).__name__}: {failure}"}))
        built = json.loads(state.read_text())
    assert "failure" not in built, built.get("failure")
    return built["built"]


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory, worker_id) -> dict[str, Path]:
    """The demo reference prepared and the demo mutations validated, once per test session (shared by the
    pytest-xdist workers: built_once)."""
    return {key: Path(path) for key, path in built_once(tmp_path_factory, worker_id, "demo_inputs",
                                                        _prepare_demo_inputs).items()}


def _prepare_demo_inputs(out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    reference = out / "genome.fa.gz"
    run_genolm("prepare-reference", "--source", str(DEMO_MIRROR / "goldenPath/hg38/bigZips/hg38.fa.gz"),
               "--out", str(reference))
    run_genolm("prepare-mutations", "--mutations", str(DEMO_MIRROR / "depmap/OmicsSomaticMutations.csv"),
               "--samples", str(DEMO_MIRROR / "depmap/Model.csv"), "--reference", str(reference),
               "--out-mutations", str(out / "mutations.parquet"), "--out-samples", str(out / "samples.parquet"),
               "--qc", str(out / "qc.tsv"))
    return {"reference": reference, "mutations": out / "mutations.parquet", "samples": out / "samples.parquet",
            "dir": out}


@pytest.fixture(scope="session")
def tiny_shards(demo_inputs, tmp_path_factory, worker_id) -> Path:
    """Labelled mutated windows of length 64 from a few demo cell lines (train/val/test), shared by the
    pytest-xdist workers (built_once)."""
    return Path(built_once(tmp_path_factory, worker_id, "tiny_shards",
                           lambda out: _cut_tiny_shards(demo_inputs, out)))


def _cut_tiny_shards(demo_inputs: dict[str, Path], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    run_genolm("select-cell-lines", "--mutations", str(demo_inputs["mutations"]), "--samples", str(demo_inputs["samples"]),
               "--lineages", "Lung", "Lymphoid", "--split", "train=0.7", "val=0.1", "test=0.2", "--seed", "1", "--max-anchors-per-cell-line", "6", "--out-cell-lines", str(out / "cell_lines.parquet"),
               "--out-anchors", str(out / "anchors.parquet"), "--qc", str(out / "qc.tsv"))
    run_genolm("mutate-windows", "--reference", str(demo_inputs["reference"]), "--mutations", str(demo_inputs["mutations"]),
               "--format", "parquet", "--anchors", str(out / "anchors.parquet"), "--chromosomes", "all",
               "--length", "64", "--seed", "1", "--out", str(out / "shards"))
    return out / "shards"


# A HyenaDNA small enough for a test: the cancer-type study's fine-tuning spec with a tiny architecture.
TINY_HYENADNA = {"name": "hyenadna", "preset": "tiny-1k", "d_model": 16, "n_layer": 1, "d_inner": 32, "filter_order": 16,
                 "l_max": 66}


def hyenadna_spec(*, steps: int, batch_size: int = 8, init: str = "random", checkpoint: str | None = None,
                  architecture: dict | None = None, **training) -> dict:
    """A fine-tuning spec for 64-bp windows (65 tokens with [SEP]) of the tiny_shards fixture."""
    return {
        "tokenizer": {"name": "character"},
        "model": {"checkpoint": checkpoint} if checkpoint else (architecture or TINY_HYENADNA),
        "head": {"name": "classification", "pooling": "mean", "label_names": ["Lung", "Lymphoid"]},
        "init": init,
        "context_length": 65,
        "group_column": "sample",
        "training": {"max_steps": steps, "batch_size": batch_size, "warmup_steps": 2, "val_every_n_steps": 4,
                     "checkpoint_every_n_steps": 2, **training},
    }


def train_args(spec: dict, shards: Path, out: Path, results: Path, *, seed: int = 1, experiment: str = "e",
               task: str = "t", tags: tuple[str, ...] = ("rule=test",)) -> list[str]:
    """`genolm train` arguments for a spec (as the workflow's training rules pass them)."""
    import json

    args = ["train", "--spec", json.dumps(spec), "--shards", str(shards), "--seed", str(seed), "--out", str(out),
            "--results-dir", str(results), "--study", "cancer_type", "--task", task, "--experiment", experiment]
    for tag in tags:
        args += ["--tag", tag]
    return args


E2E_CONFIG = REPO / "tests" / "e2e" / "config.yaml"


def run_snakemake(workdir: Path, *args: str, timeout: int = 1500, env: dict | None = None,
                  overrides: Path | None = None, fork_server: Path | None = None) -> subprocess.CompletedProcess:
    """The workflow on the tiny end-to-end config (tests/e2e/config.yaml, which replaces the demo config.yaml, then
    `overrides` merged over it), with this interpreter's tools on PATH; its local jobs through a fork server in
    `fork_server` (genolm.forkserver) if given, else each a plain process."""
    env = {**(env or os.environ)}
    env.pop("GENOLM_FORKSERVER", None)
    if fork_server is not None:
        env["GENOLM_FORKSERVER"] = str(fork_server)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(E2E_CONFIG), *([str(overrides)] if overrides else []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


@pytest.fixture(scope="session")
def e2e_local_run(tmp_path_factory, worker_id) -> Path:
    """The demo workflow shrunk to tiny models, through the local profile, once per test session (its work
    directory), shared by the pytest-xdist workers (built_once)."""
    return Path(built_once(tmp_path_factory, worker_id, "e2e", _e2e_run))


def _e2e_run(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    # Through a fork server (the SLURM run's jobs are plain processes: test_slurm.py compares their numbers).
    result = run_snakemake(workdir, "--cores", "2", "--profile", str(REPO / "profiles" / "local"),
                           fork_server=workdir / ".snakemake" / "genolm-forkserver")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return workdir


@pytest.fixture(scope="session")
def slurm_e2e_run(tmp_path_factory, worker_id, request) -> Path:
    """The cancer-type study of the e2e config through profiles/slurm on the real test cluster (test_slurm.py's
    run_through_slurm), once per test session, shared by the pytest-xdist workers (built_once). Only the worker that
    builds it starts a cluster (slurm_cluster is asked for inside the build); test_slurm.py reads the scheduler's
    records of the same session's cluster, test_slurm_local.py only the results."""
    def build(workdir: Path) -> Path:
        from test_slurm import run_through_slurm

        return run_through_slurm(request.getfixturevalue("slurm_cluster"), workdir / "work", workdir)

    return Path(built_once(tmp_path_factory, worker_id, "slurm_e2e", build))


NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".snakemake", "results", "resources", "__pycache__",
                                    ".pytest_cache", "*.egg-info")


def checkout_copy(destination: Path) -> Path:
    """The repository's files (no git, no results) at another path: another user's checkout."""
    shutil.copytree(REPO, destination, ignore=NOT_COPIED, symlinks=True)
    return destination


@pytest.fixture(scope="session")
def full_scale_plan(tmp_path_factory, worker_id) -> dict:
    """config/full_scale.yaml planned once per test session (tests/rule_jobs.py: every job, nothing run, through
    profiles/slurm), from a copy of the checkout, with the hand-provided files as empty stand-ins
    (benchmarks/bench_full_scale.py); the pytest-xdist workers share it (built_once). Keys: checkout (the copy
    planned from), config (the configuration as planned), workdir, planned (planned_jobs()'s answer)."""
    planned = built_once(tmp_path_factory, worker_id, "full_scale_plan", _plan_full_scale)
    return {**planned, "checkout": Path(planned["checkout"]), "workdir": Path(planned["workdir"])}


def _plan_full_scale(root: Path) -> dict:
    import yaml

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_full_scale import stand_in_config
    from rule_jobs import planned_jobs

    root.mkdir(parents=True, exist_ok=True)
    checkout = checkout_copy(root / "checkout")
    config = stand_in_config(yaml.safe_load((REPO / "config" / "full_scale.yaml").read_text()), root / "hand-provided")
    workdir = root / "full_work"
    workdir.mkdir()
    config_path = root / "full_scale_base.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    # Through the SLURM profile's default resources, as a lab plans it (test_training_rule checks the requests).
    planned = planned_jobs(config_path, workdir, snakefile=checkout / "Snakefile",
                           profile=checkout / "profiles" / "slurm" / "config.v8+.yaml")
    return {"checkout": str(checkout), "config": config, "workdir": str(workdir), "planned": planned}


# pytest-xdist (`make test`: --dist loadfile) hands out test files in collection order, each to the first worker
# that is free. The two long setups, the SLURM run and the shared end-to-end run, go first, one to each worker, so
# that they overlap instead of one of them ending the session alone. Then the files that take longest (CPU seconds
# of each file run alone, training subprocesses included, measured with the suite of December 2026), longest first:
# the session then ends on short files on both workers instead of one worker finishing a long file alone. Every
# other file follows in collection order.
LONG_SETUPS_FIRST = ("test_slurm.py", "test_workflow.py")
LONGEST_FILES_NEXT = ("test_training.py", "test_hostile_training.py", "test_mlflow_server.py", "test_rule_params.py",
                      "test_tracking_robust.py", "test_ddp.py", "test_trainer.py")


def session_order(file_names: list[str]) -> list[str]:
    """The test files in the order pytest-xdist should hand them out (see LONG_SETUPS_FIRST, LONGEST_FILES_NEXT)."""
    rank = {name: position for position, name in enumerate(LONG_SETUPS_FIRST + LONGEST_FILES_NEXT)}
    return sorted(file_names, key=lambda name: rank.get(name, len(rank)))  # stable: the others keep their order


def pytest_collection_modifyitems(config, items):
    order = {name: position for position, name in enumerate(session_order(list(dict.fromkeys(
        item.path.name for item in items))))}
    items.sort(key=lambda item: order[item.path.name])


def assert_rebuilt_byte_for_byte(command: list[str], built: Path, shipped: Path, timeout: int = 180) -> None:
    """Run a demo-data generator writing into `built`: the same files as `shipped`, byte for byte."""
    subprocess.run([sys.executable, *command], check=True, timeout=timeout)
    files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    for path in files:
        assert (built / path).read_bytes() == (shipped / path).read_bytes(), path


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
