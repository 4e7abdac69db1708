# Helpers shared by the rule files (config validation, paths, parameters); rules live in the stage files.

import functools
import importlib
import json
import os
import re
import shlex
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))

from genolm.config import (  # noqa: E402
    canonical_json, check_config_files, check_semantics, study_block, validate_config)
from genolm.replicates import pretrain_seeds, replicate_seeds, split_seeds  # noqa: E402

CONFIG_SOURCE = ("config (" + (", ".join(map(str, workflow.overwrite_configfiles)) or "config.yaml")
                 + " and --config overrides)")
# Snakemake read the config files with a YAML reader that lets a key given twice win silently: genolm's refuses it.
check_config_files(workflow.overwrite_configfiles or [Path(workflow.basedir) / "config.yaml"])
# Validate and fill defaults before any job is planned: a misspelt key fails here, naming the key; so do values
# that cannot work (split fractions, chromosome names, release names) and unknown tokenizer, model, preset and
# objective names (checked against genolm.registry_names, which imports no model).
validate_config(config, source=CONFIG_SOURCE)


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
SEED = config["seed"]  # what a study's replicates share (its `replicate` block: a fixed split, one pretraining)
SEEDS = config["seeds"]  # the replicates: each a whole chain (genolm.replicates), its results under seed<N>/

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


# --- Study namespaces (the Snakefile's loop over workflow/rules/studies/*.smk) ---
#
# Every study's rule files share one Python namespace and one set of rule names with every other study's. A study
# that assigned a global another study reads lazily (in a lambda evaluated when the DAG is built), or a rule name
# another study uses, would change that study's plan; so each study's names start with the study's name or the short
# prefix its package declares (`WORKFLOW_PREFIX` in src/genolm/studies/<study>/__init__.py, e.g. `ct`: `CT`,
# `CT_STUDY`, `ct_reference`), and a study rebinds no name that existed before its rule file was included.

STUDY_PREFIXES = {}  # study -> its WORKFLOW_PREFIX, filled as the study rule files are included
_NAMESPACE_BEFORE = []  # [(globals, rule names)] as they were before the study rule file being included


def study_registries():
    """The registries keyed by study (a study writes its own entry only) and the training rules' (keyed by rule)."""
    return {"FINAL_OUTPUTS": FINAL_OUTPUTS, "METRIC_TABLES": METRIC_TABLES, "REPORT_TABLES": REPORT_TABLES,
            "TRAINING_RULES": TRAINING_RULES}


def remember_namespace():
    """Record the workflow's global names, rule names and registry entries before a study's rule file is included."""
    _NAMESPACE_BEFORE[:] = [(dict(globals()), {rule.name for rule in workflow.rules},
                             {name: dict(registry) for name, registry in study_registries().items()})]


def study_prefixes(study):
    """The prefixes a study's global and rule names may start with: its name, and its package's WORKFLOW_PREFIX."""
    package = importlib.import_module(f"genolm.studies.{study}")
    prefix = getattr(package, "WORKFLOW_PREFIX", None)
    if not isinstance(prefix, str) or not re.fullmatch(r"[a-z][a-z0-9]*", prefix):
        raise ValueError(f"src/genolm/studies/{study}/__init__.py: set WORKFLOW_PREFIX to the short lowercase "
                         f"prefix of the study's names in workflow/rules/studies/{study}.smk (e.g. 'ct'); got {prefix!r}")
    return study, prefix


def in_namespace(name, prefixes):
    lowered = name.lower()
    return any(lowered == p or lowered.startswith(p + "_") for p in prefixes)


def check_study_namespace(study):
    """After workflow/rules/studies/<study>.smk: every global name and rule it added starts with one of the study's
    prefixes, it rebound no existing name, and no other study has claimed its prefix."""
    rule_file = f"workflow/rules/studies/{study}.smk"
    names_before, rules_before, registries_before = _NAMESPACE_BEFORE[0]
    prefixes = study_prefixes(study)
    for other, prefix in STUDY_PREFIXES.items():
        for mine in prefixes:
            if mine == prefix or mine.startswith(prefix + "_") or prefix.startswith(mine + "_") or mine == other:
                raise ValueError(f"{rule_file}: prefix {mine!r} collides with study {other!r} (prefix {prefix!r})")
    STUDY_PREFIXES[study] = prefixes[1]
    now = globals()
    # Snakemake's own: the loop variable, each rule's functions (__<rule>, __rule_<rule>: the rule is checked
    # below) and `use rule`'s decorator (__userule_<module>_<rule>, one per base rule)
    rule_names = {rule.name for rule in workflow.rules}
    internal = {n for n in now if n == "study_rules" or n.startswith("__userule_")
                or n.removeprefix("__rule_") in rule_names or n.removeprefix("__") in rule_names}
    rebound = sorted(n for n in names_before if n in now and now[n] is not names_before[n] and n not in internal)
    added = sorted(n for n in now if n not in names_before and n not in internal and not in_namespace(n, prefixes))
    rules = sorted(r.name for r in workflow.rules if r.name not in rules_before and not in_namespace(r.name, prefixes))
    # registry entries it wrote: its own study's, or (TRAINING_RULES) its own rules'
    foreign = sorted(f"{name}[{key!r}]" for name, registry in study_registries().items() for key, value in registry.items()
                     if (key not in registries_before[name] or registries_before[name][key] is not value)
                     and not (key == study if name != "TRAINING_RULES" else in_namespace(key, prefixes)))
    problems = ([f"rebinds the existing global(s) {', '.join(rebound)}"] if rebound else []) + (
        [f"defines global(s) {', '.join(added)}"] if added else []) + ([f"defines rule(s) {', '.join(rules)}"] if rules else []) + (
        [f"writes {', '.join(foreign)}"] if foreign else [])
    if problems:
        raise ValueError(f"{rule_file}: {'; '.join(problems)}: a study's names start with {prefixes[0]!r} or "
                         f"{prefixes[1]!r} (its WORKFLOW_PREFIX), so that no study changes another's plan "
                         f"(docs/architecture.md, how to add a study)")


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


def tracking_args(rule_name, pretrain_seed=SEED, split_seed=SEED, **tags):
    """The MLflow options of a job, and its replicate's identity for the results table: the data split it was drawn
    with (`split_seed`: the replicate's, or the shared `seed` where the study fixes its split: genolm.replicates) and
    the pretraining its model comes from (`pretrain_seed=None` where the job's model comes from no pretraining the
    workflow knows the seed of: random init, a baseline, a released checkpoint)."""
    args = ["--results-dir", RESULTS, "--mlflow-experiment", config["tracking"]["experiment"], "--tag", f"rule={rule_name}",
            "--split-seed", str(split_seed)]
    if pretrain_seed is not None:
        args += ["--pretrain-seed", str(pretrain_seed)]
    if config["tracking"]["mlflow_uri"]:
        args += ["--mlflow-uri", config["tracking"]["mlflow_uri"]]
    for key, value in tags.items():
        args += ["--tag", f"{key}={value}"]
    return shlex.join(args)


# --- Training jobs (the one training rule, training.smk) ---

from genolm.compute import RESOURCE_KEYS, job_resources, read_benchmark  # noqa: E402

TRAINING_RULES = {}  # training rule -> (study, function(wildcards) -> the job's name among the study's training jobs)


def register_training_rule(rule_name, study, job_name):
    """Tell the training template how a rule's wildcards name its job in the study's `training_jobs`
    (src/genolm/studies/<study>/jobs.py: the job's directory under results/<study>/), which holds the spec and
    the architecture its resources are planned from."""
    TRAINING_RULES[rule_name] = (study, job_name)


_STUDY_TRAINING_JOBS = {}


def study_training_jobs(study):
    """{job name: genolm.compute.TrainingJob} of a study, as `genolm plan-compute` plans them (built once)."""
    if study not in _STUDY_TRAINING_JOBS:
        jobs_module = importlib.import_module(f"genolm.studies.{study}.jobs")
        _STUDY_TRAINING_JOBS[study] = {job.name: job for job in jobs_module.training_jobs(config, study_block(config, study))}
    return _STUDY_TRAINING_JOBS[study]


def training_job(rulename, wildcards):
    """The TrainingJob a training rule's job runs, found through register_training_rule."""
    if rulename not in TRAINING_RULES:
        raise ValueError(f"rule {rulename} uses the training template but was not registered "
                         f"(register_training_rule({rulename!r}, study, job_name))")
    study, job_name = TRAINING_RULES[rulename]
    name = job_name(wildcards)
    jobs = study_training_jobs(study)
    if name not in jobs:
        raise ValueError(f"rule {rulename}: job {name!r} is not among the training jobs of "
                         f"src/genolm/studies/{study}/jobs.py, which plans every training job's compute")
    return jobs[name]


_THROUGHPUT = []  # the measured GPU throughput table (read once), or None where no GPU was measured
_PLANNED_RESOURCES = {}


def planned_resources(rulename, wildcards):
    """genolm.compute.job_resources of a training job: Snakemake asks for each resource separately."""
    key = (rulename, tuple(sorted(wildcards.items())))
    if key not in _PLANNED_RESOURCES:
        if not _THROUGHPUT:
            table = config["compute"]["throughput_table"]
            _THROUGHPUT.append(read_benchmark(Path(workflow.basedir) / table if table else None))
        job = training_job(rulename, wildcards)
        _PLANNED_RESOURCES[key] = job_resources(job.spec, config["compute"], architecture=job.architecture,
                                                benchmark=_THROUGHPUT[0])
    return _PLANNED_RESOURCES[key]


def training_resources():
    """The `resources` of the training template, each from the job's spec (genolm.compute.job_resources: GPUs per
    node, nodes, one task per GPU, runtime, the resource class and its partition); `mem_mb` grows with the attempt
    (a job killed for memory comes back with more) and `cpus_per_task` is the rule's threads."""
    resources = {key: (lambda wildcards, rulename, key=key: planned_resources(rulename, wildcards)[key])
                 for key in RESOURCE_KEYS}
    resources["mem_mb"] = lambda wildcards, rulename, attempt: planned_resources(rulename, wildcards)["mem_mb"] * attempt
    resources["cpus_per_task"] = lambda wildcards, threads: threads
    # SLURM sends SIGTERM compute.walltime_signal_s (up to a minute more) before the time limit: the training
    # (exec'd, so the signal reaches it) finishes its step, saves checkpoints/last.ckpt and exits 143; the job
    # fails, Snakemake resubmits it (retries: training_retries) and the next allocation resumes to the
    # uninterrupted result.
    resources["slurm_extra"] = f"'--signal=TERM@{config['compute']['walltime_signal_s']}'"
    return resources


def accelerator_resources():
    """Resources of a job that is not training but runs a model (embeddings): the config's GPUs (`gpu`, and
    `gpu_model` when set: the SLURM plugin's --gpus) and the partition of their resource class."""
    gpus = config["compute"]["training_gpus"]
    resources = {"gpu": gpus, "slurm_partition": config["compute"]["partitions"]["gpu" if gpus else "cpu"]}
    if config["compute"]["training_gpu_model"]:
        resources["gpu_model"] = config["compute"]["training_gpu_model"]
    return resources


@functools.cache
def training_retries():
    """`retries` of the training rule (workflow/rules/training.smk) on a GPU cluster: one attempt per allocation the
    longest training job of the configured studies is planned to need beyond the first (genolm.compute; a job stopped by its allocation's warning signal fails with
    last.ckpt saved, and the next attempt resumes from it), plus `compute.failure_retries` for other failures.
    CPU training (the demo) is not planned in allocations: 0 leaves it the profile's `retries`. So does every
    process but the main one: the job's own Snakemake inside an allocation must not retry the job in it (a rule's
    retries override that process's --retries 0)."""
    from genolm.compute import job_resources, read_benchmark

    compute = config["compute"]
    if compute["training_gpus"] == 0 or not workflow.is_main_process:
        return 0
    table = compute["throughput_table"]
    benchmark = read_benchmark(None if table is None else Path(workflow.basedir) / table)
    jobs = [job for study in config["studies"]
            for job in importlib.import_module(f"genolm.studies.{study}.jobs").training_jobs(config, study_block(config, study))]
    allocations = max((job_resources(job.spec, compute, architecture=job.architecture,
                                     benchmark=benchmark)["allocations"] for job in jobs), default=1)
    return allocations - 1 + compute["failure_retries"]


def final_outputs():
    """What `make demo` builds: every study's own target too, so `make <study>` afterwards has nothing to do."""
    return [*(f for study in FINAL_OUTPUTS for f in study_outputs(study)), *sources_outputs(), *embedding_outputs(),
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
    """The arms a study's pre-registered comparisons name, sorted (a control's `chance` is no arm)."""
    return sorted({entry[key] for entry in comparisons for key in ("arm_a", "arm_b")} - {"chance"})


def comparison_runs(comparisons, job_dir, pretrain_seed, block, group_shards=None):
    """`genolm compare --run` arguments: one per compared arm and replicate (`seed<N>`), with the replicate's split
    seed (genolm.replicates, from the study's config `block`) and the arm's pretraining seed in that replicate
    (`pretrain_seed(arm, seed)`, None: its model comes from no workflow pretraining). `job_dir(arm, seed)` is the
    arm's job directory; `group_shards(seed)`, where given, the replicate's shard set its units are looked up in. A
    control's `chance` is no run."""
    args = []
    for arm in compared_arms(comparisons):
        for seed in SEEDS:
            pretrained = pretrain_seed(arm, seed)
            split = replicate_seeds(config, block, seed).split_seed
            shards = f",group_shards={group_shards(seed)}" if group_shards else ""
            args += ["--run", f"arm={arm},replicate=seed{seed},split_seed={split},"
                              f"pretrain_seed={'' if pretrained is None else pretrained},seed={seed},path={job_dir(arm, seed)}"
                              + shards]
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
