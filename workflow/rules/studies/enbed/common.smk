# Helpers of the ENBED rules (../enbed.smk): config block, paths, specs and the jobs each task runs.

from genolm.studies.enbed import specs as en_specs
from genolm.studies.enbed.config import task_blocks as en_task_blocks

EN_STUDY = study_block(config, "enbed")
EN = f"{RESULTS}/enbed"
EN_THREADS = EN_STUDY["training_threads"] or config["compute"]["training_cpus"]


def en_reference(source):
    return f"{RES}/reference/{source}/genome.fa.gz"


def en_corpus_inputs():
    genomes = [en_reference(s) for s in EN_STUDY["corpus"]["reference_sources"]]
    haplotypes = [f"{EN}/haplotypes"] if EN_STUDY["corpus"]["haplotypes"] else []  # a FASTA per haplotype
    return genomes + haplotypes + ([f"{RES}/refseq/genomes"] if EN_STUDY["corpus"]["refseq"] else [])


def en_haplotype_vcfs():
    """The phased VCFs of corpus.haplotypes (every file of its source unless `files` names some)."""
    block = EN_STUDY["corpus"]["haplotypes"]
    if not block:
        return []
    names = block["files"] or list(config["sources"][block["source"]]["files"])
    return [source_file(block["source"], name) for name in names]


def en_pretrained_architectures():
    return [name for name, a in EN_STUDY["architectures"].items() if a["pretrain"]]


def en_runs(task):
    """The runs of one task: a benchmark with folds runs once per fold (NT protocol), everything else per seed."""
    block = en_task_blocks(EN_STUDY)[task]
    folds = block.get("folds")
    return [f"fold{k}" for k in range(1, folds + 1)] if folds else [f"seed{s}" for s in SEEDS]


def en_run_seed(run):
    """A fold run trains with the first seed (the fold, not the seed, varies); a seed run with its seed."""
    return SEEDS[0] if run.startswith("fold") else int(run.removeprefix("seed"))


def en_replicate(run):
    """A run's split, pretraining and fine-tuning seeds (genolm.replicates; the study's `replicate` block). A fold
    run is the first replicate's chain on the benchmark's fixed folds."""
    return replicate_seeds(config, EN_STUDY, en_run_seed(run))


def en_corpus(pretrain_seed):
    """The pretraining corpus drawn with one pretraining seed (its val split is part of the pretraining)."""
    return f"{EN}/shards/seed{pretrain_seed}/corpus"


def en_run_split_seed(run):
    """The split seed a run's data was drawn with: its replicate's; a fold run's folds are drawn with `seed`."""
    return SEED if run.startswith("fold") else en_replicate(run).split_seed


def en_jobs():
    if not EN_STUDY["enabled"]:  # a config without the study: its blocks hold no experiments
        return []
    return [(task, name, run) for task, block in en_task_blocks(EN_STUDY).items()
            for name in block["experiments"] for run in en_runs(task)]


def en_run_dir(task, experiment, run):
    return f"{EN}/runs/{task}/{experiment}/{run}"


def en_shards(wildcards):
    task = wildcards.task
    replicate = en_replicate(wildcards.run)
    if task == "mutation_generation":
        return f"{EN}/shards/split{replicate.split_seed}/pairs"
    if task == "noise_identification":
        # noisy and clean pieces of the replicate's corpus, drawn with its split seed
        return f"{EN}/shards/split{replicate.split_seed}_corpus{replicate.pretrain_seed}/noise"
    if task == "function_annotation":
        return f"{EN}/shards/split{replicate.split_seed}/annotation"
    run = wildcards.run
    return f"{EN}/shards/benchmark/{task}/{run if run.startswith('fold') else f'val_split{replicate.split_seed}'}"


def en_experiment(wildcards):
    return en_specs.task_block(EN_STUDY, wildcards.task)["experiments"][wildcards.experiment]


def en_pretrained_dir(wildcards):
    """What an experiment starts from: its architecture's reconstruction pretraining (mutation generation with
    `reconstruction` set), its corpus pretraining, or nothing (init random, baselines)."""
    experiment = en_experiment(wildcards)
    if "architecture" not in experiment or experiment["init"] == "random":
        return None
    seed = en_replicate(wildcards.run).pretrain_seed
    if wildcards.task == "mutation_generation" and EN_STUDY["mutation_generation"]["reconstruction"] is not None:
        return f"{EN}/pretrain_reconstruction/{experiment['architecture']}/seed{seed}/model"
    return f"{EN}/pretrain/{experiment['architecture']}/seed{seed}/model"


def en_run_pretrain_seed(wildcards):
    """The pretraining seed a run's model comes from; None for random init and the baselines."""
    return en_replicate(wildcards.run).pretrain_seed if en_pretrained_dir(wildcards) else None


def en_train_inputs(wildcards):
    inputs = {"shards": en_shards(wildcards)}
    directory = en_pretrained_dir(wildcards)
    if directory:
        inputs["pretrained"] = f"{directory}/model.safetensors"
    return inputs


def en_label_names(task):
    if task == "noise_identification":
        return ["clean", "noisy"]
    if task == "mutation_generation":
        return []
    if task == "function_annotation":
        return EN_STUDY["function_annotation"]["classes"]
    return EN_STUDY["benchmarks"][task]["label_names"]


def en_train_spec(wildcards):
    spec = en_specs.experiment_spec(EN_STUDY, wildcards.task, wildcards.experiment, en_pretrained_dir(wildcards),
                                    en_label_names(wildcards.task))
    return canonical_json(spec)


def en_options(block, options):
    """`--option value` for the named keys of a config block, in the order given here: a rule's parameter holds
    only what its command reads, never a whole block (its experiments, or its keys in the YAML file's order,
    would replan the job whenever an unrelated key moved)."""
    return shlex.join(str(item) for key in options for item in (f"--{key.replace('_', '-')}", block[key]))


def en_reconstruction_args():
    """Sizes and noise of the reconstruction examples (none when mutation generation has no reconstruction)."""
    block = EN_STUDY["mutation_generation"]["reconstruction"]
    if block is None:
        return ""
    return en_options(block, ["train", "val", "test", "noise_density", "mean_span_length"])


def en_noise_args():
    return en_options(EN_STUDY["noise_identification"], ["length", "margin", "train", "val", "test"])


def en_annotation_args():
    return en_options(EN_STUDY["function_annotation"], ["min_length", "max_length", "val_fraction", "test_fraction"])


def en_experiment_column(wildcards):
    """The results table's experiment: task/experiment (an NT protocol run's fold goes to the fold column)."""
    return f"{wildcards.task}/{wildcards.experiment}"


def en_fold_argument(wildcards):
    """`--fold K` for the NT protocol's runs (the results table's fold column), nothing for a seed run."""
    return f"--fold {wildcards.run.removeprefix('fold')}" if wildcards.run.startswith("fold") else ""


def en_ranked_experiments():
    """Generation experiments whose candidates the noise classifier ranks (mutation_generation.noise_ranking)."""
    block = EN_STUDY["mutation_generation"]
    return block["noise_ranking"]["experiments"] if EN_STUDY["enabled"] and block["enabled"] else []


def en_experiment_pattern():
    """Wildcard constraint of the training rule: the configured experiments of every task (a ranked run's
    <name>+noise-rank directory is another rule's)."""
    if not EN_STUDY["enabled"]:  # a config without the study: its blocks hold no experiments
        return "(?!)"
    names = {name for block in en_task_blocks(EN_STUDY).values() for name in block["experiments"]}
    return "|".join(re.escape(n) for n in sorted(names)) or "(?!)"


def en_metric_tables():
    seeds = pretrain_seeds(config, EN_STUDY)
    ranked = [f"{en_run_dir('mutation_generation', f'{name}+noise-rank', run)}/metrics.parquet"
              for name in en_ranked_experiments() for run in en_runs("mutation_generation")]
    return [f"{en_run_dir(*job)}/metrics.parquet" for job in en_jobs()] + ranked + [
        f"{EN}/pretrain/{name}/seed{seed}/metrics.parquet" for name in en_pretrained_architectures() for seed in seeds] + [
        f"{EN}/pretrain_reconstruction/{name}/seed{seed}/metrics.parquet"
        for name in en_specs.reconstruction_architectures(EN_STUDY) for seed in seeds]


def en_figure_tasks():
    """The figures enbed_tables draws: one per fine-tuning task that has experiments (results/plots/enbed/<task>.png)."""
    if not EN_STUDY["enabled"]:
        return []
    return [task for task, block in en_task_blocks(EN_STUDY).items() if block["experiments"]]


def en_compared_job_dir(arm, seed):
    """The job directory of a compared arm, named as the results table's experiment: mutation_generation/<name>
    (the pairs shards give its units; other tasks' arms would need their own unit source)."""
    task, _, experiment = arm.partition("/")
    if task != "mutation_generation":
        raise ValueError(f"studies.enbed.comparisons: arm {arm!r} is not a mutation_generation/<experiment> arm")
    return en_run_dir(task, experiment, f"seed{seed}")


def en_compared_pretrain_seed(arm, seed):
    task, _, experiment = arm.partition("/")
    experiment = experiment.removesuffix("+noise-rank")  # a ranked run's model is its generation run's
    from types import SimpleNamespace  # the rule's wildcards, for a run the compare rule names

    return en_run_pretrain_seed(SimpleNamespace(task=task, experiment=experiment, run=f"seed{seed}"))
