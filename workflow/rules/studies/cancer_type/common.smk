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


def ct_replicate(seed):
    """Replicate `seed`'s split, pretraining and fine-tuning seeds (genolm.replicates; the study's `replicate` block)."""
    return replicate_seeds(config, CT_STUDY, seed)


def ct_selection(experiment, seed):
    """The selection (cell lines, anchors) an experiment's replicate trains on: `split<S>` drawn with the replicate's
    split seed, `_chromosomes` for the chromosome-held-out control."""
    exp = CT_STUDY["experiments"][experiment]
    suffix = "_chromosomes" if exp["split_design"] == "chromosomes" else ""
    return f"split{ct_replicate(seed).split_seed}{suffix}"


def ct_shards(experiment, seed):
    """The window shards of an experiment's replicate: its selection, its windows (mutated or reference-only) and
    its context length."""
    exp = CT_STUDY["experiments"][experiment]
    return f"{CT}/shards/{ct_selection(experiment, seed)}/{exp['windows']}_L{exp['context_length']}"


def ct_shard_sets():
    """Every (selection, windows, length) shard set the experiments' replicates train on, in a fixed order."""
    return sorted({ct_shards(name, seed) for name in CT_STUDY["experiments"] for seed in SEEDS})


def ct_backbone_released(name):
    return CT_STUDY["backbones"][name]["checkpoint"]


def ct_backbone_dir(name, pretrain_seed):
    """A backbone's model directory for one pretraining seed: its configured checkpoint (`{seed}` in the path: one
    released backbone per replicate), or the workflow's own pretraining with that seed."""
    released = ct_backbone_released(name)
    if released:
        return resolve_url(released.replace("{seed}", str(pretrain_seed)))
    return f"{CT}/pretrain/{name}/seed{pretrain_seed}/model"


def ct_backbone_input(wildcards):
    """What a fine-tuning job waits for: its replicate's backbone weights (random init only copies the
    architecture, which every pretraining seed shares)."""
    exp = ct_experiment(wildcards)
    if "backbone" not in exp:
        return []
    return ct_backbone_files(exp["backbone"], wildcards.seed)


def ct_backbone_files(name, seed):
    """Replicate `seed`'s weights of backbone `name`: the released directory, or the workflow's pretrained weights."""
    directory = ct_backbone_dir(name, ct_replicate(seed).pretrain_seed)
    return [directory] if ct_backbone_released(name) else [f"{directory}/model.safetensors"]


def ct_finetune_spec(wildcards):
    exp = ct_experiment(wildcards)
    backbone = ct_backbone_dir(exp["backbone"], ct_replicate(wildcards.seed).pretrain_seed) if "backbone" in exp else None
    return canonical_json(ct_specs.experiment_spec(CT_STUDY, wildcards.experiment, backbone))


def ct_umap_experiments():
    chosen = CT_STUDY["umap"]["experiments"]
    return [n for n, e in CT_STUDY["experiments"].items() if "backbone" in e] if chosen is None else chosen


def ct_umap_arms():
    """Every UMAP's name: the chosen experiments (a fine-tuned model embeds) and pretrained-<backbone> for each of
    umap.backbones (the pretrained weights embed, no fine-tuning)."""
    return ct_umap_experiments() + [f"pretrained-{name}" for name in CT_STUDY["umap"]["backbones"]]


def ct_umap_backbone(arm):
    """The backbone a pretrained-<backbone> UMAP embeds with; None for an experiment's."""
    name = arm.removeprefix("pretrained-")
    return name if arm.startswith("pretrained-") and name in CT_STUDY["umap"]["backbones"] else None


def ct_umap_context(arm):
    """(context length in bases, init, results-table model name) of a UMAP arm."""
    backbone = ct_umap_backbone(arm)
    if backbone is None:
        exp = CT_STUDY["experiments"][arm]
        return exp["context_length"], exp["init"], ct_specs.model_name(CT_STUDY, arm)
    spec = CT_STUDY["backbones"][backbone]
    return spec["context_length"], "pretrained", ct_specs.backbone_model_name(spec)


def ct_umap_pretrain_seed(arm, seed):
    """The pretraining seed behind a UMAP arm's embeddings (ct_experiment_pretrain_seed's rule for a backbone)."""
    backbone = ct_umap_backbone(arm)
    if backbone is None:
        return ct_experiment_pretrain_seed(arm, seed)
    released = ct_backbone_released(backbone)
    return ct_replicate(seed).pretrain_seed if not released or "{seed}" in released else None


def ct_pretrained_backbones():
    """Backbones the workflow pretrains itself: no checkpoint configured, and some experiment or UMAP loads them."""
    return [name for name, spec in CT_STUDY["backbones"].items() if not spec["checkpoint"]
            and (any(e.get("backbone") == name and e["init"] != "random" for e in CT_STUDY["experiments"].values())
                 or name in CT_STUDY["umap"]["backbones"])]


def ct_pretrain_seed(wildcards):
    return ct_experiment_pretrain_seed(wildcards.experiment, wildcards.seed)


def ct_job_dir(experiment, seed):
    """A cancer-type experiment's job directory (the oracle's lie under oracle/)."""
    return f"{CT}/{'oracle' if CT_STUDY['experiments'][experiment].get('oracle') else 'runs'}/{experiment}/seed{seed}"


def ct_experiment_pretrain_seed(experiment, seed):
    """The seed of the pretraining an experiment's replicate loads: the workflow's own pretraining, or a released
    backbone per replicate (`{seed}` in its checkpoint path); None for a single released checkpoint (its seed is
    not the workflow's to know), random init and the baselines."""
    exp = CT_STUDY["experiments"][experiment]
    backbone = exp.get("backbone")
    if not backbone or exp["init"] == "random":
        return None
    released = ct_backbone_released(backbone)
    return ct_replicate(seed).pretrain_seed if not released or "{seed}" in released else None


def ct_interval_overlap_checks():
    """The leak check's QC table of every shard set of mutated windows the replicates train on."""
    return [f"{CT}/qc/{path.removeprefix(CT + '/shards/')}/interval_overlaps.tsv"
            for path in ct_shard_sets() if "/mutated_L" in path]
