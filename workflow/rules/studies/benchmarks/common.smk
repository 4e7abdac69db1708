# Helpers of the benchmarks rules (../benchmarks.smk): config block, paths, specs and the cells each task runs.


from genolm.studies.benchmarks import jobs as bm_jobs
from genolm.studies.benchmarks import specs as bm_specs

BM_STUDY = study_block(config, "benchmarks")
BM = f"{RESULTS}/benchmarks"
BM_THREADS = BM_STUDY["training_threads"] or config["compute"]["training_cpus"]


def bm_cells():
    """(task, model, setting, run) of every training job (genolm.studies.benchmarks.jobs)."""
    return bm_jobs.cells(config, BM_STUDY)


def bm_run_dir(task, model, setting, run):
    return f"{BM}/{bm_jobs.job_name(task, model, setting, run)}"


def bm_metric_tables():
    return [f"{bm_run_dir(*cell)}/metrics.parquet" for cell in bm_cells()]


def bm_shard_options(wildcards):
    """The split of one run's shards: K folds (validation = fold k) or a seeded validation fraction of train."""
    block = BM_STUDY["tasks"][wildcards.task]
    if wildcards.run.startswith("fold"):
        return f"--folds {block['folds']} --fold {wildcards.run.removeprefix('fold')} --seed {SEED}"
    return f"--val-fraction {block['val_fraction']} --seed {bm_split_seed(wildcards.run)}"


def bm_split_seed(run):
    """The seed a run's shards were split with (bm_shard_options): a seed run's own, the shared `seed` for folds."""
    return SEED if run.startswith("fold") else int(run.removeprefix("seed"))


def bm_train_spec(wildcards):
    return canonical_json(bm_specs.cell_spec(BM_STUDY, wildcards.task, wildcards.model, wildcards.setting))


def bm_fold_argument(wildcards):
    """`--fold K` for a K-fold run (the results table's fold column), nothing for a seed run."""
    return f"--fold {wildcards.run.removeprefix('fold')}" if wildcards.run.startswith("fold") else ""


def bm_leaderboard_tasks():
    """{task: {metric, protocol}}: what genolm benchmarks-leaderboard ranks each task by and prints beside it."""
    return {task: {"metric": block["metric"], "protocol": bm_specs.protocol(BM_STUDY, task, SEEDS)}
            for task, block in BM_STUDY["tasks"].items()}
