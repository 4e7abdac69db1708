"""Every rule's log begins with the one command line that reproduces its job, then the command's own output, without
third-party banners (issue #21 item 9, issue #26 item 5)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import DEMO_MIRROR, REPO, hyenadna_spec, train_args
from rule_jobs import planned_jobs

# The environment a rule's shell has: this interpreter as `python`, the package on PYTHONPATH (common.smk sets it).
RULE_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO / "src")}


def run_as_a_rule(command: str, log: Path, cwd: Path) -> None:
    """`command > log 2>&1` in a shell, as every rule runs its command."""
    result = subprocess.run(f"{command} > {log} 2>&1", shell=True, cwd=cwd, env=RULE_ENV, timeout=600)
    assert result.returncode == 0, log.read_text()[-3000:]


def first_line_command(log: Path) -> str:
    first = log.read_text().splitlines()[0]
    assert first.startswith("$ python -m genolm "), first
    return first.removeprefix("$ ")


def test_a_data_stage_log_starts_with_the_command_that_reruns_it(tmp_path):
    (tmp_path / "q c").mkdir()  # a path that needs quoting
    source = shutil.copy(DEMO_MIRROR / "goldenPath/hg38/bigZips/hg38.fa.gz", tmp_path / "hg38.fa.gz")
    run_as_a_rule(f"python -m genolm prepare-reference --source {Path(source).name} --out 'q c/genome.fa.gz'"
                  " --qc 'q c/qc.tsv'", tmp_path / "first.log", tmp_path)
    built = {p.name: p.read_bytes() for p in (tmp_path / "q c").iterdir()}
    assert "genome.fa.gz" in built and "qc.tsv" in built
    shutil.rmtree(tmp_path / "q c")
    (tmp_path / "q c").mkdir()

    command = first_line_command(tmp_path / "first.log")
    run_as_a_rule(command, tmp_path / "again.log", tmp_path)

    assert {p.name: p.read_bytes() for p in (tmp_path / "q c").iterdir()} == built
    assert first_line_command(tmp_path / "again.log") == command


def test_a_failing_command_still_opens_its_log_with_the_command(tmp_path):
    log = tmp_path / "failed.log"
    subprocess.run(f"python -m genolm prepare-reference --source missing.fa --out genome.fa.gz > {log} 2>&1",
                   shell=True, cwd=tmp_path, env=RULE_ENV, timeout=300)
    lines = log.read_text().splitlines()
    assert lines[0] == "$ python -m genolm prepare-reference --source missing.fa --out genome.fa.gz"
    assert lines[-1].startswith("genolm prepare-reference: error: ")


def _messages(log: Path) -> list[str]:
    return log.read_text().splitlines()


def test_a_training_log_starts_with_its_command_and_holds_no_banners(tiny_shards, tmp_path):
    spec = hyenadna_spec(steps=4, batch_size=8)
    args = train_args(spec, tiny_shards, Path("run"), Path("results"), experiment="logs")
    command = "python -m genolm " + " ".join(map(_shell_quote, args))
    run_as_a_rule(command, tmp_path / "train.log", tmp_path)
    metrics = pl.read_parquet(tmp_path / "run" / "metrics.parquet")

    messages = _messages(tmp_path / "train.log")
    assert not any("Tip:" in m or "litlogger" in m or "litmodels" in m for m in messages), messages
    # each Lightning line once (its logger has its own handler; propagating to genolm's too printed it twice)
    for once in ("GPU available: False", "TPU available", "`Trainer.fit` stopped"):
        assert sum(once in m for m in messages) == 1, f"{once!r} not printed exactly once:\n" + "\n".join(messages)

    shutil.rmtree(tmp_path / "run")
    shutil.rmtree(tmp_path / "results")
    run_as_a_rule(first_line_command(tmp_path / "train.log"), tmp_path / "again.log", tmp_path)
    again = pl.read_parquet(tmp_path / "run" / "metrics.parquet")
    # the same numbers (each run is its own MLflow run, hence its own id)
    assert again.drop("mlflow_run_id").equals(metrics.drop("mlflow_run_id"))


def _shell_quote(argument) -> str:
    import shlex

    return shlex.quote(str(argument))


@pytest.fixture(scope="module")
def demo_rules(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo_rules")
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(yaml.safe_load((REPO / "config.yaml").read_text()), sort_keys=False))
    return planned_jobs(config, workdir)


def test_every_rule_runs_one_genolm_command_into_its_log(demo_rules):
    commands = {name: rule["shell"] for name, rule in demo_rules["rules"].items() if rule["shell"]}
    assert len(commands) >= 40, sorted(commands)  # every stage of the four studies and the shared files
    for name, shell in commands.items():
        shell = " ".join(shell.split())
        # Training replaces the rule's shell (exec): SLURM's warning signal must reach genolm train, not a shell.
        shell = shell.removeprefix("exec ") if shell.startswith("exec python -m genolm train ") else shell
        assert shell.startswith("python -m genolm "), f"rule {name}: {shell}"
        assert shell.endswith("> {log:q} 2>&1"), f"rule {name} does not send its output to its log: {shell}"
        assert demo_rules["rules"][name]["log"], f"rule {name} has no log"
    # the rules without a shell command are targets only
    for job in demo_rules["jobs"]:
        if not job["shell"]:
            assert not job["output"], job
