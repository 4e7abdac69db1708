"""The study's training jobs as the workflow runs them (workflow/rules/studies/small_transformers.smk), for
planning their compute (genolm.compute, `genolm plan-compute`): every pretraining (Table 5.1), and the species,
TSS and chromatin experiments once per seed (chromatin baselines are logistic regressions outside the trainer).
The species classes come from the dataset; two stand in for them (a head's size is negligible)."""

from __future__ import annotations

from genolm.compute import TrainingJob
from genolm.replicates import pretrain_seeds
from genolm.studies.small_transformers import chromatin, specs

STUDY = "small_transformers"


def _job(study: dict, experiment: dict, path: str, spec: dict) -> TrainingJob:
    """A fine-tuning job; one on a pretraining job's tokens is planned with that job's architecture (the checkpoint
    it loads) or, building its own model (a longer context, another architecture), with that job's tokenizer spec
    (the workflow reads the learnt tokenizer from the job's directory)."""
    if "init_from" not in experiment:
        return TrainingJob(STUDY, path, spec)
    pretraining = specs.pretraining_spec(study, experiment["init_from"])
    if "checkpoint" not in spec["model"]:
        return TrainingJob(STUDY, path, {**spec, "tokenizer": pretraining["tokenizer"]})
    return TrainingJob(STUDY, path, spec, {"model": pretraining["model"], "tokenizer": pretraining["tokenizer"]})


def training_jobs(config: dict, study: dict) -> list[TrainingJob]:
    if not study["enabled"]:
        return []
    # one pretraining per corpus and replicate pretraining seed (genolm.replicates)
    jobs = [TrainingJob(STUDY, f"pretrain/{name}/seed{seed}", specs.pretraining_spec(study, name))
            for name in study["pretraining"] for seed in pretrain_seeds(config, study)]
    seeds = config["seeds"]
    if study["species"]["enabled"]:
        for name, experiment in study["species"]["experiments"].items():
            spec = specs.species_spec(study, name, "pretrained", ["?", "?"])
            jobs += [_job(study, experiment, f"species/runs/{name}/seed{seed}", spec) for seed in seeds]
    if study["tss"]["enabled"] and study["tss"]["organisms"]:
        for name, experiment in study["tss"]["experiments"].items():
            spec = specs.tss_spec(study, name, "pretrained")
            jobs += [_job(study, experiment, f"tss/runs/{name}/seed{seed}", spec) for seed in seeds]
    block = study["chromatin"]
    if block["enabled"] and block["source"] is not None:
        columns = block["label_columns"]
        for name, experiment in block["experiments"].items():
            if specs.is_baseline(experiment):
                continue
            spec = specs.chromatin_spec(study, name, "pretrained", chromatin.label_names(columns),
                                        chromatin.label_groups(columns))
            jobs += [_job(study, experiment, f"chromatin/runs/{name}/seed{seed}", spec) for seed in seeds]
    return jobs
