"""The study's jobs as specs of the one trainer (genolm.training.trainer, `$defs/train_spec`).

    variant pretraining   the variant's model (BERT by default; preset + overrides) over k-mers (k, stride)
                          pretrained with the variant's masking objective on the pretraining pieces of the train
                          genomes
    transfer stand-in     the same recipe on windows of the human reference (when no released DNABERT is named)
    arm experiments       `<arm>_L<length>_f<fraction>`: fine-tuning on fragments of one length with a label
                          fraction drawn by genome (group_column `sample` = genome_id): pretrained / frozen load
                          the backbone, random builds the same architecture with fresh weights, baselines fit
                          their own model. Fragments whose tokens exceed the model's `max_tokens` are cut in two
                          halves joined by the split-and-concatenate head ([CLS] of each, or the mean over each
                          half's tokens with `head: {pooling: mean}`; dense + ReLU).

Labels: 0 other virus, 1 phage (genomes.LABEL_NAMES), so `f1/phage` is the binary F1 with phage positive.
"""

from __future__ import annotations

import math

from genolm import models, tokenizers
from genolm.studies.virbert.genomes import LABEL_NAMES


def tokenizer_spec(variant: dict) -> dict:
    return {"name": "kmer", "k": variant["k"], "stride": variant["stride"]}


def architecture(variant: dict) -> dict:
    return {"name": variant["model"], "preset": variant["preset"], **variant["overrides"]}


def pretraining_spec(variant: dict) -> dict:
    return {
        "tokenizer": tokenizer_spec(variant),
        "model": architecture(variant),
        "objective": dict(variant["objective"]),
        "init": "random",
        "context_length": min(variant["max_tokens"],
                              tokenizers.tokens_for_bases(tokenizer_spec(variant), variant["max_length"])),
        "training": variant["training"],
    }


def experiment_name(arm: str, length: int, fraction: float) -> str:
    return f"{arm}_L{length}_f{fraction:g}"


def arm_grid(study: dict) -> list[tuple[str, int, float]]:
    """(arm, length, fraction) of every experiment, in config order."""
    out = []
    for arm, spec in study["arms"].items():
        for length in spec.get("lengths") or study["lengths"]:
            for fraction in spec.get("label_fractions") or study["label_fractions"]:
                out.append((arm, length, fraction))
    return out


def backbone_variant(study: dict, arm: dict) -> dict:
    """The variant whose tokenizer and architecture an arm's backbone has."""
    name = study["transfer"]["variant"] if arm["backbone"] == "transfer" else arm["backbone"]
    return study["variants"][name]


def arm_training(arm: dict, length: int) -> dict:
    """An arm's training settings at one fragment length: `training` with that length's `training_by_length`
    entry over it (the documents tuned one batch size per length)."""
    return {**arm.get("training", {}), **arm.get("training_by_length", {}).get(str(length), {})}


def experiment_spec(study: dict, arm_name: str, length: int, fraction: float, backbone_dir: str | None) -> dict:
    """The train spec of one experiment; `backbone_dir` is the backbone's model directory (None for random
    init and baselines)."""
    arm = study["arms"][arm_name]
    spec = {"label_fraction": fraction, "group_column": "sample", "training": arm_training(arm, length),
            "shuffle_labels": arm.get("shuffle_labels", False)}
    head = {"name": "classification", "label_names": list(LABEL_NAMES), **arm.get("head", {})}
    if "model" in arm:
        tokenizer = arm.get("tokenizer") or {"name": "kmer", "k": 6}
        if models.model_class(arm["model"]["name"]).capabilities.pooled_embedding:
            head["pooling"] = "mean"
        return {**spec, "tokenizer": tokenizer, "model": dict(arm["model"]), "init": "random", "head": head,
                "context_length": tokenizers.tokens_for_bases(tokenizer, length)}
    variant = backbone_variant(study, arm)
    tokens = tokenizers.tokens_for_bases(tokenizer_spec(variant), length)
    if tokens > variant["max_tokens"]:
        tokens = tokenizers.tokens_for_bases(tokenizer_spec(variant), math.ceil(length / 2))
        head = {**head, "name": "split_concat", "hidden_size": head.get("hidden_size")}
    if arm["init"] == "random":
        return {**spec, "tokenizer": tokenizer_spec(variant), "model": architecture(variant), "init": "random",
                "head": head, "context_length": tokens}
    if backbone_dir is None:
        raise ValueError(f"arm {arm_name!r} needs its backbone's model directory")
    return {**spec, "tokenizer": {"pretrained": backbone_dir}, "model": {"checkpoint": backbone_dir},
            "init": arm["init"], "head": head, "context_length": tokens}


def model_name(study: dict, arm_name: str) -> str:
    """The results table's `model` column: what really ran."""
    arm = study["arms"][arm_name]
    if "model" in arm:
        return arm["model"]["name"]
    if arm["backbone"] == "transfer":
        if study["transfer"]["checkpoint"]:
            return "dnabert6-released"
        variant = backbone_variant(study, arm)
        return f"{variant['model']}-{variant['preset']}-human-standin"
    variant = study["variants"][arm["backbone"]]
    return f"{variant['model']}-{variant['preset']}-{arm['backbone']}" + ("-random" if arm["init"] == "random" else "")
