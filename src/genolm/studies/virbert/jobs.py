"""The study's training jobs as the workflow runs them (workflow/rules/studies/virbert.smk), for planning their
compute (genolm.compute, `genolm plan-compute`): the variant pretrainings some arm loads, the human transfer
stand-in, and every arm x length x label fraction once per seed."""

from __future__ import annotations

from genolm.compute import TrainingJob
from genolm.replicates import replicate_seeds
from genolm.studies.virbert import specs

STUDY = "virbert"


def training_jobs(config: dict, study: dict) -> list[TrainingJob]:
    if not study["enabled"]:
        return []
    used = {a["backbone"] for a in study["arms"].values() if "backbone" in a and a["init"] != "random"}
    # one pretraining per variant and replicate: its split's genomes, its pretraining seed (genolm.replicates)
    replicates = dict.fromkeys((r.split_seed, r.pretrain_seed)
                               for r in (replicate_seeds(config, study, seed) for seed in config["seeds"]))
    jobs = [TrainingJob(STUDY, f"pretrain/{name}/split{split}_seed{pretrain}", specs.pretraining_spec(variant))
            for name, variant in study["variants"].items() if not variant["checkpoint"] and name in used
            for split, pretrain in replicates]
    if any(a.get("backbone") == "transfer" for a in study["arms"].values()) and not study["transfer"]["checkpoint"]:
        # the stand-in for a released DNABERT: pretrained once, with the global seed (virbert.smk, vb_transfer_seed)
        jobs.append(TrainingJob(STUDY, f"pretrain/transfer-human/seed{int(config['seed'])}",
                                specs.pretraining_spec(study["variants"][study["transfer"]["variant"]])))
    for arm_name, length, fraction in specs.arm_grid(study):
        arm = study["arms"][arm_name]
        architecture = None
        if "backbone" in arm:
            variant = specs.backbone_variant(study, arm)
            architecture = {"model": specs.architecture(variant), "tokenizer": specs.tokenizer_spec(variant)}
        spec = specs.experiment_spec(study, arm_name, length, fraction, f"pretrain/{arm.get('backbone')}/model")
        name = specs.experiment_name(arm_name, length, fraction)
        jobs += [TrainingJob(STUDY, f"runs/{name}/seed{seed}", spec, architecture) for seed in config["seeds"]]
    return jobs
