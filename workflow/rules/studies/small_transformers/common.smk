# Helpers of the small-transformer rules (../small_transformers.smk): config block, paths and specs.


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


def st_replicate(seed):
    """Replicate `seed`'s split, pretraining and fine-tuning seeds (genolm.replicates; the study's `replicate` block)."""
    return replicate_seeds(config, ST_STUDY, seed)


def st_pretrain_dir(name, seed):
    """Replicate `seed`'s pretraining `name` (its corpus drawn and its model trained with the pretraining seed)."""
    return f"{ST}/pretrain/{name}/seed{st_replicate(seed).pretrain_seed}/model"


def st_species_dir(seed):
    """Replicate `seed`'s 12S species dataset (its corrupted copies and split drawn with the split seed)."""
    return f"{ST}/species/split{st_replicate(seed).split_seed}"


def st_tss_shards(organism, seed):
    return f"{ST}/tss/shards/split{st_replicate(seed).split_seed}/{organism}"


def st_arm_pretrain_seed(experiment, seed, task="species"):
    """The pretraining seed an experiment's replicate loads: None for random init and the baselines."""
    spec = ST_STUDY[task]["experiments"][experiment]
    return st_replicate(seed).pretrain_seed if "init_from" in spec and spec.get("init") != "random" else None


def st_pretrained_jobs():
    """Pretraining jobs the workflow runs: every configured one (Table 5.1 rows)."""
    return list(ST_STUDY["pretraining"])


def st_species_experiment(wildcards):
    return ST_STUDY["species"]["experiments"][wildcards.experiment]


def st_species_spec_inputs(wildcards):
    inputs = {"labels": f"{st_species_dir(wildcards.seed)}/labels.json"}
    experiment = st_species_experiment(wildcards)
    if "init_from" in experiment:
        inputs["weights"] = f"{st_pretrain_dir(experiment['init_from'], wildcards.seed)}/model.safetensors"
    return inputs


def st_species_base_spec(wildcards):
    experiment = st_species_experiment(wildcards)
    directory = st_pretrain_dir(experiment["init_from"], wildcards.seed) if "init_from" in experiment else None
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
    return [f"{ST}/pretrain/{name}/seed{seed}/metrics.parquet" for name in st_pretrained_jobs()
            for seed in pretrain_seeds(config, ST_STUDY)]


def st_figure_tasks():
    """The figures st_tables draws: one per task that runs."""
    tasks = ["pretraining"] if st_pretrained_jobs() else []
    if ST_STUDY["species"]["enabled"] and ST_STUDY["species"]["experiments"]:
        tasks.append("species_12s")
    if st_tss_experiments():
        tasks.append("tss_localization")
    if st_chromatin_on() and ST_CHROMATIN["experiments"]:
        tasks.append("chromatin_profiles")
    return tasks


# --- TSS localization (st_tss_*) ---

ST_TSS = ST_STUDY["tss"]


def st_tss_organisms():
    """Organisms by name; empty when the task is off."""
    return sorted(ST_TSS["organisms"]) if ST_TSS["enabled"] else []  # by name: key order must plan nothing


def st_tss_train_organism():
    return ST_TSS["train_organism"] or st_tss_organisms()[0]


def st_tss_experiments():
    return list(ST_TSS["experiments"]) if st_tss_organisms() else []


def st_tss_dataset_inputs(wildcards):
    organism = ST_TSS["organisms"][wildcards.organism]
    return {"bed": source_file(organism["bed"]["source"], organism["bed"]["file"]),
            "assembly": f"{RES}/reference/{organism['assembly']['source']}/genome.fa.gz"}


def st_tss_dataset_args(wildcards):
    args = ["--upstream", str(ST_TSS["upstream"]), "--downstream", str(ST_TSS["downstream"]),
            "--word", str(ST_TSS["word"]), "--max-upstream-words", str(ST_TSS["max_upstream_words"])]
    if wildcards.organism == st_tss_train_organism():
        args += ["--split", *(f"{k}={v}" for k, v in ST_TSS["split"].items())]
    return shlex.join(args)


def st_tss_spec(wildcards):
    experiment = ST_TSS["experiments"][wildcards.experiment]
    return canonical_json(st_specs.tss_spec(ST_STUDY, wildcards.experiment,
                                            st_pretrain_dir(experiment["init_from"], wildcards.seed)))


def st_tss_runs():
    """Per-run metrics of the trainer and of the per-organism evaluation."""
    return [f"{ST}/tss/runs/{name}/seed{seed}/{table}.parquet" for name in st_tss_experiments() for seed in SEEDS
            for table in ("metrics", "organisms")]


def st_tss_organism_args(wildcards, input):
    return shlex.join([f"{name}={path}" for name, path in zip(st_tss_organisms(), input.organisms)])


# --- Chromatin profiles (st_chromatin_*) ---

from genolm.studies.small_transformers import chromatin as st_chromatin

ST_CHROMATIN = ST_STUDY["chromatin"]


def st_chromatin_on():
    return ST_CHROMATIN["enabled"] and ST_CHROMATIN["source"] is not None


def st_chromatin_names(baseline):
    """Experiment names of one kind as a wildcard constraint: models (init_from) or baselines (model alone)."""
    names = [n for n, e in ST_CHROMATIN["experiments"].items() if st_specs.is_baseline(e) == baseline]
    return "|".join(map(re.escape, names)) if names else ST_NEVER


def st_chromatin_inputs():
    """The bundle's files; none when the task is off (the rule is then never planned, but is still parsed)."""
    if not st_chromatin_on():
        return {}
    if ST_CHROMATIN["bundle"]:
        return {"bundle": source_file(ST_CHROMATIN["source"], ST_CHROMATIN["bundle"])}
    return {split: source_file(ST_CHROMATIN["source"], name) for split, name in ST_CHROMATIN["files"].items()}


def st_chromatin_dataset_args():
    args = []
    for split, limit in ST_CHROMATIN["max_examples"].items():
        if limit:
            args += [f"--max-{split}", str(limit)]
    if ST_CHROMATIN["label_columns"]:
        args += ["--columns", *map(str, ST_CHROMATIN["label_columns"])]
    return shlex.join(args)


def st_chromatin_spec(wildcards):
    experiment = ST_CHROMATIN["experiments"][wildcards.experiment]
    columns = ST_CHROMATIN["label_columns"]
    spec = st_specs.chromatin_spec(ST_STUDY, wildcards.experiment, st_pretrain_dir(experiment["init_from"], wildcards.seed),
                                   st_chromatin.label_names(columns), st_chromatin.label_groups(columns))
    return canonical_json(spec)


def st_chromatin_runs():
    if not st_chromatin_on():
        return []
    return [f"{ST}/chromatin/runs/{name}/seed{seed}/metrics.parquet" for name in ST_CHROMATIN["experiments"]
            for seed in SEEDS]


def st_species_job_dir(experiment, seed):
    """A 12S species fine-tuning job's directory."""
    return f"{ST}/species/runs/{experiment}/seed{seed}"


def st_species_corpora():
    """The corpora of the pretrainings the 12S species experiments load, sorted (none when the task is off)."""
    if not ST_STUDY["enabled"] or not ST_STUDY["species"]["enabled"]:
        return []
    pretrainings = {e["init_from"] for e in ST_STUDY["species"]["experiments"].values() if "init_from" in e}
    return sorted({ST_STUDY["pretraining"][name]["corpus"] for name in pretrainings})
