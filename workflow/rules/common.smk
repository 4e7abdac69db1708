# Helpers shared by every rule file: config validation, paths, the genolm command line.

import json
import shlex
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))

from genolm.config import validate_config  # noqa: E402

# Validate and fill defaults before any job is planned: a misspelt key fails here, naming the key.
validate_config(config, source="config (config.yaml and --config overrides)")

RES = config["resources_dir"]
RESULTS = config["results_dir"]
SEED = config["seed"]
STUDY = config["studies"].get("cancer_type", {})

# The package is put on PYTHONPATH rather than installed into each conda env, so the envs stay plain
# dependency lists and a code change never needs an env rebuild.
GENOLM = f"PYTHONPATH={shlex.quote(str(SRC))}${{PYTHONPATH:+:$PYTHONPATH}} python -m genolm"


wildcard_constraints:
    source=r"[^/]+",
    release=r"[^/]+",
    file=r"[^/]+",
    experiment=r"[^/]+",
    backbone=r"[^/]+",
    length=r"\d+",


def source_file(source, name):
    """Where a downloaded file lands: the release is part of the path, so a new release never overwrites."""
    release = config["sources"][source]["release"]
    return f"{RES}/downloads/{source}/{release}/{name}"


def resolve_url(url):
    """Relative paths in the config are relative to the workflow directory (the repo's own demo mirror)."""
    if "://" in url or Path(url).is_absolute():
        return url
    return str(Path(workflow.basedir) / url)


def tracking_args(rule_name, **tags):
    args = ["--results-dir", RESULTS, "--mlflow-experiment", config["tracking"]["experiment"], "--tag", f"rule={rule_name}"]
    if config["tracking"]["mlflow_uri"]:
        args += ["--mlflow-uri", config["tracking"]["mlflow_uri"]]
    for key, value in tags.items():
        args += ["--tag", f"{key}={value}"]
    return shlex.join(args)


def training_gpus():
    return config["compute"]["training_gpus"]


def training_mem_mb(base):
    """Memory that grows with each retry: a job killed for memory comes back with more."""
    return lambda wildcards, attempt: base * attempt


def final_outputs():
    outputs = []
    if STUDY.get("enabled", False):
        outputs += cancer_type_outputs()
    outputs += [f"{RESULTS}/tables/metrics.parquet", f"{RESULTS}/tables/metrics.tsv", f"{RESULTS}/plots/metrics_summary.png"]
    return outputs
