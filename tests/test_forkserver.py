"""The fork server (genolm.forkserver, issue #27 item 5): a command run through it is the command run as a plain
process (output, status, files, a training job's numbers byte for byte), signals reach it, a dead client leaves
no command running, and the client runs in-process where it must (a SLURM job, no server to be had)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch
from polars.testing import assert_frame_equal
from safetensors import safe_open

from conftest import REPO, hyenadna_spec, train_args
from genolm import forkserver


def genolm_env(server_directory: Path | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("SLURM_JOB_ID", None)
    env.pop(forkserver.ENV_DIRECTORY, None)
    env.update(extra)
    if server_directory is not None:
        env[forkserver.ENV_DIRECTORY] = str(server_directory)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genolm", *args], env=env, cwd=cwd, capture_output=True,
                          timeout=600)


def server_pids(directory: Path) -> list[int]:
    """The servers started in `directory`, by the pid each logs once it listens."""
    return [int(pid) for log in directory.glob("*.log") for pid in re.findall(r"preloaded in .* pid (\d+)", log.read_text())]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def server_directory(tmp_path_factory):
    """One server directory for the module (its server is started by the first command through it), stopped at
    the end."""
    directory = tmp_path_factory.mktemp("forkserver")
    yield directory
    for pid in server_pids(directory):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.fixture()
def table(tmp_path) -> Path:
    path = tmp_path / "table.tsv"
    path.write_text("model\tauroc\nhyenadna\t0.75\n")
    return path


def test_a_command_through_the_server_is_the_plain_command(server_directory, table, tmp_path):
    plain = run(["table-html", str(table), "--out", "plain.html"], genolm_env(None), tmp_path)
    served = run(["table-html", str(table), "--out", "served.html"], genolm_env(server_directory), tmp_path)

    assert served.returncode == plain.returncode == 0, served.stderr
    assert served.stdout == plain.stdout
    assert served.stderr.replace(b"served.html", b"plain.html") == plain.stderr
    assert served.stderr.startswith(b"$ python -m genolm table-html ")  # the rule log's first line
    assert (tmp_path / "served.html").read_bytes() == (tmp_path / "plain.html").read_bytes()
    assert list(server_directory.glob("*.sock")) and server_pids(server_directory)  # it did go through a server


def test_a_failing_command_passes_its_status_and_its_one_line_error_through(server_directory, tmp_path):
    args = ["table-html", str(tmp_path / "missing.tsv"), "--out", "page.html"]
    plain = run(args, genolm_env(None), tmp_path)
    served = run(args, genolm_env(server_directory), tmp_path)

    assert plain.returncode == served.returncode == 2
    assert served.stdout == plain.stdout
    assert served.stderr == plain.stderr
    assert len(served.stderr.decode().splitlines()) == 2  # the command line, then the one-line error
    assert not (tmp_path / "page.html").exists()


def test_a_training_job_through_the_server_gives_the_plain_jobs_numbers_and_weights(server_directory, tiny_shards,
                                                                                    tmp_path):
    spec = hyenadna_spec(steps=3)
    outputs = {}
    for name, directory in (("plain", None), ("served", server_directory)):
        args = train_args(spec, tiny_shards, tmp_path / name / "job", tmp_path / name / "results") + ["--threads", "1"]
        result = run(args, genolm_env(directory), tmp_path)
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        outputs[name] = tmp_path / name / "job"

    # The numbers: every column but the MLflow run's id (a random UUID, in a plain rerun too).
    metrics = [pl.read_parquet(outputs[name] / "metrics.parquet").drop("mlflow_run_id") for name in outputs]
    assert_frame_equal(metrics[0], metrics[1], check_exact=True)
    assert (outputs["served"] / "predictions.parquet").read_bytes() == (outputs["plain"] / "predictions.parquet").read_bytes()
    # The weights bit for bit (the header's key order follows a set of names, so string hashing, which differs
    # between two plain runs as well).
    for name in ("model.safetensors", "head.safetensors"):
        plain, served = (outputs[run] / "model" / name for run in ("plain", "served"))
        with safe_open(plain, "pt") as plain_file, safe_open(served, "pt") as served_file:
            assert plain_file.metadata() == served_file.metadata()
            assert sorted(plain_file.keys()) == sorted(served_file.keys())
            for key in plain_file.keys():
                a, b = plain_file.get_tensor(key), served_file.get_tensor(key)
                assert a.dtype == b.dtype and torch.equal(a, b), (name, key)


def start_long_training(server_directory: Path, tiny_shards: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "job"
    args = train_args(hyenadna_spec(steps=400, val_every_n_steps=4, checkpoint_every_n_steps=1000), tiny_shards, out,
                      tmp_path / "results")
    process = subprocess.Popen([sys.executable, "-m", "genolm", *args], env=genolm_env(server_directory),
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=(tmp_path / "stderr.txt").open("w"))
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not (out / "checkpoints" / "best.ckpt").exists():
        time.sleep(0.2)
    assert process.poll() is None, (tmp_path / "stderr.txt").read_text()[-3000:]
    return process, out


def the_child(server_directory: Path) -> int:
    children = [pid for server in server_pids(server_directory) for pid in children_of(server) if alive(pid)]
    assert len(children) == 1, children
    return children[0]


def test_sigterm_to_the_client_terminates_the_command_and_leaves_no_output(server_directory, tiny_shards, tmp_path):
    process, out = start_long_training(server_directory, tiny_shards, tmp_path)
    child = the_child(server_directory)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=300)
    stderr = (tmp_path / "stderr.txt").read_text()

    assert process.returncode == 143, stderr[-3000:]
    assert "interrupted: stopped by SIGTERM" in stderr
    assert not (out / "metrics.parquet").exists() and not (out / "model").exists()
    deadline = time.time() + 60
    while alive(child) and time.time() < deadline:
        time.sleep(0.2)
    assert not alive(child)


def test_a_killed_client_leaves_no_command_running(server_directory, tiny_shards, tmp_path):
    process, out = start_long_training(server_directory, tiny_shards, tmp_path)
    child = the_child(server_directory)
    process.kill()
    process.wait(timeout=60)
    deadline = time.time() + 120
    while alive(child) and time.time() < deadline:
        time.sleep(0.2)

    assert not alive(child)
    assert not (out / "metrics.parquet").exists() and not (out / "model").exists()


def test_an_edited_source_or_another_library_setting_names_another_server(tmp_path):
    env = genolm_env(tmp_path)
    key = forkserver.server_key(env)
    assert forkserver.server_key({**env, "UNRELATED_VARIABLE": "1"}) == key
    for name in ("OMP_NUM_THREADS", "PYTHONPATH", "LD_PRELOAD", "CUDA_VISIBLE_DEVICES", "GENOLM_ALLOCATOR"):
        assert forkserver.server_key({**env, name: "some other value"}) != key, name

    source = Path(forkserver.__file__)
    before = source.stat()
    try:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 10**12))  # as an editor's save would
        assert forkserver.server_key(env) != key
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert forkserver.server_key(env) == key


def test_inside_a_slurm_job_the_command_runs_in_process(table, tmp_path):
    directory = tmp_path / "servers"
    result = run(["table-html", str(table), "--out", "page.html"], genolm_env(directory, SLURM_JOB_ID="42"), tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "page.html").exists()
    assert not directory.exists()  # no server was asked for, nor started
    assert not forkserver.should_use_server(["train"], {forkserver.ENV_DIRECTORY: "d", "SLURM_JOB_ID": "42"})
    assert forkserver.should_use_server(["train"], {forkserver.ENV_DIRECTORY: "d"})
    assert not forkserver.should_use_server(["--help"], {forkserver.ENV_DIRECTORY: "d"})


def test_without_a_server_to_be_had_the_command_runs_in_process(table, tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    result = run(["table-html", str(table), "--out", "page.html"], genolm_env(not_a_directory / "servers"), tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "page.html").exists()
