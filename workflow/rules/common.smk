# Helpers shared by the rule files (config validation, paths, parameters); rules live in the stage files.

import functools
import json
import os
import shlex
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))

from genolm.config import (  # noqa: E402
    canonical_json, check_config_files, check_registry_names, check_semantics, validate_config)

CONFIG_SOURCE = ("config (" + (", ".join(map(str, workflow.overwrite_configfiles)) or "config.yaml")
                 + " and --config overrides)")
# Snakemake read the config files with a YAML reader that lets a key given twice win silently: genolm's refuses it.
check_config_files(workflow.overwrite_configfiles or [Path(workflow.basedir) / "config.yaml"])
# Validate and fill defaults before any job is planned: a misspelt key fails here, naming the key; so do values
# that cannot work (split fractions, chromosome names, release names).
validate_config(config, source=CONFIG_SOURCE)
# Tokenizer, model, preset and objective names against the registries: loading them takes seconds, so only the
# main process checks (not each job, which parses this file again).
if workflow.is_main_process:
    check_registry_names(config, source=CONFIG_SOURCE)


def prepared_reference_lengths(source):
    """Sequence lengths of the reference an earlier run prepared, when it is the one this configuration would use
    (None otherwise): the configuration's release of the source is downloaded (the download path names the
    release) and the prepared index is not older than that download, as Snakemake itself requires to keep it. A
    reference prepared from another release (a full-scale configuration run in a demo directory) is about to be
    replaced: its chromosomes must not be held against the new configuration."""
    fai = Path(config["resources_dir"]) / "reference" / source / "genome.fa.gz.fai"
    spec = config["sources"].get(source, {})
    release_dir = Path(config["resources_dir"]) / "downloads" / source / str(spec.get("release"))
    downloads = [release_dir / name for name in spec.get("files", {}) if (release_dir / name).is_file()]
    if not fai.is_file() or not downloads or max(d.stat().st_mtime for d in downloads) > fai.stat().st_mtime:
        return None
    return {line.split("\t")[0]: int(line.split("\t")[1]) for line in fai.read_text().splitlines() if line}


# Chromosomes and context lengths against the reference itself, once one has been prepared.
check_semantics(config, source=CONFIG_SOURCE, reference_lengths=prepared_reference_lengths)

RES = config["resources_dir"]
RESULTS = config["results_dir"]
SEED = config["seed"]  # data stages
SEEDS = config["seeds"]  # every training experiment runs once per seed

# What each study registers (workflow/rules/studies/*.smk), so that shared files never name a study:
FINAL_OUTPUTS = {}  # study -> files the default target and the study's own target (make <study>) ask for
METRIC_TABLES = {}  # study -> per-job metrics.parquet files; together they make up the results table
REPORT_TABLES = {}  # study -> {page: its .md or .tsv under results/tables/<study>/}, shown as <page>.html in the report
REFERENCE_FILES = {}  # source -> the file of that source that `prepare_reference` turns into genome.fa.gz
MUTATION_SETS = {}  # source -> {mutations, samples, format, reference_source, chromosomes, max_ref_mismatch_fraction}

# Rules run `python -m genolm <stage>`: the package is put on PYTHONPATH (inherited by every job, and set again
# when a cluster job re-reads this file) rather than installed into each conda env, so the envs stay plain
# dependency lists and a code change never needs an env rebuild.
os.environ.update(PYTHONPATH=str(SRC))  # set, not read: no envvars assertion needed


def source_file(source, name):
    """Where a downloaded file lands: the release is part of the path, so a new release never overwrites."""
    release = config["sources"][source]["release"]
    return f"{RES}/downloads/{source}/{release}/{name}"


def resolve_url(url):
    """Relative paths in the config are relative to the workflow directory (the repo's own demo mirror). Jobs run in
    the working directory, so they get the path relative to that: no rule parameter or input holds where the
    checkout or the run directory lies (a finished run copied elsewhere with its checkout plans nothing new), and
    for the usual run inside the checkout the path is the config's own value."""
    if "://" in url or Path(url).is_absolute():
        return url
    return os.path.relpath(Path(workflow.basedir).resolve() / url, Path.cwd())


def tracking_args(rule_name, pretrain_seed=SEED, **tags):
    """The MLflow options of a job, and its replicate's identity for the results table: the data split is drawn
    with `seed` (every data rule), and so is every pretraining the workflow runs; `pretrain_seed=None` where the
    job's model comes from no workflow pretraining (a released checkpoint)."""
    args = ["--results-dir", RESULTS, "--mlflow-experiment", config["tracking"]["experiment"], "--tag", f"rule={rule_name}",
            "--split-seed", str(SEED)]
    if pretrain_seed is not None:
        args += ["--pretrain-seed", str(pretrain_seed)]
    if config["tracking"]["mlflow_uri"]:
        args += ["--mlflow-uri", config["tracking"]["mlflow_uri"]]
    for key, value in tags.items():
        args += ["--tag", f"{key}={value}"]
    return shlex.join(args)


def training_gpu_resources():
    """`gpu` (and `gpu_model` when set) for training rules: the slurm plugin turns them into --gpus=[model:]N."""
    resources = {"gpu": config["compute"]["training_gpus"]}
    if config["compute"]["training_gpu_model"]:
        resources["gpu_model"] = config["compute"]["training_gpu_model"]
    return resources


@functools.cache  # each training rule of the study asks
def training_retries(study):
    """`retries` of a study's training rules on a GPU cluster: one attempt per allocation its longest job is planned
    to need beyond the first (genolm.compute; a job stopped by its allocation's warning signal fails with
    last.ckpt saved, and the next attempt resumes from it), plus `compute.failure_retries` for other failures.
    CPU training (the demo) is not planned in allocations: 0 leaves it the profile's `retries`. So does every
    process but the main one: the job's own Snakemake inside an allocation must not retry the job in it (a rule's
    retries override that process's --retries 0)."""
    import importlib

    from genolm.compute import job_resources, read_benchmark

    compute = config["compute"]
    if compute["training_gpus"] == 0 or not workflow.is_main_process:
        return 0
    table = compute["throughput_table"]
    benchmark = read_benchmark(None if table is None else Path(workflow.basedir) / table)
    jobs = importlib.import_module(f"genolm.studies.{study}.jobs").training_jobs(config, config["studies"][study])
    allocations = max((job_resources(job.spec, compute, architecture=job.architecture,
                                     benchmark=benchmark)["allocations"] for job in jobs), default=1)
    return allocations - 1 + compute["failure_retries"]


def training_mem_mb(base):
    """Memory that grows with each retry: a job killed for memory comes back with more."""
    return lambda wildcards, attempt: base * attempt


def final_outputs():
    """What `make demo` builds: every study's own target too, so `make <study>` afterwards has nothing to do."""
    return [*(f for study in FINAL_OUTPUTS for f in study_outputs(study)), *sources_outputs(),
            f"{RESULTS}/tables/metrics.parquet", f"{RESULTS}/tables/metrics.tsv", f"{RESULTS}/plots/metrics_summary.png"]


def study_tables(study):
    """The tables the report shows for a study (page name -> .md or .tsv): its registered ones and its slice of the
    results table (docs/outputs.md)."""
    return {**REPORT_TABLES.get(study, {}), "metrics": f"{RESULTS}/tables/{study}/metrics.tsv"}


def study_outputs(study):
    """What `make <study>` builds: the study's outputs, its own slice of the results table with its figure, and the
    HTML page of each of its tables for the report."""
    return [*FINAL_OUTPUTS.get(study, []), f"{RESULTS}/tables/{study}/metrics.tsv",
            f"{RESULTS}/plots/{study}/metrics_summary.png",
            *(f"{RESULTS}/tables/{study}/{page}.html" for page in study_tables(study))]


def compared_arms(comparisons):
    """The arms a study's pre-registered comparisons name, sorted."""
    return sorted({entry[key] for entry in comparisons for key in ("arm_a", "arm_b")})


def comparison_runs(comparisons, job_dir, pretrain_seed):
    """`genolm compare --run` arguments: one per compared arm and seed, the replicate being the seed (every data
    rule and pretraining uses the one config `seed`, so replicates differ in fine-tuning and labelled subset only).
    `job_dir(arm, seed)` is the arm's job directory, `pretrain_seed(arm)` its pretraining seed (None: none)."""
    args = []
    for arm in compared_arms(comparisons):
        pretrained = pretrain_seed(arm)
        for seed in SEEDS:
            args += ["--run", f"arm={arm},replicate=seed{seed},split_seed={SEED},"
                              f"pretrain_seed={'' if pretrained is None else pretrained},seed={seed},path={job_dir(arm, seed)}"]
    return shlex.join(args)


def comparison_inputs(comparisons, job_dir):
    """What a study's compare rule waits for: the metrics.parquet of each compared job (written with its
    predictions.parquet, which not every training rule declares)."""
    return [f"{job_dir(arm, seed)}/metrics.parquet" for arm in compared_arms(comparisons) for seed in SEEDS]


def comparison_outputs(study):
    """The comparisons table (TSV, Markdown) and forest plot of a study that declares comparisons."""
    return [f"{RESULTS}/tables/{study}/comparisons.tsv", f"{RESULTS}/tables/{study}/comparisons.md",
            f"{RESULTS}/plots/{study}/comparisons.png"]


def zip_limit_args():
    """The config's `archives` limits for the commands that unpack zip files."""
    limits = config["archives"]
    return shlex.join(["--zip-max-bytes", str(limits["max_total_bytes"]), "--zip-max-ratio",
                       str(limits["max_ratio"]), "--zip-max-members", str(limits["max_members"])])


def split_arg(split):
    """`--split` value in one order whatever the config's key order (train, val, test, then any other name
    sorted): the order decides ties in the split sizes, so it must not depend on how the YAML was written."""
    usual = ["train", "val", "test"]
    names = [n for n in usual if n in split] + sorted(n for n in split if n not in usual)
    return shlex.join(f"{name}={split[name]}" for name in names)


def chromosome_arg(chromosomes):
    """`--chromosomes` value: a keyword (autosomes, all) or a list."""
    return shlex.quote(chromosomes if isinstance(chromosomes, str) else ",".join(chromosomes))


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


# --- Multi-species sources (sources.smk) ---


DATASETS = config["datasets"]


def listed_manifest(source):
    """The manifest `genolm download-listed` writes for a source read through its release directory's listing."""
    return f"{RES}/downloads/{source}/{config['sources'][source]['release']}/listed/files.tsv"


def listing_params(wildcards):
    spec = config["sources"][wildcards.source]["listing"]
    args = ["--listing", resolve_url(spec["url"]), "--pattern", spec["pattern"]]
    if "checksum_listing" in spec:
        args += ["--checksum-listing", resolve_url(spec["checksum_listing"])]
    return shlex.join(args)


def refseq_manifest():
    source = DATASETS["refseq"]["source"]
    return f"{RES}/downloads/{source}/{config['sources'][source]['release']}/assemblies/files.tsv"


def refseq_selection_params():
    """The selection's options, sorted: accessions, organisms, levels and mirrors are sets to the selection (it
    keeps the summary's row order, a mirror is chosen by its longest prefix), so the config's order is no
    reason to rerun it."""
    spec = DATASETS["refseq"]
    args = ["--per-organism", str(spec["per_organism"])]
    for key in ("accessions", "organisms", "assembly_levels"):
        if spec[key]:
            args += [f"--{key.replace('_', '-')}", *sorted(spec[key])]
    for prefix, replacement in sorted(spec["mirrors"].items()):
        # resolve_url drops a trailing slash, which the prefix replacement needs to keep
        resolved = resolve_url(replacement)
        if replacement.endswith(os.sep) and not resolved.endswith(os.sep):
            resolved += os.sep
        args += ["--mirror", f"{prefix}={resolved}"]
    return shlex.join(args)


def mito_inputs():
    spec = DATASETS["mito"]
    inputs = {"genomes": [], "annotations": []}
    if spec["ncbi_source"]:
        inputs["ncbi"] = listed_manifest(spec["ncbi_source"])
    if spec["mitofish_source"]:
        inputs["genomes"] = [source_file(spec["mitofish_source"], f) for f in spec["mitofish_genomes"]]
        inputs["annotations"] = [source_file(spec["mitofish_source"], f) for f in spec["mitofish_annotations"]]
    return inputs


def viral_inputs():
    spec = DATASETS["viral"]
    inputs = {"manifest": listed_manifest(spec["genomes_source"])}
    if spec["hosts_source"]:
        inputs["hosts"] = source_file(spec["hosts_source"], spec["hosts_file"])
    return inputs


def benchmark_inputs(wildcards):
    spec = DATASETS["benchmarks"][wildcards.task]
    inputs = {"archive": source_file(spec["source"], spec["file"])}
    if spec["reference_source"]:
        inputs["reference"] = f"{RES}/reference/{spec['reference_source']}/genome.fa.gz"
    for number, name in enumerate(sorted(spec["references"])):
        inputs[f"class_reference_{number}"] = benchmark_reference_path(spec["references"][name])
    return inputs


def benchmark_reference_path(mapped):
    """A class reference of a Genomic Benchmarks dataset: a prepared genome, or the transcript FASTA itself."""
    if mapped["kind"] == "genome":
        return f"{RES}/reference/{mapped['source']}/genome.fa.gz"
    return source_file(mapped["source"], mapped["file"])


def benchmark_reference_args(wildcards):
    """`--reference-for FILE=PATH` / `--transcripts-for FILE=PATH` for every mapped class reference."""
    spec = DATASETS["benchmarks"][wildcards.task]
    args = []
    for name, mapped in sorted(spec["references"].items()):
        option = "--reference-for" if mapped["kind"] == "genome" else "--transcripts-for"
        args += [option, f"{name}={benchmark_reference_path(mapped)}"]
    return shlex.join(args)


def register_benchmark_references():
    """Genome class references are prepared like any reference: tell `prepare_reference` which file to read."""
    for task, spec in DATASETS.get("benchmarks", {}).items():
        for mapped in spec["references"].values():
            if mapped["kind"] != "genome":
                continue
            known = REFERENCE_FILES.setdefault(mapped["source"], mapped["file"])
            if known != mapped["file"]:
                raise ValueError(f"datasets.benchmarks.{task}.references: source {mapped['source']!r} is already "
                                 f"prepared from {known!r}, not {mapped['file']!r}")


def sources_outputs():
    """The normalized artifact of every configured dataset (`rule all` asks for them)."""
    outputs = []
    if "refseq" in DATASETS:
        outputs.append(f"{RES}/refseq/assemblies.parquet")
    if "mito" in DATASETS:
        outputs.append(f"{RES}/mito/12s.parquet")
    if "viral" in DATASETS:
        outputs += [f"{RES}/viral/genomes.parquet", f"{RES}/viral/labels.parquet"]
    outputs += [f"{RES}/benchmarks/{task}.parquet" for task in DATASETS.get("benchmarks", {})]
    return outputs
