"""The study's training jobs as the workflow runs them (workflow/rules/studies/cancer_type.smk), for planning
their compute (genolm.compute, `genolm plan-compute`): each backbone pretraining the workflow runs itself, and
every experiment that trains (the oracle is a logistic regression outside the trainer) once per seed."""

from __future__ import annotations

from genolm.compute import TrainingJob
from genolm.replicates import pretrain_seeds
from genolm.studies.cancer_type import specs

STUDY = "cancer_type"


def pretrained_backbones(study: dict) -> list[str]:
    """Backbones the workflow pretrains itself: no checkpoint configured, and some experiment loads them."""
    return [name for name, backbone in study["backbones"].items() if not backbone["checkpoint"]
            and any(e.get("backbone") == name and e["init"] != "random" for e in study["experiments"].values())]


def training_jobs(config: dict, study: dict) -> list[TrainingJob]:
    if not study["enabled"]:
        return []
    # one pretraining per backbone and replicate pretraining seed (genolm.replicates)
    jobs = [TrainingJob(STUDY, f"pretrain/{name}/seed{seed}", specs.pretraining_spec(study["backbones"][name]))
            for name in pretrained_backbones(study) for seed in pretrain_seeds(config, study)]
    for name, experiment in study["experiments"].items():
        if experiment.get("oracle"):
            continue
        architecture = None
        if "backbone" in experiment:
            backbone = study["backbones"][experiment["backbone"]]
            architecture = {"model": specs.backbone_architecture(backbone), "tokenizer": dict(specs.TOKENIZER)}
        spec = specs.experiment_spec(study, name, f"pretrain/{experiment.get('backbone')}/model")
        jobs += [TrainingJob(STUDY, f"runs/{name}/seed{seed}", spec, architecture) for seed in config["seeds"]]
    return jobs
