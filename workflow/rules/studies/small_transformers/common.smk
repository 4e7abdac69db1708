# Helpers of the small-transformer rules (../small_transformers.smk): config block, paths and specs.

import re

from genolm.config import study_block
from genolm.studies.small_transformers import specs as st_specs

ST_STUDY = study_block(config, "small_transformers")
ST = f"{RESULTS}/small_transformers"
ST_NEVER = "(?!x)x"
ST_THREADS = ST_STUDY["training_threads"] or config["compute"]["training_cpus"]  # a wildcard constraint no name matches (a corpus kind nobody configured)


def st_corpus_names(kind):
    names = [n for n, c in ST_STUDY["corpora"].items() if c["kind"] == kind]
    return "|".join(map(re.escape, names)) if names else ST_NEVER


def st_corpus(wildcards):
    return ST_STUDY["corpora"][wildcards.corpus]


def st_reference(corpus):
    return f"{RES}/reference/{corpus['source']}/genome.fa.gz"


def st_mito_manifest(wildcards):
    return listed_manifest(st_corpus(wildcards)["source"])


def st_corpus_split_args(wildcards):
    corpus = st_corpus(wildcards)
    args = []
    for split in ("val", "test"):
        if corpus[f"{split}_chromosomes"]:
            args.append(f"{split}=" + ",".join(corpus[f"{split}_chromosomes"]))
    return shlex.join(["--split-by-chromosome", *args]) if args else ""


def st_pretrain_dir(name):
    return f"{ST}/pretrain/{name}/model"


def st_pretrained_jobs():
    """Pretraining jobs the workflow runs: every configured one (Table 5.1 rows)."""
    return list(ST_STUDY["pretraining"])


def st_species_experiment(wildcards):
    return ST_STUDY["species"]["experiments"][wildcards.experiment]


def st_species_spec_inputs(wildcards):
    inputs = {"labels": f"{ST}/species/labels.json"}
    experiment = st_species_experiment(wildcards)
    if "init_from" in experiment:
        inputs["weights"] = f"{st_pretrain_dir(experiment['init_from'])}/model.safetensors"
    return inputs


def st_species_base_spec(wildcards):
    experiment = st_species_experiment(wildcards)
    directory = st_pretrain_dir(experiment["init_from"]) if "init_from" in experiment else None
    # label_names are filled in from the dataset's labels.json by `genolm species-spec`.
    spec = st_specs.species_spec(ST_STUDY, wildcards.experiment, directory, ["?", "?"])
    return canonical_json(spec)


def st_species_markers():
    markers = ST_STUDY["species"]["markers"]
    if markers["kind"] == "fasta":
        return {"fasta": source_file(markers["source"], markers["file"])}
    return {"twelve_s": f"{RES}/mito/12s.parquet"}


def st_species_runs():
    species = ST_STUDY["species"]
    if not species["enabled"]:
        return []
    return [f"{ST}/species/runs/{name}/seed{seed}/metrics.parquet" for name in species["experiments"] for seed in SEEDS]


def st_pretraining_metrics():
    return [f"{ST}/pretrain/{name}/metrics.parquet" for name in st_pretrained_jobs()]


def st_figure_tasks():
    """The figures st_tables draws: one per task that runs."""
    tasks = ["pretraining"] if st_pretrained_jobs() else []
    if ST_STUDY["species"]["enabled"] and ST_STUDY["species"]["experiments"]:
        tasks.append("species_12s")
    return tasks
