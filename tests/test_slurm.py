"""Cluster execution on a real SLURM scheduler (tests/slurm_cluster.py: munged, slurmctld, slurmd on loopback).

- The cancer-type study of the tiny e2e config (tests/e2e/config.yaml) runs through `profiles/slurm` and the
  snakemake slurm executor plugin, from the data stages to three training arms (TARGETS); the scheduler's record of
  each job shows what the profile asked for. tests/test_slurm_local.py checks it gives the local run's results (a
  file of its own, so that this worker does not wait for the local run while it checks the scheduler).
- A DDP training command launched by `srun` over two SLURM tasks picks up the allocation through Lightning's
  SLURM environment and trains like one process with the same global batch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_genolm, run_snakemake
from slurm_cluster import GPU_TYPE  # the slurm_cluster fixture comes from conftest.py (one per session)
from test_ddp import assert_same_training, finetune_command

pytestmark = pytest.mark.slow

PROFILE = REPO / "profiles" / "slurm" / "config.v8+.yaml"
SEED = 7  # the e2e config's first seed
# What the SLURM run's training jobs ask for: one GPU of the test node's type, 3 GB on the first attempt, 30 min.
COMPUTE = {"training_cpus": 1, "training_gpus": 1, "training_gpu_model": GPU_TYPE, "training_mem_mb": 3000,
           "training_runtime_min": 30}


def profile_without_conda(directory: Path) -> Path:
    """profiles/slurm as it is, less `software-deployment-method: conda`: the conda channels cannot be reached
    here, so the jobs run in this virtualenv, which sbatch passes on (--export=ALL) as a shared install would."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile.pop("software-deployment-method") == "conda"
    directory.mkdir(parents=True)
    (directory / PROFILE.name).write_text(yaml.safe_dump(profile))
    return directory


# The runs the SLURM test schedules: two HyenaDNA arms (GPU partition, each with its backbone pretrained for this
# replicate) and the k-mer baseline (CPU partition). The local end-to-end run has the same three (its first seed);
# tests/test_slurm_local.py compares them.
TARGETS = [f"results/cancer_type/runs/{experiment}/seed{SEED}/metrics.parquet"
           for experiment in ("1K-main", "32K-main", "kmer-LR")]


def run_through_slurm(cluster, workdir: Path, scratch: Path) -> Path:
    """The cancer-type study's TARGETS on the tiny e2e config through profiles/slurm on the test cluster: the
    scheduler path a lab takes, from the data stages to training (the conftest fixture slurm_e2e_run)."""
    profile = profile_without_conda(scratch / "profile" / "slurm")
    overrides = scratch / "compute.yaml"
    from genolm.config import study_schemas

    others = {name: {"enabled": False} for name in study_schemas() if name != "cancer_type"}
    overrides.write_text(yaml.safe_dump({"compute": COMPUTE, "studies": others, "seeds": [SEED]}))
    workdir.mkdir(parents=True, exist_ok=True)
    result = run_snakemake(
        workdir, "--profile", str(profile),
        # No accounting database on the test cluster: job states come from squeue, which keeps finished jobs for
        # MinJobAge (1 h); the first status check after 2 s instead of 40 keeps the test short.
        "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs", *TARGETS, env=cluster.env, overrides=overrides, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:] + cluster.logs()
    return workdir


def jobs_by_rule(cluster) -> dict[str, list[dict[str, str]]]:
    rules: dict[str, list[dict[str, str]]] = {}
    for job in cluster.jobs():
        rules.setdefault(job["Comment"].removeprefix("rule_").split("_wildcards_")[0], []).append(job)
    return rules


def test_each_job_got_what_the_profile_and_its_rule_asked_for(slurm_e2e_run, slurm_cluster):
    jobs = jobs_by_rule(slurm_cluster)
    # Downloads are local rules: they ran on the submit host, never through sbatch.
    assert "download" not in jobs and "cancer_type_select_cell_lines" in jobs
    assert all(job["JobState"] == "COMPLETED" for rule in jobs.values() for job in rule)
    # TARGETS: 3 experiments (2 HyenaDNA arms, the k-mer baseline) x 1 seed; 2 backbones pretrained for the replicate
    assert len(jobs["cancer_type_finetune"]) == 3 and len(jobs["cancer_type_pretrain"]) == 2

    # A GPU training job asks for what its spec needs (genolm.compute.job_resources): the partition of its resource
    # class, the spec's devices (1) of the configured type per node (--gres=gpu:testgpu:1), one task per GPU,
    # mem_mb of the first attempt, CPUs from `compute`, and a runtime planned from its FLOPs: the tiny e2e models'
    # training is seconds, so compute.startup_min (10 min) rounded up to the minute.
    # The k-mer baseline is a logistic regression: resource class cpu, its partition, no GPU.
    training = jobs["cancer_type_finetune"] + jobs["cancer_type_pretrain"]
    on_cpu = [job for job in training if job["Partition"] == "cpu"]
    assert len(on_cpu) == 1 and all("gpu" not in job.get("TresPerNode", "") for job in on_cpu)
    for job in training:
        if job in on_cpu:
            continue
        assert job["Partition"] == "gpu"
        assert job["TresPerNode"].replace("/", ":") == f"gres:gpu:{GPU_TYPE}:1"
        assert job["NumTasks"] == "1"
        assert job["MinMemoryNode"] == f"{COMPUTE['training_mem_mb']}M"
        assert job["TimeLimit"] in ("00:10:00", "00:11:00")
        assert job["NumCPUs"] == "1"
    # A CPU job: the default partition, memory and runtime from default-resources or its rule, no GPU.
    for job in jobs["cancer_type_select_cell_lines"]:
        assert job["Partition"] == "cpu" and "TresPerJob" not in job
        assert job["MinMemoryNode"] == "4000M" and job["TimeLimit"] == "01:00:00"
    assert jobs["cancer_type_mutate_windows"][0]["MinMemoryNode"] == "8000M"

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{slurm_e2e_run / 'results' / 'mlflow' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("genolm-e2e").experiment_id])
    slurm_ids = {job["JobId"] for rule in ("cancer_type_finetune", "cancer_type_pretrain") for job in jobs[rule]}
    tagged = {r.data.tags.get("slurm_job_id") for r in runs if r.data.tags["rule"] in ("cancer_type_finetune", "cancer_type_pretrain")}
    assert tagged == slurm_ids  # each training run records the SLURM job it ran in


def test_ddp_under_slurm_takes_its_processes_from_srun(slurm_cluster, tiny_shards, tmp_path):
    """Two SLURM tasks, one `srun` of the usual command with devices=2: Lightning's SLURM environment makes the two
    tasks the two DDP ranks (no processes of its own), and they train like one process with the global batch."""
    single = tmp_path / "single" / "job"
    run_genolm(*finetune_command(tiny_shards, single, single.parent / "results", batch_size=8, devices=1))

    multi = tmp_path / "srun" / "job"
    command = [sys.executable, "-m", "genolm", *finetune_command(tiny_shards, multi, multi.parent / "results",
                                                                    batch_size=4, devices=2)]
    script = tmp_path / "ddp.sh"
    script.write_text("#!/bin/bash\nexport PYTHONPATH=" + str(REPO / "src") + "\nexport CUDA_VISIBLE_DEVICES=\n"
                      "srun " + subprocess.list2cmdline(command) + "\n")
    job_id = slurm_cluster.run("sbatch", "--parsable", "--partition=cpu", "--nodes=1", "--ntasks-per-node=2",
                               "--cpus-per-task=1", "--mem=4000", "--time=10", f"--output={tmp_path / 'ddp.out'}",
                               str(script)).stdout.strip()
    slurm_cluster.wait(lambda: slurm_cluster.job(job_id)["JobState"] not in ("PENDING", "RUNNING", "COMPLETING"),
                       f"DDP job {job_id}", timeout=600)
    output = (tmp_path / "ddp.out").read_text()
    assert slurm_cluster.job(job_id)["JobState"] == "COMPLETED", output[-5000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in output
    assert_same_training(single, multi)
