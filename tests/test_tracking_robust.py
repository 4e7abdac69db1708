"""MLflow that survives odd paths and outages, and that a lab can navigate.

Real stores only: SQLite files at paths with URI-special characters, a real `mlflow server` subprocess that is
killed while a job trains, a closed port, and a results directory copied elsewhere whose artifacts are read back
through a real `mlflow server` started on the copy (as `make mlflow-ui` starts it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from conftest import REPO, TINY_HYENADNA, hyenadna_spec, run_genolm, train_args
from slurm_cluster import free_port

from genolm.errors import GenolmInputError
from genolm.training.tracking import (
    METRIC_KEY_PATTERN, TrackedRun, create_local_store, final_metric_key, list_artifacts, metric_key,
    resolve_tracking_uri,
)

SMALL = {**TINY_HYENADNA, "d_model": 8, "d_inner": 16, "filter_order": 8}


def start_mlflow_server(root: Path, backend: str, artifacts: str, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`mlflow server` on loopback, returned once /health answers."""
    port = port or free_port()
    log = open(root / f"server-{port}.log", "ab")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1", "--backend-store-uri", backend, "--artifacts-destination", artifacts],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, (root / f"server-{port}.log").read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return server, url
        except OSError:
            pass
        assert time.monotonic() < deadline, "no mlflow server"
        time.sleep(0.5)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


# ---- paths -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("character", ["?", "#", "%", " ", "%20"])
def test_local_store_lands_inside_a_results_dir_whose_path_holds_uri_characters(tmp_path, character):
    results = tmp_path / f"res{character}ults"
    uri = create_local_store(results)
    database = results / "mlflow" / "mlflow.db"
    assert database.is_file()
    # Nothing created beside the results directory (a cut URI puts the database at tmp_path/"res").
    assert sorted(p.name for p in tmp_path.iterdir()) == [results.name]
    run = TrackedRun(tracking_uri=uri, experiment="e", job_dir=tmp_path / f"res{character}ults" / "job", run_name="r")
    run.log_metrics({"train/loss": 0.5}, step=3)
    run.log_artifact(results / "mlflow" / "mlflow.db.lock", "files")
    run.finish()
    from mlflow.tracking import MlflowClient

    stored = MlflowClient(uri).get_run(run.run_id)
    assert stored.data.metrics == {"train/loss": 0.5} and stored.info.status == "FINISHED"
    assert [f.path for f in list_artifacts(uri, run.run_id, "files")] == ["files/mlflow.db.lock"]
    assert (results / "mlflow" / "artifacts").is_dir()


# ---- a server that does not answer -------------------------------------------------------------------------------
def test_closed_port_fails_within_seconds_naming_the_uri(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(GenolmInputError, match="does not answer") as raised:
        resolve_tracking_uri(uri, tmp_path / "results")
    assert time.monotonic() - start < 15
    assert str(raised.value).startswith(uri)


def test_training_command_with_a_closed_port_stops_before_training_with_one_line(tiny_shards, tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    spec = hyenadna_spec(steps=2, architecture=SMALL)
    start = time.monotonic()
    result = run_genolm(*train_args(spec, tiny_shards, tmp_path / "job", tmp_path / "results"), "--mlflow-uri", uri,
                        check=False, timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"genolm train: error: {uri}: the MLflow tracking server does not answer " + errors[0].split(
        "does not answer ", 1)[1]], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    # Nothing trained: no checkpoint, no model, no results (the job's record of its spec may be there).
    assert not [p for p in (tmp_path / "job").rglob("*") if p.suffix == ".ckpt" or p.name in ("model", "metrics.parquet")]
    assert elapsed < 60, elapsed  # imports and reading the shards included; the check itself is the test above


def test_job_survives_its_tracking_server_dying_mid_training(tiny_shards, tmp_path):
    server, url = start_mlflow_server(tmp_path, f"sqlite:///{tmp_path / 'server.db'}",
                                      (tmp_path / "server-artifacts").as_uri())
    job = tmp_path / "job"
    steps = 120
    spec = hyenadna_spec(steps=steps, architecture=SMALL, val_every_n_steps=60, checkpoint_every_n_steps=60)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "genolm", *train_args(spec, tiny_shards, job, tmp_path / "results"),
               "--mlflow-uri", url]
    try:
        training = subprocess.Popen(command, env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        from mlflow.tracking import MlflowClient

        client = MlflowClient(url)
        # Kill the server once the first per-step metrics have arrived: the job is training.
        deadline = time.monotonic() + 300
        while True:
            assert training.poll() is None, training.stderr.read()[-3000:]
            if (job / "mlflow_run_id").exists() and client.get_metric_history(
                    (job / "mlflow_run_id").read_text(), "train/loss"):
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)
        stop(server)
        killed_at = time.monotonic()
        stderr = training.communicate(timeout=600)[1]
    finally:
        stop(server)
    assert training.returncode == 0, stderr[-3000:]
    metrics = pl.read_parquet(job / "metrics.parquet")
    assert metrics.filter((pl.col("split") == "test") & (pl.col("metric") == "accuracy")).height == 2
    assert (job / "model" / "model.safetensors").exists() and (job / "history.tsv").exists()
    # The outage is reported once, then the end of the job says what MLflow lacks.
    assert stderr.count("is unreachable") == 1, stderr[-3000:]
    assert stderr.count("stayed unreachable") == 1 and "Traceback" not in stderr, stderr[-3000:]
    history = pl.read_csv(job / "history.tsv", separator="\t")
    assert history.filter(pl.col("metric") == "train/loss")["step"].max() == steps - 1  # kept locally through the outage
    assert time.monotonic() - killed_at < 300

    # The run holds what was sent before the outage; restarted on the same database, the server shows it.
    server, url = start_mlflow_server(tmp_path, f"sqlite:///{tmp_path / 'server.db'}",
                                      (tmp_path / "server-artifacts").as_uri())
    try:
        run = MlflowClient(url).get_run((job / "mlflow_run_id").read_text())
        assert run.info.status == "RUNNING" and run.data.params["seed"] == "1"
    finally:
        stop(server)


def test_a_server_back_before_the_end_receives_everything_queued(tmp_path):
    port = free_port()
    backend, artifacts = f"sqlite:///{tmp_path / 'server.db'}", (tmp_path / "server-artifacts").as_uri()
    server, url = start_mlflow_server(tmp_path, backend, artifacts, port)
    try:
        run = TrackedRun(tracking_uri=url, experiment="e", job_dir=tmp_path / "job", run_name="r")
        stop(server)
        run.log_params({"a": 1})
        for step in range(5):
            run.log_metrics({"train/loss": float(step)}, step=step)
        (tmp_path / "table.tsv").write_text("x\n1\n")
        run.log_artifact(tmp_path / "table.tsv", "tables")
        server, url = start_mlflow_server(tmp_path, backend, artifacts, port)
        run.finish()
        from mlflow.tracking import MlflowClient

        client = MlflowClient(url)
        stored = client.get_run(run.run_id)
        assert stored.info.status == "FINISHED" and stored.data.params == {"a": "1"}
        assert [m.step for m in client.get_metric_history(run.run_id, "train/loss")] == [0, 1, 2, 3, 4]
        assert [f.path for f in client.list_artifacts(run.run_id, "tables")] == ["tables/table.tsv"]
    finally:
        stop(server)


# ---- names -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("logged", "key"), [
    ("train/loss", "train/loss"),
    ("epoch", "train/epoch"),
    ("val/auroc/TF:402", "val/auroc/TF_402"),
    ("val/auroc_group/TF", "val/auroc_group/TF"),
    ("test/auroc/Histone 901", "test/auroc/Histone 901"),
    ("val/recall/a/b", "val/recall/a_b"),
    ("val/recall/..", "val/recall/_"),
])
def test_per_step_metric_keys(logged, key):
    assert metric_key(logged) == key
    assert METRIC_KEY_PATTERN.match(key)


@pytest.mark.parametrize(("value", "key"), [
    ("test@best/accuracy", "final/best/test/accuracy"),
    ("test@last/auroc/TF:402", "final/last/test/auroc/TF_402"),
    ("train/loss", "final/last/train/loss"),
    ("test/knn_accuracy_chromosome", "final/last/test/knn_accuracy_chromosome"),
])
def test_final_metric_keys(value, key):
    assert final_metric_key(value) == key
    assert METRIC_KEY_PATTERN.match(key)


@pytest.fixture(scope="module")
def two_seeds(tiny_shards, tmp_path_factory) -> Path:
    """One experiment trained with seeds 1 and 2 into a local store."""
    root = tmp_path_factory.mktemp("two_seeds")
    spec = hyenadna_spec(steps=4, architecture=SMALL)
    for seed in (1, 2):
        run_genolm(*train_args(spec, tiny_shards, root / f"seed{seed}", root / "results", seed=seed,
                               experiment="arm", tags=("rule=finetune",)))
    return root


def test_runs_of_two_seeds_are_named_and_tagged_apart(two_seeds):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{two_seeds / 'results' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri)
    runs = {r.info.run_id: r for r in client.search_runs([client.get_experiment_by_name("genolm").experiment_id])}
    assert len(runs) == 2
    for seed in (1, 2):
        run = runs[(two_seeds / f"seed{seed}" / "mlflow_run_id").read_text()]
        assert run.info.run_name == f"cancer_type/arm/seed{seed}"
        assert {k: run.data.tags[k] for k in ("study", "experiment", "seed", "rule")} == {
            "study": "cancer_type", "experiment": "arm", "seed": str(seed), "rule": "finetune"}
        keys = set(run.data.metrics)
        assert {"train/loss", "val/balanced_accuracy", "final/best/test/accuracy", "final/last/test/accuracy"} <= keys
        assert not [k for k in keys if not METRIC_KEY_PATTERN.match(k)]
        # The final metrics are the job's results table.
        table = pl.read_parquet(two_seeds / f"seed{seed}" / "metrics.parquet")
        value = table.filter((pl.col("split") == "test") & (pl.col("metric") == "accuracy")
                             & (pl.col("checkpoint") == "best"))["value"].item()
        assert run.data.metrics["final/best/test/accuracy"] == pytest.approx(value)


def test_a_copied_results_dir_still_serves_its_artifacts(two_seeds, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(two_seeds, copy)
    moved = two_seeds.with_name(two_seeds.name + "-moved")
    two_seeds.rename(moved)  # the original location is gone: nothing may resolve to it
    try:
        run_id = (copy / "seed1" / "mlflow_run_id").read_text()
        # Through MLflow's own server, started the way `make mlflow-ui` starts it (paths relative to its cwd).
        server, url = start_mlflow_server(copy, "sqlite:///results/mlflow/mlflow.db", "results/mlflow/artifacts")
        try:
            from mlflow.tracking import MlflowClient

            downloaded = MlflowClient(url).download_artifacts(run_id, "tables/metrics.parquet", str(tmp_path))
            assert pl.read_parquet(downloaded).equals(pl.read_parquet(copy / "seed1" / "metrics.parquet"))
        finally:
            stop(server)
        # And without a server, through genolm's reader of the local store.
        local = {f.path for f in list_artifacts(f"sqlite:///{copy / 'results' / 'mlflow' / 'mlflow.db'}", run_id)}
        assert {"model", "tables", "figures", "history.tsv"} <= local
    finally:
        moved.rename(two_seeds)


def test_a_directory_of_staged_outputs_is_logged_under_their_final_names(tmp_path):
    """A command logs its figures directory while its own figures are still staged (written whole at the command's
    end): MLflow gets them under their final names, never as the hidden temporaries (seen in a demo's plot_umap)."""
    from genolm.atomic import atomic_file, staged_outputs

    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "loss.png").write_bytes(b"old")  # already in place
    run = TrackedRun(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="e", job_dir=tmp_path / "job",
                     run_name="r")
    with staged_outputs():
        with atomic_file(figures / "umap.png") as tmp:
            Path(tmp).write_bytes(b"new")
        run.log_artifact(figures, "figures")
    names = sorted(a.path for a in list_artifacts(run.tracking_uri, run.run_id, "figures"))
    assert names == ["figures/loss.png", "figures/umap.png"], names
