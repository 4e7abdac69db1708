# Helpers of the cancer-type rules (../cancer_type.smk): config block, paths and specs.

import re

from genolm.config import study_block
from genolm.studies.cancer_type import specs as ct_specs

STUDY = study_block(config, "cancer_type")
CT = f"{RESULTS}/cancer_type"


def ct_reference():
    return f"{RES}/reference/{STUDY['reference_source']}/genome.fa.gz"


def ct_mutations():
    return f"{RES}/{STUDY['mutations_source']}/mutations.parquet"


def ct_samples():
    return f"{RES}/{STUDY['mutations_source']}/samples.parquet"


def ct_experiment_pattern(oracle):
    """Wildcard constraint: the configured experiment names that the finetune (or the oracle) rule runs, so a
    path naming another experiment finds no rule instead of failing inside a spec."""
    names = [n for n, e in STUDY["experiments"].items() if bool(e.get("oracle")) == oracle]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def ct_experiment(wildcards):
    return STUDY["experiments"][wildcards.experiment]


def ct_backbone_dir(name):
    """A backbone's model directory: its configured checkpoint, or the workflow's own pretraining."""
    released = STUDY["backbones"][name]["checkpoint"]
    return resolve_url(released) if released else f"{CT}/pretrain/{name}/model"


def ct_backbone_input(wildcards):
    """What a fine-tuning job waits for: its backbone's weights (random init only copies the architecture)."""
    exp = ct_experiment(wildcards)
    if "backbone" not in exp:
        return []
    directory = ct_backbone_dir(exp["backbone"])
    return [directory] if STUDY["backbones"][exp["backbone"]]["checkpoint"] else [f"{directory}/model.safetensors"]


def ct_finetune_spec(wildcards):
    exp = ct_experiment(wildcards)
    backbone = ct_backbone_dir(exp["backbone"]) if "backbone" in exp else None
    return canonical_json(ct_specs.experiment_spec(STUDY, wildcards.experiment, backbone))


def ct_umap_experiments():
    chosen = STUDY["umap"]["experiments"]
    return [n for n, e in STUDY["experiments"].items() if "backbone" in e] if chosen is None else chosen


def ct_pretrained_backbones():
    """Backbones the workflow pretrains itself: no checkpoint configured, and some experiment loads them."""
    return [name for name, spec in STUDY["backbones"].items() if not spec["checkpoint"]
            and any(e.get("backbone") == name and e["init"] != "random" for e in STUDY["experiments"].values())]


def ct_pretrain_seed(wildcards):
    """The seed of the workflow pretraining this experiment's backbone comes from (the pretrain rule's `seed`); None
    for a released checkpoint (its own seed is not the workflow's to know) and for an experiment without backbone."""
    return ct_experiment_pretrain_seed(wildcards.experiment)


def ct_job_dir(experiment, seed):
    """A cancer-type experiment's job directory (the oracle's lie under oracle/)."""
    return f"{CT}/{'oracle' if STUDY['experiments'][experiment].get('oracle') else 'runs'}/{experiment}/seed{seed}"


def ct_experiment_pretrain_seed(experiment):
    backbone = STUDY["experiments"][experiment].get("backbone")
    return SEED if backbone and not STUDY["backbones"][backbone]["checkpoint"] else None


def ct_context_lengths():
    """The context lengths of the mutated-window shard sets the experiments train on, sorted."""
    return sorted({e["context_length"] for e in STUDY["experiments"].values()})
