"""Resume identity: a job directory's checkpoints and MLflow run are resumed only by the job they belong to."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from genolm.datasets.shards import MANIFEST_NAME
from genolm.training.tracking import RUN_ID_FILE

log = logging.getLogger(__name__)

JOB_RECORD = "job.json"


def _fingerprint(path: Path) -> list:
    """What identifies an input's version cheaply: a shard set by its manifest (written last), any other file or
    directory (a backbone checkpoint) by each file's size and modification time."""
    path = Path(path)
    if (path / MANIFEST_NAME).is_file():
        return [MANIFEST_NAME, hashlib.sha256((path / MANIFEST_NAME).read_bytes()).hexdigest()]
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [[p.name if p == path else str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def discard_stale_state(job_dir: Path, spec: dict, *, seed: int, inputs: list[Path]) -> None:
    """Keep `job_dir`'s checkpoints and MLflow run only if they belong to this job: the same spec, seed and inputs
    (shards, backbone checkpoint).

    Resuming is for a restarted job (a preempted or killed one). A job rerun after its spec or inputs changed
    (Snakemake reruns a rule whose params or inputs changed: an edited config, a backbone pretrained again) would
    otherwise resume another job's state: a different architecture fails to load, and the same architecture
    silently continues, or at its last step simply re-evaluates, the old model. Such state is removed and the job
    starts over under a new MLflow run. The record is written before any checkpoint, so a job killed at any point
    resumes."""
    identity = {"spec": spec, "seed": seed, "inputs": [_fingerprint(p) for p in inputs]}
    checkpoints, run_id = Path(job_dir) / "checkpoints", Path(job_dir) / RUN_ID_FILE
    record = checkpoints / JOB_RECORD
    if checkpoints.exists() or run_id.exists():
        try:
            recorded = json.loads(record.read_text())
        except (OSError, json.JSONDecodeError):
            recorded = None
        if recorded != json.loads(json.dumps(identity)):
            log.warning("%s holds the state of another job (its spec, seed or inputs differ): starting over", job_dir)
            shutil.rmtree(checkpoints, ignore_errors=True)
            run_id.unlink(missing_ok=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(identity, sort_keys=True))  # working state, like the checkpoints: not staged


def job_inputs(spec: dict, shards: Path) -> list[Path]:
    """The inputs whose versions a job's state belongs to: the shards and a backbone checkpoint."""
    checkpoint = spec["model"].get("checkpoint")
    return [Path(shards)] + ([Path(checkpoint)] if checkpoint else [])
