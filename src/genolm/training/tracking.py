"""MLflow: every training and evaluation job is one run.

The default store is a local SQLite database under `results/mlflow/` (no server needed; MLflow 3 no longer
accepts plain directories as a store), its artifacts beside it under `results/mlflow/artifacts/` with
`mlflow-artifacts:` locations that name no absolute path (a moved results directory keeps them; `make mlflow-ui`
serves them); a lab sets `tracking.mlflow_uri` to its server, which must answer when a job starts and may go
down while it runs (TrackedRun). Runs are named `<study>/<experiment>/seed<seed>` and carry the resolved
parameters, per-step metrics (one key scheme: metric_key, final_metric_key), artifacts (model, figures, tables)
and tags: study, experiment, seed, rule, wildcards, git commit and the checksums of the inputs. A job that is
restarted after being killed continues the same run: its id is kept in the job's output directory.
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
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

from genolm.atomic import written_files, written_path
from genolm.errors import GenolmInputError
from genolm.sources.checksums import file_checksum

log = logging.getLogger(__name__)

RUN_ID_FILE = "mlflow_run_id"
ARTIFACTS_SCHEME = "mlflow-artifacts"
PREFLIGHT_TIMEOUT_S = 5
# Each call to a server that went down mid-job: two retries, 20 s per request at most, so a refused connection costs
# seconds (MLflow's own defaults, 7 retries with exponential backoff and 120 s, cost four minutes) while a server
# busy with many jobs still gets its retries.
OUTAGE_HTTP_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                        "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
RETRY_INTERVAL_S = 60  # while the server is down, queued logging is retried this often
# Per-step metrics are sent at most this often (and whenever the job ends): one log_batch is a database transaction
# (a local SQLite store commits to disk each time), which every 10 steps cost a demo ENBED pretraining about a tenth
# of its time (docs/performance.md, "Per-step metrics"). The first batch goes at once, so a run shows its curve early.
METRICS_SEND_INTERVAL_S = 15
FINISH_RETRY_WAITS_S = (2, 5)  # the end of a job tries thrice, this long apart, before giving up on the server
MAX_METRICS_PER_BATCH = 1000  # MLflow's log_batch limits
MAX_PARAMS_PER_BATCH = 100
MAX_KEY_LENGTH = 250


def local_tracking_uri(results_dir: str | Path) -> str:
    """The SQLite store's URI, right for any path.

    A plain `sqlite:///<path>` is cut at a `?` (the rest is read as a query) and percent-escapes are not decoded,
    so a results directory named `run?1` would put the database at `run`. SQLite's own URI filenames (`file:`,
    `uri=true`) are percent-decoded by SQLite itself, so every character of the path survives."""
    path = (Path(results_dir).resolve() / "mlflow" / "mlflow.db").as_posix()
    return f"sqlite:///file:{urllib.parse.quote(path)}?uri=true"


def local_store_dir(tracking_uri: str) -> Path | None:
    """The directory of a local SQLite store (where its artifacts live too); None for a server."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = tracking_uri.removeprefix("sqlite:///")
    if database.startswith("file:"):
        database = urllib.parse.unquote(database.removeprefix("file:").partition("?")[0])
    return Path(database).parent


def _create_uri_filename_parents_where_they_are() -> None:
    """MLflow (3.17 here, since mlflow/mlflow#19205) creates a SQLite store's parent directory before it connects
    (`mlflow.store.db.utils._make_parent_dirs_if_sqlite`), taking the text after `sqlite:///` for the path. For a
    URI filename, local_tracking_uri's form `sqlite:///file:/abs/dir/mlflow.db?uri=true`, that text is a relative
    path: every client made the directory `file:/abs/dir` under the working directory (a `file:` directory in the
    checkout after the tests). MLflow's function is wrapped so that a URI filename creates its decoded directory;
    every other URI goes to MLflow's own. An MLflow without the function needs nothing."""
    from mlflow.store.db import utils

    mlflow_make_parent_dirs = getattr(utils, "_make_parent_dirs_if_sqlite", None)
    if mlflow_make_parent_dirs is None or getattr(mlflow_make_parent_dirs, "reads_uri_filenames", False):
        return

    def make_parent_dirs(db_uri: str) -> None:
        if not db_uri.startswith("sqlite:///file:"):
            return mlflow_make_parent_dirs(db_uri)
        local_store_dir(db_uri).mkdir(parents=True, exist_ok=True)

    make_parent_dirs.reads_uri_filenames = True
    utils._make_parent_dirs_if_sqlite = make_parent_dirs


def resolve_tracking_uri(uri: str | None, results_dir: str | Path = "results") -> str:
    if uri:
        check_reachable(uri)
        return uri
    return create_local_store(results_dir)


@contextmanager
def _http_settings(**settings: str):
    """MLflow's HTTP client settings for the calls inside (MLflow reads them from the environment per request)."""
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def check_reachable(tracking_uri: str) -> None:
    """Fail in seconds, before any training, when the tracking server does not answer.

    MLflow's defaults (7 retries with exponential backoff, 120 s per request) turn a closed port into four silent
    minutes and a traceback; this one request has no retries and a short timeout."""
    from mlflow.tracking import MlflowClient

    with _http_settings(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT=str(PREFLIGHT_TIMEOUT_S)):
        try:
            MlflowClient(tracking_uri).search_experiments(max_results=1)
        except Exception as error:  # whatever the transport raises: refused, timed out, bad host, HTTP error
            raise GenolmInputError(tracking_uri, f"the MLflow tracking server does not answer ({_first_line(error)}); "
                                                 "start it, fix tracking.mlflow_uri, or set it to null for the local "
                                                 "store under results/mlflow") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__


def create_local_store(results_dir: str | Path) -> str:
    """The local SQLite store, created by one job at a time; returns its URI.

    Creating the store runs MLflow's schema migrations, and two jobs that start together (the local profile's
    parallel jobs) would run them at once and break each other ("duplicate column name"). An exclusive lock
    beside the database makes the first job create it while the others wait; once it exists, opening it writes
    nothing, so the lock is held only for that moment.
    """
    import fcntl

    from mlflow.tracking import MlflowClient

    _create_uri_filename_parents_where_they_are()  # every client of this URI, in this process
    path = Path(results_dir) / "mlflow"
    uri = local_tracking_uri(results_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with open(path / "mlflow.db.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            MlflowClient(uri).search_experiments(max_results=1)
    except Exception as error:  # an unwritable directory, a database that is not MLflow's
        raise GenolmInputError(path / "mlflow.db", f"cannot open the local MLflow store ({_first_line(error)})") from None
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
            # A server that does not answer at all is an outage, not contention: MLflow's HTTP client has already
            # retried it ("API request to ... failed with exception"), and the caller queues what it sent.
            unreachable = "failed with exception" in str(error)
            if attempt == attempts - 1 or unreachable or "RESOURCE_ALREADY_EXISTS" in str(error.error_code):
                raise
            time.sleep(0.2 * 2**attempt)
        except Exception as error:  # sqlalchemy OperationalError "database is locked"
            if attempt == attempts - 1 or "locked" not in str(error):
                raise
            time.sleep(0.2 * 2**attempt)


# ---- metric names ------------------------------------------------------------------------------------------------
# One scheme for every metric a run holds: `<split>/<metric>` per step, `<split>/<metric>/<class label>` per class
# (or label group), and the job's final evaluations `final/<checkpoint>/<split>/<metric>[/<class label>]`, the
# checkpoint being `best` (chosen on validation) or `last`. Each part keeps only the characters MLflow accepts on
# every platform (a colon is refused on Windows); anything else becomes `_`.
_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9_.\- ]")
METRIC_KEY_PATTERN = re.compile(r"^(final/(best|last)/)?[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\- ]+)?$")


def _key_part(part: str) -> str:
    part = _UNSAFE_IN_KEY.sub("_", part).strip()
    return "_" if part in ("", ".", "..") else part  # MLflow refuses names that normalize like paths


def metric_key(name: str) -> str:
    """MLflow's key for a per-step metric `<split>/<metric>[/<label>]` (Lightning's `epoch` counts as train's)."""
    parts = name.split("/", 2)  # a class label may hold a `/` of its own: it stays one part
    if len(parts) == 1:
        parts = ["train", *parts]
    return "/".join(_key_part(p) for p in parts)[:MAX_KEY_LENGTH]


def final_metric_key(name: str) -> str:
    """MLflow's key for a job's result `<split>[@<checkpoint>]/<metric>[/<label>]` (genolm.results.metric_rows
    reads the same names; the checkpoint defaults to `last`)."""
    where, _, metric = name.partition("/")
    split, _, checkpoint = where.partition("@")
    return f"final/{_key_part(checkpoint or 'last')}/{metric_key(f'{split}/{metric}')}"[:MAX_KEY_LENGTH]


# ---- runs --------------------------------------------------------------------------------------------------------
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


def local_artifact_root(experiment: str) -> str:
    """The artifact location of an experiment in the local store: `mlflow-artifacts:/<experiment>`, which names
    no directory. The jobs write it under `<results>/mlflow/artifacts/` (beside the database) and `mlflow ui
    --artifacts-destination <results>/mlflow/artifacts` serves it from there, so a results directory that is
    moved or copied keeps its artifacts (a `file://` location would hold the absolute path it was written at)."""
    return f"{ARTIFACTS_SCHEME}:/{re.sub(r'[^A-Za-z0-9_.-]', '_', experiment)}"


def artifact_repository(tracking_uri: str, artifact_uri: str):
    """MLflow's artifact repository for a run's artifact URI. On a local store an `mlflow-artifacts:` URI is the
    directory under the store's `artifacts/` (MLflow itself resolves that scheme only through a server)."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    store = local_store_dir(tracking_uri)
    if store is not None and artifact_uri.startswith(f"{ARTIFACTS_SCHEME}:"):
        relative = urllib.parse.urlparse(artifact_uri).path.lstrip("/")
        return get_artifact_repository((store / "artifacts" / relative).as_uri())
    return get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)


def list_artifacts(tracking_uri: str, run_id: str, path: str | None = None) -> list:
    """The artifacts of a run (MLflow's FileInfo), on a server or in a local store."""
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri).get_run(run_id)
    return artifact_repository(tracking_uri, run.info.artifact_uri).list_artifacts(path)


def run_name(study: str, experiment: str, seed: int | None, fold: int | None = None) -> str:
    """`<study>/<experiment>/seed<seed>[/fold<k>]`: the arm and its replicate, so no two runs of a study's arms
    share a name (the rule that ran it is the `rule` tag)."""
    name = f"{study}/{experiment}"
    if seed is not None:
        name += f"/seed{seed}"
    if fold is not None:
        name += f"/fold{fold}"
    return name


class TrackedRun:
    """One MLflow run for one job; reopened (not duplicated) when the job restarts in the same directory.

    Opening it checks the store (a server that does not answer stops the job here, before training). After that
    the tracking server is a convenience the job does not depend on: metrics, parameters and artifacts are queued
    and sent when it answers; an outage is logged once as a warning, retried every RETRY_INTERVAL_S and at the end
    (`finish`), and if the server stays down the job still ends normally with its own results written (its
    metrics.parquet and model), the log saying what MLflow lacks.
    """

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
        if local_store_dir(tracking_uri) is None:
            for key, value in OUTAGE_HTTP_SETTINGS.items():
                # A call to a server that went down then costs seconds, not MLflow's four minutes of retries;
                # what a lab sets itself is kept.
                os.environ.setdefault(key, value)
        self.client = MlflowClient(tracking_uri)
        artifact_root = local_artifact_root(experiment) if local_store_dir(tracking_uri) is not None else None
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
        self.artifact_uri = self.client.get_run(self.run_id).info.artifact_uri
        self._params: dict[str, str] = {}
        self._metrics: list = []  # mlflow.entities.Metric not yet sent
        self._artifacts: list[tuple[Path, str | None]] = []
        self._logged: dict[str, list] = {}  # every metric this process logged, by key: history when MLflow is down
        self._down_since: float | None = None
        self._last_attempt = 0.0
        self._metrics_sent_at: float | None = None  # when per-step metrics last went out (None: never)

    # -- what a job logs: queued, then sent ---------------------------------------------------------------------
    def log_params(self, params: dict) -> None:
        self._params.update({k: v[:6000] for k, v in flatten(params).items()})
        self._send()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Per-step metrics named `<split>/<metric>[/<label>]` (metric_key)."""
        self._queue({metric_key(k): v for k, v in metrics.items()}, step)

    def log_results(self, values: dict) -> None:
        """A job's final evaluations, the `values` genolm.results.metric_rows turns into the results table
        (`<split>[@<checkpoint>]/<metric>`: a number, or (value, ci_low, ci_high)), as `final/...` metrics."""
        self._queue({final_metric_key(k): v[0] if isinstance(v, tuple) else v for k, v in values.items()}, None)

    def _queue(self, metrics: dict[str, float], step: int | None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        for name, value in metrics.items():
            key = "/".join(_key_part(part) for part in name.split("/"))  # label names may hold `(`, `:`
            metric = Metric(key, float(value), now, step or 0)
            self._metrics.append(metric)
            self._logged.setdefault(key, []).append(metric)
        if self._metrics_sent_at is None or time.monotonic() - self._metrics_sent_at >= METRICS_SEND_INTERVAL_S:
            self._metrics_sent_at = time.monotonic()
            self._send()

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Log a file or a directory's contents; an output of the running command is read from where its stage
        holds it until the command ends (genolm.atomic), under its final name."""
        self._artifacts.append((Path(path), artifact_path))
        self._send()

    def metric_history(self, key: str) -> list:
        """Every value of a metric (MLflow's Metric entities): the store's history, complete across restarts; while
        the store is down, what this process logged."""
        if self._send():
            try:
                return self.client.get_metric_history(self.run_id, key)
            except Exception as error:
                self._outage(error)
        return list(self._logged.get(key, []))

    def lightning_logger(self):
        """A Lightning logger that sends the per-step metrics through this run (queued through an outage, where
        Lightning's MLFlowLogger would stop the job)."""
        from lightning.pytorch.loggers.logger import Logger

        run = self

        class TrackedRunLogger(Logger):
            name = property(lambda self: run.experiment_name)
            version = property(lambda self: run.run_id)

            def log_hyperparams(self, params, *args, **kwargs) -> None:
                pass  # the trainer logs the spec itself; the modules save no hyperparameters

            def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
                run.log_metrics(metrics, step)

        return TrackedRunLogger()

    def finish(self, status: str = "FINISHED") -> None:
        """Send what is queued (retrying a few times if the server is down) and end the run. If the server stays
        down the job's own outputs are complete anyway: say what MLflow lacks and return normally."""
        for wait in (*FINISH_RETRY_WAITS_S, None):
            if self._send(force=True):
                try:
                    _retry(lambda: self.client.set_terminated(self.run_id, status=status))
                    return
                except Exception as error:
                    self._outage(error)
            if wait is not None:
                time.sleep(wait)
        log.warning("MLflow at %s stayed unreachable: run %s lacks %d metric values, %d parameters and %d artifacts "
                    "and is not marked %s; the job's own results are complete in %s", self.tracking_uri, self.run_id,
                    len(self._metrics), len(self._params), len(self._artifacts), status, self.job_dir)

    # -- sending -----------------------------------------------------------------------------------------------
    def _send(self, force: bool = False) -> bool:
        """Send everything queued; True when nothing is left. While the server is down, only every
        RETRY_INTERVAL_S (or when forced)."""
        if self._down_since is not None and not force and time.monotonic() - self._last_attempt < RETRY_INTERVAL_S:
            return False
        self._last_attempt = time.monotonic()
        try:
            self._send_params()
            while self._metrics:
                batch = self._metrics[:MAX_METRICS_PER_BATCH]
                _retry(lambda: self.client.log_batch(self.run_id, metrics=batch))
                del self._metrics[: len(batch)]
            while self._artifacts:
                self._upload(*self._artifacts[0])
                self._artifacts.pop(0)
        except Exception as error:
            if _is_our_mistake(error):
                raise
            self._outage(error)
            return False
        if self._down_since is not None:
            log.warning("MLflow at %s answers again after %.0f s; everything queued was sent", self.tracking_uri,
                        time.monotonic() - self._down_since)
            self._down_since = None
        return True

    def _send_params(self) -> None:
        from mlflow.entities import Param

        if not self._params:
            return
        # Parameters cannot change; a restarted job logs its own again, so only the new ones are sent.
        existing = self.client.get_run(self.run_id).data.params
        items = [Param(k, v) for k, v in self._params.items() if k not in existing]
        for start in range(0, len(items), MAX_PARAMS_PER_BATCH):
            _retry(lambda: self.client.log_batch(self.run_id, params=items[start : start + MAX_PARAMS_PER_BATCH]))
        self._params.clear()

    def _upload(self, path: Path, artifact_path: str | None) -> None:
        repository = artifact_repository(self.tracking_uri, self.artifact_uri)
        source = written_path(path)
        if source.is_dir():  # under the names its files will have: the command's own outputs are still staged
            with tempfile.TemporaryDirectory() as scratch:
                for readable, name in written_files(path):
                    (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(readable, Path(scratch) / name)
                _retry(lambda: repository.log_artifacts(scratch, artifact_path))
        elif source.exists() and source.name == path.name:
            _retry(lambda: repository.log_artifact(str(source), artifact_path))
        elif source.exists():
            with tempfile.TemporaryDirectory() as scratch:  # MLflow names the artifact after the file
                named = Path(scratch) / path.name
                shutil.copyfile(source, named)
                _retry(lambda: repository.log_artifact(str(named), artifact_path))

    def _outage(self, error: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("MLflow at %s is unreachable (%s): training goes on; metrics, parameters and artifacts are "
                        "queued and sent when it answers (tried every %d s and at the end of the job)",
                        self.tracking_uri, _first_line(error), RETRY_INTERVAL_S)


def _is_our_mistake(error: BaseException) -> bool:
    """A request MLflow refuses as invalid is a bug here, not an outage: it would fail again on every retry."""
    from mlflow.exceptions import MlflowException

    return isinstance(error, MlflowException) and error.error_code == "INVALID_PARAMETER_VALUE"


def parse_tags(pairs: list[str] | None) -> dict[str, str]:
    tags = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--tag expects KEY=VALUE, got {pair!r}")
        tags[key] = value
    return tags

