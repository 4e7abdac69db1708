"""The study's experiments as specs of the one trainer (genolm.training.trainer, `$defs/train_spec`).

    backbone pretraining   next-token prediction on reference windows, HyenaDNA from its preset (+ overrides)
    backbone experiments   fine-tuning on the mutated windows: init pretrained / frozen / gradual load the
                           backbone's checkpoint, random copies its architecture with fresh weights
    baseline experiments   a zoo baseline (e.g. the k-mer logistic regression) on the same windows

Labels are lineages (label i is `lineages[i]`); the unit a label belongs to is the cell line (`sample`), so
scarce-label runs subsample cell lines and evaluation adds per-cell-line metrics with bootstrap intervals.
"""

from __future__ import annotations

# The character tokenizer appends [SEP]: a window of L bases is L + 1 tokens, and HyenaDNA's l_max is L + 2.
SPECIAL_TOKENS = 1


def hyenadna_architecture(backbone: dict) -> dict:
    return {"name": "hyenadna", "preset": backbone["preset"], **backbone["overrides"],
            "l_max": backbone["context_length"] + SPECIAL_TOKENS + 1}


def pretraining_spec(backbone: dict) -> dict:
    return {
        "tokenizer": {"name": "character"},
        "model": hyenadna_architecture(backbone),
        "objective": {"name": "next_token"},
        "init": "random",
        "context_length": backbone["context_length"] + SPECIAL_TOKENS,
        "training": backbone["pretraining"]["training"],
    }


def context_tokens(experiment: dict) -> int:
    """Tokens per input of an experiment whose windows are `context_length` bases."""
    return experiment["context_length"] + SPECIAL_TOKENS


def experiment_spec(study: dict, name: str, backbone_dir: str | None) -> dict:
    """The train spec of experiment `name`; `backbone_dir` is its backbone's model directory (pretrained in the
    workflow or a configured checkpoint), None for a baseline."""
    experiment = study["experiments"][name]
    head = {"name": "classification", "label_names": list(study["lineages"])}
    spec = {
        "tokenizer": {"name": "character"},
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
    return f"hyenadna-{study['backbones'][experiment['backbone']]['preset']}"
