# Helpers shared by the rule files (config validation, paths, parameters); rules live in the stage files.

import json
import os
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

# Rules run `python -m genolm <stage>`: the package is put on PYTHONPATH (inherited by every job, and set again
# when a cluster job re-reads this file) rather than installed into each conda env, so the envs stay plain
# dependency lists and a code change never needs an env rebuild.
os.environ.update(PYTHONPATH=str(SRC))  # set, not read: no envvars assertion needed


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


# --- Downloads (download.smk) ---


def download_params(wildcards):
    spec = config["sources"][wildcards.source]["files"][wildcards.file]
    args = ["--url", resolve_url(spec["url"])]
    if "md5" in spec:
        args += ["--md5", spec["md5"]]
    elif "sha256" in spec:
        args += ["--sha256", spec["sha256"]]
    elif "checksum_listing" in spec:
        args += ["--checksum-listing", resolve_url(spec["checksum_listing"])]
        if "listing_name" in spec:
            args += ["--listing-name", spec["listing_name"]]
    if "expect" in spec:
        args += ["--expect", spec["expect"]]
    return shlex.join(args)


# --- Study 1: cancer-type classification (cancer_type.smk) ---


CT = f"{RESULTS}/cancer_type"


def ct_reference():
    return f"{RES}/reference/{STUDY['reference_source']}/genome.fa"


def ct_mutations():
    return f"{RES}/{STUDY['mutations_source']}/mutations.parquet"


def ct_samples():
    return f"{RES}/{STUDY['mutations_source']}/samples.parquet"


def experiment(wildcards):
    return STUDY["experiments"][wildcards.experiment]


def backbone_spec(name):
    return STUDY["backbones"][name]


def backbone_weights(wildcards):
    """The pretrained backbone an experiment starts from: a released checkpoint, or the workflow's own pretraining."""
    exp = experiment(wildcards)
    if exp["init"] == "random":
        return []
    spec = backbone_spec(exp["backbone"])
    if spec["checkpoint"]:
        return [resolve_url(spec["checkpoint"])]
    return [f"{CT}/pretrain/{exp['backbone']}/model/weights.ckpt"]


def finetune_args(wildcards):
    exp = experiment(wildcards)
    spec = backbone_spec(exp["backbone"])
    args = ["--init", exp["init"], "--context-length", str(exp["context_length"]), "--shift", str(spec["shift"])]
    if exp["init"] == "random":
        args += ["--preset", spec["preset"], "--overrides", json.dumps(spec["overrides"]),
                 "--backbone-context", str(spec["context_length"])]
    else:
        args += ["--backbone", str(Path(backbone_weights(wildcards)[0]).parent)]
    args += ["--training", json.dumps(exp["training"]), "--label-names", *STUDY["lineages"]]
    args += ["--study", "cancer_type", "--task", "cancer_type_classification", "--experiment", wildcards.experiment,
             "--model-name", f"hyenadna-{spec['preset']}"]
    return shlex.join(args)


def context_lengths():
    return sorted({e["context_length"] for e in STUDY["experiments"].values()})


def umap_experiments():
    chosen = STUDY["umap"]["experiments"]
    return list(STUDY["experiments"]) if chosen is None else chosen


def cancer_type_outputs():
    outputs = [f"{CT}/runs/{name}/metrics.parquet" for name in STUDY["experiments"]]
    for name in umap_experiments():
        outputs += [f"{RESULTS}/plots/cancer_type/{name}/umap_{c}.png" for c in ("chromosome", "position_bin", "cancer_type")]
    return outputs


# --- Results table (results.smk) ---


def metric_inputs():
    inputs = []
    if STUDY.get("enabled", False):
        inputs += [f"{CT}/runs/{name}/metrics.parquet" for name in STUDY["experiments"]]
        inputs += [f"{CT}/runs/{name}/umap/metrics.parquet" for name in umap_experiments()]
        inputs += [
            f"{CT}/pretrain/{name}/metrics.parquet"
            for name, spec in STUDY["backbones"].items()
            if not spec["checkpoint"]
            and any(e["backbone"] == name and e["init"] != "random" for e in STUDY["experiments"].values())
        ]
    return inputs
