"""MLflow for many concurrent jobs.

A real `mlflow server` on loopback (SQLite backend, artifacts proxied by the server) receives JOBS training jobs
that run at the same time, as `tracking.mlflow_uri` makes a cluster's jobs do; and the local default store
(SQLite under results/mlflow, no server) takes the same jobs at once, as the local profile's parallel jobs do.
Either way every run, parameter, metric and artifact must arrive. Four jobs on the test machine's two cores already
create the store, migrate it and write to it at the same moments; each job more costs about 13 CPU seconds (a
Python process importing torch, Lightning and MLflow) and tests no further case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from conftest import REPO, TINY_HYENADNA, hyenadna_spec, train_args
from slurm_cluster import free_port

from genolm.training.tracking import list_artifacts

JOBS = 4
STEPS = 2
EXPERIMENT = "concurrent-jobs"


def job_command(shards: Path, job: int, out: Path, results: Path, mlflow_uri: str | None) -> list[str]:
    spec = hyenadna_spec(steps=STEPS, architecture={**TINY_HYENADNA, "d_model": 8, "d_inner": 16, "filter_order": 8},
                         warmup_steps=1, val_every_n_steps=STEPS, checkpoint_every_n_steps=STEPS)
    command = [sys.executable, "-m", "genolm",
               *train_args(spec, shards, out, results, seed=job, task="concurrency", experiment=f"job{job}",
                           tags=("rule=finetune", f"job={job}")), "--mlflow-experiment", EXPERIMENT]
    return command + (["--mlflow-uri", mlflow_uri] if mlflow_uri else [])


def run_jobs_at_once(shards: Path, root: Path, mlflow_uri: str | None) -> list[Path]:
    """Start all jobs together and wait for them; each must succeed."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CUDA_VISIBLE_DEVICES": ""}
    jobs = [root / f"job{i}" for i in range(JOBS)]
    processes = [subprocess.Popen(job_command(shards, i, job, root / "results", mlflow_uri), env=env, text=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i, job in enumerate(jobs)]
    errors = [(i, p.communicate(timeout=600)[1]) for i, p in enumerate(processes)]
    failed = [f"job{i} ({processes[i].returncode}):\n{err[-3000:]}" for i, err in errors if processes[i].returncode]
    assert not failed, "\n".join(failed)
    return jobs


def assert_every_run_arrived(tracking_uri: str, jobs: list[Path]) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    runs = {r.info.run_id: r for r in client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id],
                                                          max_results=1000)}
    assert len(runs) == JOBS, f"{len(runs)} runs for {JOBS} jobs"
    for i, job in enumerate(jobs):
        run = runs[(job / "mlflow_run_id").read_text()]
        assert run.info.status == "FINISHED"
        assert run.data.tags["job"] == str(i) and run.data.tags["rule"] == "finetune"
        assert run.data.params["seed"] == str(i)
        assert run.data.params["spec.training.max_steps"] == str(STEPS)
        assert run.data.params["experiment"] == f"job{i}"
        # The metrics the job wrote to its table are the ones the tracking store holds.
        table = pl.read_parquet(job / "metrics.parquet")
        for split, metric in [("test", "accuracy"), ("test", "loss"), ("val", "balanced_accuracy")]:
            value = table.filter((pl.col("split") == split) & (pl.col("metric") == metric)
                                 & (pl.col("checkpoint") == "best"))["value"].item()
            assert run.data.metrics[f"final/best/{split}/{metric}"] == pytest.approx(value)
        # Per-step history from Lightning's logger (every min(10, val_every_n_steps) steps: the last step here).
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")]
        assert steps == [STEPS - 1], steps
        assert {a.path for a in list_artifacts(tracking_uri, run.info.run_id)} >= {"model", "figures", "history.tsv"}


@pytest.fixture
def mlflow_server(tmp_path) -> Iterator[str]:
    """`mlflow server` on 127.0.0.1 with a SQLite backend; artifacts are uploaded through the server."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
               "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
               "--artifacts-destination", (tmp_path / "server-artifacts").as_uri()]
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no mlflow server:\n" + (tmp_path / "server.log").read_text()
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_concurrent_jobs_log_every_run_to_a_tracking_server(mlflow_server, tiny_shards, tmp_path):
    jobs = run_jobs_at_once(tiny_shards, tmp_path, mlflow_server)
    assert_every_run_arrived(mlflow_server, jobs)
    # Nothing went to a local store: the server is the only tracking store.
    assert not (tmp_path / "results" / "mlflow").exists()


def test_concurrent_jobs_share_the_local_default_store(tiny_shards, tmp_path):
    jobs = run_jobs_at_once(tiny_shards, tmp_path, mlflow_uri=None)
    assert_every_run_arrived(f"sqlite:///{tmp_path / 'results' / 'mlflow' / 'mlflow.db'}", jobs)
