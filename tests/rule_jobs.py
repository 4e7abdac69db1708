"""Every job a configuration plans, with what Snakemake records of it: rule, outputs, the parameters it compares
to decide a rerun (`--rerun-triggers params`), the input files, the shell command, the threads and the resources
(a profile's `default-resources` applied when one is given).

    python tests/rule_jobs.py SNAKEFILE WORKDIR CONFIGFILE OUT.json [PROFILE.yaml]

Runs in its own process (Snakemake changes the working directory and keeps global state): the workflow is parsed
and its whole DAG built (`forceall`, so a finished directory plans every job too), nothing is run. Tests call
`planned_jobs()`. Also the rule declarations: each rule's shell template.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _dump(snakefile: Path, workdir: Path, configfile: Path, out: Path, profile: Path | None = None) -> None:
    import yaml
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    # A cluster job gets the threads its rule declares; one local core would cap them at 1.
    defaults, cores = None, 1
    if profile is not None:
        cores = 1024
        defaults = yaml.safe_load(profile.read_text()).get("default-resources", {})
    with SnakemakeApi(OutputSettings(quiet=set())) as api:
        workflow_api = api.workflow(
            snakefile=snakefile, workdir=workdir, resource_settings=ResourceSettings(cores=cores, default_resources=defaults),
            config_settings=ConfigSettings(configfiles=[configfile]))
        workflow_api.dag(DAGSettings(forceall=True))  # sets the workflow's DAG settings
        workflow = workflow_api._workflow
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        jobs = []
        for job in workflow.dag.jobs:
            jobs.append({
                "rule": job.rule.name,
                "output": sorted(map(str, job.output)),
                # exactly what the params rerun trigger compares (snakemake.persistence)
                "params": workflow.persistence._params(job),
                "input": sorted(map(str, job.input)),
                "log": sorted(map(str, job.log)),
                "shell": job.shellcmd,
                "threads": job.threads,
                "resources": {key: value for key, value in job.resources.items() if not key.startswith("_")
                              and isinstance(value, (int, str))},
            })
        rules = {rule.name: {"shell": rule.shellcmd, "log": bool(rule.log)} for rule in workflow.rules}
    out.write_text(json.dumps({"jobs": sorted(jobs, key=lambda j: (j["rule"], j["output"])), "rules": rules}))


def planned_jobs(configfile: Path, workdir: Path, snakefile: Path = REPO / "Snakefile",
                 python: str = sys.executable, timeout: int = 600, profile: Path | None = None) -> dict:
    """{"jobs": the jobs `configfile` plans in `workdir` (see the module docstring), "rules": every rule's
    shell command template and whether it declares a log}. `profile`: a Snakemake profile file whose
    default-resources the jobs get (profiles/slurm/config.v8+.yaml)."""
    out = workdir / ".planned_jobs.json"
    result = subprocess.run([python, str(Path(__file__).resolve()), str(snakefile), str(workdir), str(configfile),
                             str(out), *([str(profile)] if profile else [])],
                            capture_output=True, text=True, timeout=timeout, cwd=workdir)
    if result.returncode != 0:
        raise AssertionError(f"planning {configfile} failed:\n{(result.stdout + result.stderr)[-4000:]}")
    planned = json.loads(out.read_text())
    out.unlink()
    return planned


if __name__ == "__main__":
    _dump(*(Path(a).absolute() for a in sys.argv[1:6]))
