"""The study's experiments as specs of the one trainer (genolm.training.trainer, `$defs/train_spec`).

    backbone pretraining   the backbone's model (HyenaDNA by default) from its preset (+ overrides) on reference
                           windows, by the objective its language-model logits take (next token for a causal LM)
    backbone experiments   fine-tuning on the mutated windows: init pretrained / frozen / gradual load the
                           backbone's checkpoint, random copies its architecture with fresh weights
    baseline experiments   a zoo baseline (e.g. the k-mer logistic regression) on the same windows

Labels are lineages (label i is `lineages[i]`); the unit a label belongs to is the cell line (`sample`), so
scarce-label runs subsample cell lines and evaluation adds per-cell-line metrics with bootstrap intervals.
"""

from __future__ import annotations

from genolm import models, objectives, tokenizers

# The windows are read base by base: the character tokenizer frames them with [SEP] (HyenaDNA's convention).
TOKENIZER = {"name": "character"}


def backbone_architecture(backbone: dict) -> dict:
    """The backbone's model (its `model`, a registry name) from its preset and overrides, its positions sized for
    windows of the backbone's context length (bases) by the model itself (genolm.models.context_config)."""
    tokens = tokenizers.tokens_for_bases(TOKENIZER, backbone["context_length"])
    return {"name": backbone["model"], "preset": backbone["preset"], **backbone["overrides"],
            **models.context_config(backbone["model"], tokens)}


def backbone_model_name(backbone: dict) -> str:
    """The results table's `model` column of a backbone: its model and preset, e.g. hyenadna-tiny-1k."""
    return f"{backbone['model']}-{backbone['preset']}"


def pretraining_spec(backbone: dict) -> dict:
    architecture = backbone_architecture(backbone)
    capabilities = models.model_class(architecture["name"]).capabilities
    return {
        "tokenizer": dict(TOKENIZER),
        "model": architecture,
        "objective": objectives.default_for(capabilities),
        "init": "random",
        "context_length": tokenizers.tokens_for_bases(TOKENIZER, backbone["context_length"]),
        "training": backbone["pretraining"]["training"],
    }


def context_tokens(experiment: dict) -> int:
    """Tokens per input of an experiment whose windows are `context_length` bases."""
    return tokenizers.tokens_for_bases(TOKENIZER, experiment["context_length"])


def experiment_spec(study: dict, name: str, backbone_dir: str | None) -> dict:
    """The train spec of experiment `name`; `backbone_dir` is its backbone's model directory (pretrained in the
    workflow or a configured checkpoint), None for a baseline."""
    experiment = study["experiments"][name]
    head = {"name": "classification", "label_names": list(study["lineages"])}
    spec = {
        "tokenizer": dict(TOKENIZER),
        "context_length": context_tokens(experiment),
        "group_column": "sample",
        "training": experiment.get("training", {}),
        "shuffle_labels": experiment["shuffle_labels"],
    }
    if "model" in experiment:
        return {**spec, "model": dict(experiment["model"]), "head": head, "init": "random"}
    if backbone_dir is None:
        raise ValueError(f"experiment {name!r} needs its backbone's model directory")
    return {**spec, "model": {"checkpoint": backbone_dir}, "init": experiment["init"],
            "head": {**experiment["head"], **head}}


def model_name(study: dict, name: str) -> str:
    """The results table's `model` column."""
    experiment = study["experiments"][name]
    if "model" in experiment:
        return experiment["model"]["name"]
    return backbone_model_name(study["backbones"][experiment["backbone"]])
