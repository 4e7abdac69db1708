"""The SLURM run gives the local run's results (tests/test_slurm.py schedules the cancer-type study's TARGETS
through profiles/slurm on the real test cluster; the shared local end-to-end run has the same jobs). A file of its
own: the worker that ran the scheduler does not wait here for the local run, and by the time this file is handed out
both runs are usually done."""

from __future__ import annotations

import filecmp
from pathlib import Path

import polars as pl
import pytest

from test_slurm import SEED, TARGETS

pytestmark = pytest.mark.slow


def comparable(table: pl.DataFrame) -> pl.DataFrame:
    return table.drop("mlflow_run_id").sort(["experiment", "seed", "split", "checkpoint", "metric"])


def test_the_slurm_run_gives_the_local_results(slurm_e2e_run, e2e_local_run):
    for target in TARGETS:
        slurm, local = (comparable(pl.read_parquet(run / target)) for run in (slurm_e2e_run, e2e_local_run))
        assert (slurm["seed"] == SEED).all() and len(slurm)
        # Every stage is seeded and runs with the same threads (1) in both runs, so the values are equal, training
        # metrics included.
        assert slurm.equals(local), (target, pl.concat([slurm.with_columns(run=pl.lit("slurm")),
                                                        local.with_columns(run=pl.lit("local"))]))

    # The data stages' outputs are byte for byte the same.
    files = data_stage_files(slurm_e2e_run)
    assert set(files) <= set(data_stage_files(e2e_local_run)) and len(files) > 10
    different = [f for f in files if not filecmp.cmp(e2e_local_run / f, slurm_e2e_run / f, shallow=False)]
    assert not different


def data_stage_files(workdir: Path) -> list[Path]:
    """Normalized inputs, selections, window shards and QC tables (not logs, nor download provenance with its
    timestamps)."""
    files = [p for p in (workdir / "resources").rglob("*")
             if "logs" not in p.parts and not p.name.endswith(".provenance.json")]
    for stage in ("selection", "shards", "qc"):
        files += (workdir / "results" / "cancer_type" / stage).rglob("*")
    return sorted(p.relative_to(workdir) for p in files if p.is_file())
