"""Training that outlives its walltime (issue #28.2), on the real SLURM test cluster (tests/slurm_cluster.py).
`make test-walltime` runs it (about 6 minutes); `make test` leaves it out (the marker `walltime`).

A pretraining job whose steps take longer than its 3-minute allocation runs through `profiles/slurm` and the
snakemake slurm executor plugin: SLURM sends SIGTERM shortly before each allocation's limit (`--signal=TERM@<s>`,
compute.walltime_signal_s: the training rule's slurm_extra), `genolm train` saves checkpoints/last.ckpt at the next step boundary and fails the job,
Snakemake resubmits it (the rule's retries come from the job's planned allocations, workflow/rules/common.smk) and
the next allocation resumes from last.ckpt. The job that needed several allocations ends with the weights
and metrics of the same job run uninterrupted (bit for bit: one CPU thread, seeded, the resumable loader and the
restored random state of genolm.training.checkpoints).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from safetensors.torch import load_file

from conftest import E2E_CONFIG, REPO, run_snakemake
from slurm_cluster import GPU_TYPE  # the slurm_cluster fixture: conftest.py
from test_slurm import jobs_by_rule, profile_without_conda

# Not in `make test`: how many allocations the job uses, and whether a signal lands before training starts (that
# allocation is lost), depend on this machine's speed and load; run it alone with `make test-walltime`.
pytestmark = [pytest.mark.slow, pytest.mark.walltime]

SEED = 7  # the one replicate: its own pretraining seed
JOB = f"results/cancer_type/pretrain/tiny-1k/seed{SEED}"
TARGET = f"{JOB}/model/model.safetensors"
# About 250 s of steps here (1,500 took 8.3 s on 2026-12-08, 80 to 150 s before the CPU speed-ups): more than one
# allocation holds.
STEPS = 45000
RUNTIME_MIN = 3  # each allocation's limit
# SLURM checks limits every 30 s: the signal comes 30 to 60 s before the limit, 120 to 150 s after the job's start,
# of which Snakemake's start inside the job and genolm's take 40 to 80 s on a loaded machine (a signal before
# training starts stops the job with nothing saved: that allocation is lost, the plan's spare ones cover it).
SIGNAL_LEAD_S = 30  # compute.walltime_signal_s: a 3-minute allocation cannot give the default 5-minute lead
PLANNED_MINUTES = 22  # the throughput stated below plans the job at 22 min: 8 allocations of 3 minutes


def overrides(path: Path, compute: dict) -> Path:
    from genolm.config import study_schemas

    others = {name: {"enabled": False} for name in study_schemas() if name != "cancer_type"}
    training = {"max_steps": STEPS, "val_every_n_steps": STEPS, "checkpoint_every_n_steps": STEPS}
    path.write_text(yaml.safe_dump({
        "seeds": [SEED], "compute": compute,
        "studies": {**others, "cancer_type": {"replicate": {"split": True, "pretraining": True},
                                              "backbones": {"tiny-1k": {"pretraining": {"training": training}}}}},
    }))
    return path


def planned_compute(workdir: Path) -> dict:
    """A GPU cluster of 3-minute allocations whose stated throughput is a low estimate of this CPU's for the job
    (0.015 GFLOP/s, a tenth of what it sustains here: Python's overhead dominates a model this small), so that
    the plan gives the job 8 allocations (rule retries 7)."""
    from genolm.commands.plan_compute import merge_configs, training_jobs
    from genolm.compute import job_cost
    from genolm.config import validate_config

    base = {"training_gpus": 1, "training_gpu_model": GPU_TYPE, "training_cpus": 1, "training_mem_mb": 2000,
            "training_runtime_min": RUNTIME_MIN, "allocation_hours": RUNTIME_MIN / 60, "max_allocations": 10,
            "failure_retries": 0, "walltime_signal_s": SIGNAL_LEAD_S,
            "throughput_table": None, "startup_min": 0, "runtime_margin": 1, "gpu_utilization": 1}
    config = validate_config(merge_configs([E2E_CONFIG, overrides(workdir / "probe.yaml", base)]), source="test")
    [job] = [job for job in training_jobs(config) if job.name == f"pretrain/tiny-1k/seed{SEED}"]
    return {**base, "gpu_peak_tflops": job_cost(job).flops / (PLANNED_MINUTES * 60) / 1e12}


def test_training_longer_than_its_allocation_resumes_in_the_next_to_the_uninterrupted_result(slurm_cluster, tmp_path):
    workdir, reference = tmp_path / "slurm", tmp_path / "uninterrupted"
    workdir.mkdir()
    config = overrides(tmp_path / "walltime.yaml", planned_compute(tmp_path))
    # The data stages run here first, once: both runs train on the same shards.
    prepared = run_snakemake(workdir, "--profile", str(REPO / "profiles" / "local"), "--cores", "2",
                             f"results/cancer_type/shards/pretrain_tiny-1k_seed{SEED}", overrides=config, timeout=600)
    assert prepared.returncode == 0, prepared.stderr[-4000:]
    shutil.copytree(workdir, reference, symlinks=True)

    # The uninterrupted run goes alongside the SLURM run (the test's longest part is waiting for the scheduler).
    local = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(reference),
         "--configfile", str(E2E_CONFIG), str(config), "--profile", str(REPO / "profiles" / "local"), "--cores", "1",
         TARGET], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**slurm_cluster.env, "PATH": f"{Path(sys.executable).parent}:{slurm_cluster.env['PATH']}"})

    profile = profile_without_conda(tmp_path / "profile" / "slurm")
    result = run_snakemake(workdir, "--profile", str(profile), "--slurm-status-command", "squeue",
                           "--slurm-init-seconds-before-status-checks", "2", TARGET, env=slurm_cluster.env,
                           overrides=config, timeout=1200)
    local_output = local.communicate(timeout=900)[0]
    assert local.returncode == 0, local_output[-4000:]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:] + slurm_cluster.logs()

    # Every allocation but the last was stopped by its signal (the job failed with the state saved); the last one
    # completed. None ran into its limit.
    allocations = sorted((job for job in jobs_by_rule(slurm_cluster)["cancer_type_pretrain"] if job["WorkDir"] == str(workdir)),
                         key=lambda job: int(job["JobId"]))
    states = [job["JobState"] for job in allocations]
    assert len(allocations) >= 2 and states == ["FAILED"] * (len(allocations) - 1) + ["COMPLETED"], states
    assert all(job["TimeLimit"] == f"00:0{RUNTIME_MIN}:00" for job in allocations)
    assert "resuming from" in (workdir / f"results/cancer_type/logs/pretrain_tiny-1k_seed{SEED}.log").read_text()

    # The result is the uninterrupted run's, bit for bit.
    interrupted, uninterrupted = (load_file(run / TARGET) for run in (workdir, reference))
    assert interrupted.keys() == uninterrupted.keys()
    assert all(interrupted[name].equal(uninterrupted[name]) for name in interrupted)
    # Evaluation metrics too. The final train loss is left out: an allocation that starts with the steps all done
    # (the previous one was stopped while evaluating) has no training step to report it from.
    metrics = [pl.read_parquet(run / JOB / "metrics.parquet").drop("mlflow_run_id").filter(pl.col("split") != "train")
               for run in (workdir, reference)]
    assert metrics[0].height > 0 and metrics[0].equals(metrics[1])
