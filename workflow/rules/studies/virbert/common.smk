# Helpers of the virBERT rules (../virbert.smk): config block, paths and specs.

from genolm.studies.virbert import specs as vb_specs

VB_STUDY = study_block(config, "virbert")
VB = f"{RESULTS}/virbert"


def vb_genome_inputs():
    inputs = {"extra": [resolve_url(p) for s in VB_STUDY["extra_genomes"] for p in (s["fasta"], s["table"])]}
    if VB_STUDY["viral_dataset"]:
        inputs.update(viral_genomes=f"{RES}/viral/genomes.parquet", viral_labels=f"{RES}/viral/labels.parquet")
    if VB_STUDY["families"]:
        inputs["families"] = resolve_url(VB_STUDY["families"])
    return inputs


def vb_genome_args(wildcards, input):
    args = []
    if "viral_genomes" in input.keys():
        args += ["--viral-genomes", input.viral_genomes, "--viral-labels", input.viral_labels]
    extra = list(input.extra)
    for fasta, table in zip(extra[0::2], extra[1::2]):
        args += ["--extra", fasta, table]
    if "families" in input.keys():
        args += ["--families", input.families]
    return shlex.join(args)


def vb_replicate(seed):
    """Replicate `seed`'s split, pretraining and fine-tuning seeds (genolm.replicates; the study's `replicate` block)."""
    return replicate_seeds(config, VB_STUDY, seed)


def vb_split_dir(seed):
    """Where replicate `seed`'s genome split and the examples drawn from it live."""
    return f"split{vb_replicate(seed).split_seed}"


def vb_backbone_dir(name, seed):
    """Replicate `seed`'s backbone: a variant's (or transfer's) configured checkpoint, or the workflow's pretraining
    with the replicate's pretraining seed (a variant's on the replicate's train and val genomes)."""
    replicate = vb_replicate(seed)
    if name == "transfer":
        released = VB_STUDY["transfer"]["checkpoint"]
        return resolve_url(released) if released else f"{VB}/pretrain/transfer-human/seed{vb_transfer_seed()}/model"
    released = VB_STUDY["variants"][name]["checkpoint"]
    return (resolve_url(released) if released
            else f"{VB}/pretrain/{name}/split{replicate.split_seed}_seed{replicate.pretrain_seed}/model")


def vb_backbone_released(name):
    return bool(VB_STUDY["transfer"]["checkpoint"] if name == "transfer" else VB_STUDY["variants"][name]["checkpoint"])


def vb_arm(wildcards):
    return VB_STUDY["arms"][wildcards.arm]


def vb_backbone_input(wildcards):
    """What a fine-tuning job waits for: its backbone's weights (random init and baselines wait for none)."""
    arm = vb_arm(wildcards)
    if "backbone" not in arm or arm["init"] == "random":
        return []
    directory = vb_backbone_dir(arm["backbone"], wildcards.seed)
    return [directory] if vb_backbone_released(arm["backbone"]) else [f"{directory}/model.safetensors"]


def vb_finetune_spec(wildcards):
    arm = vb_arm(wildcards)
    backbone = vb_backbone_dir(arm["backbone"], wildcards.seed) if "backbone" in arm and arm["init"] != "random" else None
    return canonical_json(vb_specs.experiment_spec(VB_STUDY, wildcards.arm, int(wildcards.length),
                                               float(wildcards.fraction), backbone))


def vb_pretrained_variants():
    """Variants the workflow pretrains itself: no checkpoint, and some arm loads them."""
    used = {a["backbone"] for a in VB_STUDY["arms"].values() if "backbone" in a and a["init"] != "random"}
    return [n for n, v in VB_STUDY["variants"].items() if not v["checkpoint"] and n in used]


def vb_transfer_pretrained():
    """Whether the transfer stand-in is pretrained here (an arm uses transfer and no released DNABERT is named)."""
    used = any(a.get("backbone") == "transfer" for a in VB_STUDY["arms"].values())
    return used and not VB_STUDY["transfer"]["checkpoint"]


def vb_transfer_seed():
    """The one pretraining of the transfer stand-in: it stands for a released human-genome DNABERT, which every
    replicate of a real run loads as it is (as the cancer-type study loads its committed backbones), so it is
    pretrained once, with the config's `seed`, not per replicate (vb_jobs in genolm.studies.virbert.jobs agrees)."""
    return int(config["seed"])


def vb_transfer_variant():
    return VB_STUDY["variants"][VB_STUDY["transfer"]["variant"]]


def vb_job_dir(experiment, seed):
    """A fine-tuning job's directory; `experiment` as the results table names it (vb_specs.experiment_name)."""
    return f"{VB}/runs/{experiment}/seed{seed}"


def vb_arm_pretrain_seed(experiment, seed):
    """The seed of the pretraining an experiment's replicate loads; None for random init, the baselines and a
    released checkpoint."""
    arms = {vb_specs.experiment_name(a, length, fraction): a for a, length, fraction in vb_specs.arm_grid(VB_STUDY)}
    arm = VB_STUDY["arms"][arms[experiment]]
    if "backbone" not in arm or arm["init"] == "random" or vb_backbone_released(arm["backbone"]):
        return None
    return vb_transfer_seed() if arm["backbone"] == "transfer" else vb_replicate(seed).pretrain_seed


def vb_pretraining_runs():
    """(split seed, pretraining seed) of every pretraining run of the variants: one per replicate where either varies."""
    return sorted({(vb_replicate(s).split_seed, vb_replicate(s).pretrain_seed) for s in SEEDS})
