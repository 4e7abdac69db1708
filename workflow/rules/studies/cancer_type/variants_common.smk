# Helpers of the cancer-type zero-shot rules (variants.smk): which backbones score, and the scoring options.

CT_ZERO_SHOT = CT_STUDY["zero_shot"]
CT_VARIANT_BENCHMARK = CT_STUDY["variant_benchmark"]
# The zero-shot arm scores with the first replicate's backbones and cell-line selection (no training to replicate:
# the scores of one backbone are deterministic; the interval resamples cell lines).
CT_ZERO_SHOT_REPLICATE = ct_replicate(SEEDS[0])


def ct_zero_shot_backbones():
    """The backbones whose zero-shot arm runs: zero_shot.backbones, or every backbone (config order)."""
    chosen = CT_ZERO_SHOT["backbones"]
    return list(CT_STUDY["backbones"]) if chosen is None else chosen


def ct_backbone_model_input(wildcards):
    """A backbone's model directory as a job input: the released directory, or the workflow's pretraining weights."""
    directory = ct_zero_shot_backbone_dir(wildcards)
    return directory if CT_STUDY["backbones"][wildcards.backbone]["checkpoint"] else f"{directory}/model.safetensors"


def ct_scoring_options(wildcards):
    """score-variants' options from the zero_shot block: the window (default the backbone's context), strands, batch."""
    return shlex.join(["--window", str(ct_scoring_window(wildcards.backbone)), "--strands", CT_ZERO_SHOT["strands"],
                       "--batch-size", str(CT_ZERO_SHOT["batch_size"])])


def ct_scoring_window(backbone):
    """The scoring window in bases: zero_shot.window, else the backbone's context."""
    return CT_ZERO_SHOT["window"] or CT_STUDY["backbones"][backbone]["context_length"]


def ct_zero_shot_backbone_dir(wildcards):
    """The backbone's model directory the zero-shot arm scores with: the first replicate's."""
    return ct_backbone_dir(wildcards.backbone, CT_ZERO_SHOT_REPLICATE.pretrain_seed)
