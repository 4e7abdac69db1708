"""The study's training jobs as the workflow runs them (workflow/rules/studies/small_transformers.smk), for
planning their compute (genolm.compute, `genolm plan-compute`): every pretraining (Table 5.1), and the species,
TSS and chromatin experiments once per seed (chromatin baselines are logistic regressions outside the trainer).
The species classes come from the dataset; two stand in for them (a head's size is negligible)."""

from __future__ import annotations

from genolm.compute import TrainingJob
from genolm.replicates import pretrain_seeds
from genolm.studies.small_transformers import chromatin, specs

STUDY = "small_transformers"


def _architecture(study: dict, experiment: dict) -> dict | None:
    if "init_from" not in experiment:
        return None
    pretraining = specs.pretraining_spec(study, experiment["init_from"])
    return {"model": pretraining["model"], "tokenizer": pretraining["tokenizer"]}


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
            jobs += [TrainingJob(STUDY, f"species/runs/{name}/seed{seed}", spec, _architecture(study, experiment))
                     for seed in seeds]
    if study["tss"]["enabled"] and study["tss"]["organisms"]:
        for name, experiment in study["tss"]["experiments"].items():
            spec = specs.tss_spec(study, name, "pretrained")
            jobs += [TrainingJob(STUDY, f"tss/runs/{name}/seed{seed}", spec, _architecture(study, experiment))
                     for seed in seeds]
    block = study["chromatin"]
    if block["enabled"] and block["source"] is not None:
        columns = block["label_columns"]
        for name, experiment in block["experiments"].items():
            if "model" in experiment:
                continue
            spec = specs.chromatin_spec(study, name, "pretrained", chromatin.label_names(columns),
                                        chromatin.label_groups(columns))
            architecture = _architecture(study, experiment)
            if "checkpoint" not in spec["model"]:
                # Built at its own context length (chromatin_spec) with the pretraining job's tokenizer, which the
                # workflow reads from that job's directory: planned by its spec, as the pretraining is.
                spec, architecture = {**spec, "tokenizer": architecture["tokenizer"]}, None
            jobs += [TrainingJob(STUDY, f"chromatin/runs/{name}/seed{seed}", spec, architecture) for seed in seeds]
    return jobs
