"""The study's training jobs as the workflow runs them (workflow/rules/studies/enbed.smk), for planning their
compute (genolm.compute, `genolm plan-compute`): the corpus pretraining of each architecture with `pretrain`,
the reconstruction pretrainings, and every experiment of every task once per seed (or per fold where a
benchmark has folds). Label names come from the config where it holds them, else two stand in."""

from __future__ import annotations

from genolm.compute import TrainingJob
from genolm.replicates import pretrain_seeds
from genolm.studies.enbed import specs
from genolm.studies.enbed.config import task_blocks

STUDY = "enbed"


def _label_names(study: dict, task: str) -> list[str]:
    if task == "function_annotation":
        return list(study["function_annotation"]["classes"])
    if task in ("noise_identification", "mutation_generation"):
        return ["clean", "noisy"]
    return list(study["benchmarks"][task].get("label_names") or ["?", "?"])


def training_jobs(config: dict, study: dict) -> list[TrainingJob]:
    if not study["enabled"]:
        return []
    # one pretraining per architecture and replicate pretraining seed (genolm.replicates)
    seeds = pretrain_seeds(config, study)
    jobs = [TrainingJob(STUDY, f"pretrain/{name}/seed{seed}", specs.pretraining_spec(study, name))
            for name, architecture in study["architectures"].items() if architecture["pretrain"] for seed in seeds]
    jobs += [TrainingJob(STUDY, f"pretrain_reconstruction/{name}/seed{seed}", specs.reconstruction_spec(study, name))
             for name in specs.reconstruction_architectures(study) for seed in seeds]
    for task, block in task_blocks(study).items():
        folds = block.get("folds")
        runs = [f"fold{k}" for k in range(1, folds + 1)] if folds else [f"seed{s}" for s in config["seeds"]]
        for name, experiment in block["experiments"].items():
            spec = specs.experiment_spec(study, task, name, "pretrained", _label_names(study, task))
            architecture = None
            if "architecture" in experiment:
                chosen = study["architectures"][experiment["architecture"]]
                architecture = {"model": specs.architecture_model(chosen, spec["context_length"]),
                                "tokenizer": dict(chosen["tokenizer"])}
            jobs += [TrainingJob(STUDY, f"runs/{task}/{name}/{run}", spec, architecture) for run in runs]
    return jobs
