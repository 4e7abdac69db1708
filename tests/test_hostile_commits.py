"""A command's outputs appear all together or not at all, whatever stops it (issue #21, items 2 and 7, ENOSPC).

- a failure while the outputs are renamed into place rolls back the ones already placed, restoring the previous
  version of each;
- SIGTERM and SIGINT sent to a real `python -m genolm` process mid-command exit non-zero (143, 130) leaving the
  previous outputs and no temporary; after SIGKILL the temporaries it left are removed by the next run;
- outputs get the mode the umask gives a new file, not mkstemp's private 0600;
- a full disk is one line naming the output, exit status 2, nothing left behind.

Builds on the tiny inputs of test_hostile_input.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import genolm
from genolm import atomic
from test_hostile_input import (  # noqa: F401  (valid and inputs are fixtures)
    _prepare_mutations,
    _reference_windows,
    inputs,
    run_cli,
    snapshot,
    valid,
)

PREPARE_MUTATIONS_OUTPUTS = ("m.parquet", "s.parquet", "qc.tsv")


def temporaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".tmp-" in p.name or "tmp-" in p.name)


# -- a failure during the commit


@pytest.mark.parametrize("previous", [True, False], ids=["over-previous-outputs", "first-run"])
@pytest.mark.parametrize("failing", PREPARE_MUTATIONS_OUTPUTS)
def test_a_rename_failing_at_any_output_rolls_back_the_others(inputs, capsys, monkeypatch, failing, previous):
    argv = _prepare_mutations(inputs)
    if previous:
        code, stderr = run_cli(argv, capsys)
        assert code == 0, stderr
    before = snapshot(inputs.root)
    target = inputs.out / failing
    replace = os.replace
    renamed = []

    def failing_replace(source, destination):
        # Only the rename of this output's temporary fails; moving a backup back (the rollback) still works.
        if Path(destination) == target and not str(source).endswith(".old"):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(destination))
        replace(source, destination)
        renamed.append(Path(destination).name)

    monkeypatch.setattr(os, "replace", failing_replace)
    code, stderr = run_cli(argv, capsys)
    monkeypatch.undo()
    assert code == 2, stderr
    assert failing in stderr.splitlines()[-1] and "Traceback" not in stderr
    assert snapshot(inputs.root) == before  # previous outputs as they were (same mtimes), no temporary, no backup
    if failing == "qc.tsv":  # the outputs completed before it were placed, then taken back
        assert {"m.parquet", "s.parquet"} <= set(renamed)


def test_a_temporary_gone_before_the_commit_moves_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    with pytest.raises(genolm.errors.GenolmInputError, match="b.txt.*disappeared"):
        with atomic.staged_outputs():
            with atomic.atomic_file(tmp_path / "a.txt") as tmp:
                tmp.write_text("new a")
            with atomic.atomic_file(tmp_path / "b.txt") as tmp:
                tmp.write_text("new b")
            atomic.written_path(tmp_path / "b.txt").unlink()
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_directory_output_is_restored_after_a_failed_commit(tmp_path, monkeypatch):
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "old.parquet").write_text("old")
    replace = os.replace

    def failing_replace(source, destination):
        if Path(destination).name == "qc.tsv":
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(destination))
        replace(source, destination)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        with atomic.staged_outputs():
            with atomic.atomic_directory(tmp_path / "shards") as tmp:
                (tmp / "new.parquet").write_text("new")
            with atomic.atomic_file(tmp_path / "qc.tsv") as tmp:
                tmp.write_text("qc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]
    assert [p.name for p in (tmp_path / "shards").iterdir()] == ["old.parquet"]


# -- signals sent to a real process


# Runs `python -m genolm ARGS` with one test hook: at the second Parquet write (the first output is staged, the
# second's temporary written but not yet staged) it reports its progress in READY and waits to be signalled.
_PAUSED_GENOLM = """
import runpy, sys, time
from pathlib import Path
import polars as pl

ready = Path(sys.argv[1])
original = pl.DataFrame.write_parquet
writes = []

def write_parquet(self, path, *args, **kwargs):
    original(self, path, *args, **kwargs)
    writes.append(path)
    if len(writes) == 2:
        ready.write_text(str(path))
        time.sleep(120)

pl.DataFrame.write_parquet = write_parquet
sys.argv = ["genolm", *sys.argv[2:]]
runpy.run_module("genolm", run_name="__main__", alter_sys=True)
"""


def _run_until_paused(argv: list, ready: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(genolm.__file__).parents[1]))
    process = subprocess.Popen([sys.executable, "-c", _PAUSED_GENOLM, str(ready), *map(str, argv)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the command did not reach its pause: {process.communicate()[1]}")
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_terminated_command_leaves_its_previous_outputs_and_no_temporary(inputs, capsys, tmp_path_factory, signum,
                                                                          status):
    argv = _prepare_mutations(inputs)
    code, stderr = run_cli(argv, capsys)
    assert code == 0, stderr
    before = snapshot(inputs.root)
    process = _run_until_paused(argv, tmp_path_factory.mktemp("hook") / "ready")
    assert temporaries(inputs.out)  # mid-command: its temporaries exist
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert "no output was left behind" in stderr and "Traceback" not in stderr
    assert snapshot(inputs.root) == before


def test_temporaries_of_a_killed_command_are_removed_by_the_next_run(inputs, capsys, tmp_path_factory):
    argv = _prepare_mutations(inputs)
    process = _run_until_paused(argv, tmp_path_factory.mktemp("hook") / "ready")
    process.kill()  # SIGKILL: no handler runs
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    left = temporaries(inputs.out)
    assert left and all(f"tmp-{process.pid}@" in name for name in left)
    assert not any((inputs.out / name).exists() for name in PREPARE_MUTATIONS_OUTPUTS)
    code, stderr = run_cli(argv, capsys)
    assert code == 0, stderr
    assert temporaries(inputs.out) == []
    assert sorted(p.name for p in inputs.out.iterdir()) == sorted(PREPARE_MUTATIONS_OUTPUTS)


def test_the_sweep_spares_running_processes_and_other_hosts(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = int(finished.stdout)
    host = atomic._HOST
    names = {
        "dead": f".x.parquet.tmp-{dead}@{host}-abcd1234.parquet",
        "dead_directory": f".shards.tmp-{dead}@{host}-abcd_234",
        "dead_backup": f".x.parquet.tmp-{dead}@{host}-0a1b2c3d.old",
        "running": f".x.parquet.tmp-{os.getpid()}@{host}-abcd1234.parquet",
        "other_host": f".x.parquet.tmp-{dead}@{host}x-abcd1234.parquet",
        "user_file": ".x.parquet.tmp-notes",
    }
    for key, name in names.items():
        if key == "dead_directory":
            (tmp_path / name).mkdir()
            (tmp_path / name / "part.parquet").write_text("partial")
        else:
            (tmp_path / name).write_text("partial")
    atomic.sweep_dead_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        names[key] for key in ("running", "other_host", "user_file"))


# -- modes


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask-022", "umask-002"])
def test_outputs_get_the_mode_of_the_umask(inputs, capsys, umask):
    previous = os.umask(umask)
    try:
        for argv in (_prepare_mutations(inputs), _reference_windows(inputs),
                     ["prepare-reference", "--source", inputs.fasta, "--out", inputs.out / "ref" / "g.fa.gz"]):
            code, stderr = run_cli(argv, capsys)
            assert code == 0, stderr
    finally:
        os.umask(previous)
    paths = list(inputs.out.rglob("*"))
    assert any(p.is_dir() for p in paths) and len(paths) > 8
    wrong = {str(p.relative_to(inputs.out)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths
             if stat.S_IMODE(p.stat().st_mode) != (0o777 if p.is_dir() else 0o666) & ~umask}
    assert wrong == {}


# -- a full disk


def _full_disk(error: Exception):
    original = pl.DataFrame.write_parquet

    def write_parquet(self, path, *args, **kwargs):
        original(self, path, *args, **kwargs)
        Path(path).write_bytes(Path(path).read_bytes()[:100])  # what a full disk leaves: part of the file
        raise error

    return write_parquet


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),  # as a write() raises it: no file name
    OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)),
    pl.exceptions.ComputeError(f"failed to write: {os.strerror(errno.ENOSPC)} (os error 28)"),
], ids=["ENOSPC", "EDQUOT", "polars-message"])
def test_a_full_disk_is_one_line_naming_the_output(inputs, capsys, monkeypatch, error):
    before = snapshot(inputs.root)
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _full_disk(error))
    code, stderr = run_cli(_prepare_mutations(inputs), capsys)
    assert code == 2
    assert stderr.count("\n") == 1 and "Traceback" not in stderr and "bug in genolm" not in stderr
    assert f"{inputs.out / 'm.parquet'}: no space left on device" in stderr
    assert snapshot(inputs.root) == before


def test_a_full_disk_outside_an_output_block_names_the_path(inputs, capsys, monkeypatch):
    import genolm.commands.prepare_mutations as command

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(inputs.out / "scratch.bin"))

    monkeypatch.setattr(command, "read_mutations", full)
    code, stderr = run_cli(_prepare_mutations(inputs), capsys)
    assert code == 2 and stderr.count("\n") == 1
    assert f"{inputs.out / 'scratch.bin'}: no space left on device" in stderr
