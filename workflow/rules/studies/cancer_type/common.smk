# Helpers of the cancer-type rules (../cancer_type.smk): config block, paths and specs.

from genolm.studies.cancer_type import specs as ct_specs

CT_STUDY = study_block(config, "cancer_type")
CT = f"{RESULTS}/cancer_type"


def ct_reference():
    return f"{RES}/reference/{CT_STUDY['reference_source']}/genome.fa.gz"


def ct_mutations():
    return f"{RES}/{CT_STUDY['mutations_source']}/mutations.parquet"


def ct_samples():
    return f"{RES}/{CT_STUDY['mutations_source']}/samples.parquet"


def ct_experiment_pattern(oracle):
    """Wildcard constraint: the configured experiment names that the finetune (or the oracle) rule runs, so a
    path naming another experiment finds no rule instead of failing inside a spec."""
    names = [n for n, e in CT_STUDY["experiments"].items() if bool(e.get("oracle")) == oracle]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def ct_experiment(wildcards):
    return CT_STUDY["experiments"][wildcards.experiment]


def ct_backbone_dir(name):
    """A backbone's model directory: its configured checkpoint, or the workflow's own pretraining."""
    released = CT_STUDY["backbones"][name]["checkpoint"]
    return resolve_url(released) if released else f"{CT}/pretrain/{name}/model"


def ct_backbone_input(wildcards):
    """What a fine-tuning job waits for: its backbone's weights (random init only copies the architecture)."""
    exp = ct_experiment(wildcards)
    if "backbone" not in exp:
        return []
    directory = ct_backbone_dir(exp["backbone"])
    return [directory] if CT_STUDY["backbones"][exp["backbone"]]["checkpoint"] else [f"{directory}/model.safetensors"]


def ct_finetune_spec(wildcards):
    exp = ct_experiment(wildcards)
    backbone = ct_backbone_dir(exp["backbone"]) if "backbone" in exp else None
    return canonical_json(ct_specs.experiment_spec(CT_STUDY, wildcards.experiment, backbone))


def ct_umap_experiments():
    chosen = CT_STUDY["umap"]["experiments"]
    return [n for n, e in CT_STUDY["experiments"].items() if "backbone" in e] if chosen is None else chosen


def ct_pretrained_backbones():
    """Backbones the workflow pretrains itself: no checkpoint configured, and some experiment loads them."""
    return [name for name, spec in CT_STUDY["backbones"].items() if not spec["checkpoint"]
            and any(e.get("backbone") == name and e["init"] != "random" for e in CT_STUDY["experiments"].values())]


def ct_pretrain_seed(wildcards):
    """The seed of the workflow pretraining this experiment's backbone comes from (the pretrain rule's `seed`); None
    for a released checkpoint (its own seed is not the workflow's to know) and for an experiment without backbone."""
    return ct_experiment_pretrain_seed(wildcards.experiment)


def ct_job_dir(experiment, seed):
    """A cancer-type experiment's job directory (the oracle's lie under oracle/)."""
    return f"{CT}/{'oracle' if CT_STUDY['experiments'][experiment].get('oracle') else 'runs'}/{experiment}/seed{seed}"


def ct_experiment_pretrain_seed(experiment):
    backbone = CT_STUDY["experiments"][experiment].get("backbone")
    return SEED if backbone and not CT_STUDY["backbones"][backbone]["checkpoint"] else None


def ct_context_lengths():
    """The context lengths of the mutated-window shard sets the experiments train on, sorted."""
    return sorted({e["context_length"] for e in CT_STUDY["experiments"].values()})
