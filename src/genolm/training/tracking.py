"""MLflow: every training and evaluation job is one run.

The default store is a local SQLite database under `results/mlflow/` (no server needed; MLflow 3 no longer
accepts plain directories as a store); a lab sets `tracking.mlflow_uri` to its server. Runs carry the resolved
parameters, per-step metrics, artifacts (model, figures, tables) and tags: rule, wildcards, git commit and the
checksums of the inputs. A job that is restarted after being killed continues the same run: its id is kept in
the job's output directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable

from genolm.atomic import written_path
from genolm.sources.checksums import file_checksum

log = logging.getLogger(__name__)

RUN_ID_FILE = "mlflow_run_id"


def local_tracking_uri(results_dir: str | Path) -> str:
    return f"sqlite:///{Path(results_dir).resolve() / 'mlflow' / 'mlflow.db'}"


def resolve_tracking_uri(uri: str | None, results_dir: str | Path = "results") -> str:
    if uri:
        return uri
    return create_local_store(results_dir)


def create_local_store(results_dir: str | Path) -> str:
    """The local SQLite store, created by one job at a time; returns its URI.

    Creating the store runs MLflow's schema migrations, and two jobs that start together (the local profile's
    parallel jobs) would run them at once and break each other ("duplicate column name"). An exclusive lock
    beside the database makes the first job create it while the others wait; once it exists, opening it writes
    nothing, so the lock is held only for that moment.
    """
    import fcntl

    from mlflow.tracking import MlflowClient

    path = Path(results_dir) / "mlflow"
    path.mkdir(parents=True, exist_ok=True)
    uri = local_tracking_uri(results_dir)
    with open(path / "mlflow.db.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        MlflowClient(uri).search_experiments(max_results=1)
    return uri


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return flat


def _retry(call, attempts: int = 8):
    # SQLite stores and busy servers refuse a write now and then when many jobs log at once; a short retry with
    # backoff is what keeps concurrent jobs from losing runs.
    from mlflow.exceptions import MlflowException

    for attempt in range(attempts):
        try:
            return call()
        except MlflowException as error:
            if attempt == attempts - 1 or "RESOURCE_ALREADY_EXISTS" in str(error.error_code):
                raise
            time.sleep(0.2 * 2**attempt)
        except Exception as error:  # sqlalchemy OperationalError "database is locked"
            if attempt == attempts - 1 or "locked" not in str(error):
                raise
            time.sleep(0.2 * 2**attempt)


def experiment_id(client, name: str, artifact_root: str | None) -> str:
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    from mlflow.exceptions import MlflowException

    try:
        return _retry(lambda: client.create_experiment(name, artifact_location=artifact_root))
    except MlflowException:
        # Another job created it a moment ago.
        return client.get_experiment_by_name(name).experiment_id


class TrackedRun:
    """One MLflow run for one job; reopened (not duplicated) when the job restarts in the same directory."""

    def __init__(
        self,
        *,
        tracking_uri: str,
        experiment: str,
        job_dir: str | Path,
        run_name: str,
        tags: dict[str, str] | None = None,
        inputs: Iterable[str | Path] = (),
    ):
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.experiment_name = experiment
        self.client = MlflowClient(tracking_uri)
        artifact_root = None
        if tracking_uri.startswith("sqlite:///"):
            artifact_root = (Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
        self.experiment_id = experiment_id(self.client, experiment, artifact_root)
        self.job_dir = Path(job_dir)
        self.job_dir.mkdir(parents=True, exist_ok=True)
        id_file = self.job_dir / RUN_ID_FILE
        if id_file.exists():
            self.run_id = id_file.read_text().strip()
            _retry(lambda: self.client.update_run(self.run_id, status="RUNNING"))
            log.info("continuing MLflow run %s", self.run_id)
        else:
            all_tags = {"mlflow.runName": run_name, "git_commit": git_commit(), "mlflow.source.name": "genolm"}
            if "SLURM_JOB_ID" in os.environ:
                all_tags["slurm_job_id"] = os.environ["SLURM_JOB_ID"]
            all_tags.update({f"input.{Path(p).name}": file_checksum(p) for p in inputs if Path(p).exists()})
            all_tags.update(tags or {})
            run = _retry(lambda: self.client.create_run(self.experiment_id, tags=all_tags, run_name=run_name))
            self.run_id = run.info.run_id
            tmp = id_file.with_suffix(".tmp")
            tmp.write_text(self.run_id)
            tmp.replace(id_file)

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(k, v[:6000]) for k, v in flatten(params).items()]
        existing = self.client.get_run(self.run_id).data.params
        items = [p for p in items if p.key not in existing]
        for start in range(0, len(items), 100):
            _retry(lambda: self.client.log_batch(self.run_id, params=items[start : start + 100]))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        # Per-class metrics carry label names (`f1/Lung (NSCLC)`); MLflow refuses names outside [/\w.\- :].
        batch = [Metric(re.sub(r"[^/\w.\- :]", "_", k), float(v), now, step or 0) for k, v in metrics.items()]
        _retry(lambda: self.client.log_batch(self.run_id, metrics=batch))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Log a file or a directory's contents; an output of the running command is read from where its stage
        holds it until the command ends (genolm.atomic), under its final name."""
        path = Path(path)
        source = written_path(path)
        if source.is_dir():
            _retry(lambda: self.client.log_artifacts(self.run_id, str(source), artifact_path))
        elif source.exists() and source.name == path.name:
            _retry(lambda: self.client.log_artifact(self.run_id, str(source), artifact_path))
        elif source.exists():
            with tempfile.TemporaryDirectory() as scratch:  # MLflow names the artifact after the file
                named = Path(scratch) / path.name
                shutil.copyfile(source, named)
                _retry(lambda: self.client.log_artifact(self.run_id, str(named), artifact_path))

    def finish(self, status: str = "FINISHED") -> None:
        _retry(lambda: self.client.set_terminated(self.run_id, status=status))


def parse_tags(pairs: list[str] | None) -> dict[str, str]:
    tags = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--tag expects KEY=VALUE, got {pair!r}")
        tags[key] = value
    return tags

