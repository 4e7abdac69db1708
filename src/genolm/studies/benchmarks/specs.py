"""The study's cells as specs of the one trainer (genolm.training.trainer, `$defs/train_spec`).

A cell is (task, model, setting, run):

    model     a backbone (config `backbones`: fine-tuned end to end, or frozen) or a baseline (`baselines`)
    setting   a backbone's learning rate from `lr_grid` ("lr<value>"); a baseline has the one setting "fixed"
    run       "seed<s>" (the task's own test split, validation a seeded fraction of train) or "fold<k>" (K folds of
              the training split, the Nucleotide Transformer protocol: the folds are the replicates)

Every backbone of a family reads the same head: a linear classification head over the pooling of
FAMILY_POOLING, so a difference between two families on the leaderboard is the backbone's, not the head's.
"""

from __future__ import annotations

import re

# One pooling per family. Causal HyenaDNA: the mean over real tokens (the HyenaDNA paper's sequence-level
# fine-tuning pools the mean); BERT-style encoders: their [CLS] token (DNABERT's sequence classification);
# ENBED's encoder: the mean (genolm's ENBED study).
FAMILY_POOLING = {"hyenadna": "mean", "bert": "cls", "albert": "cls", "longformer": "cls", "longalbert": "cls",
                  "enbed": "mean"}

BASELINE_SETTING = "fixed"


def family(backbone: dict) -> str:
    """The backbone's family: its `family` entry, else its model's or its checkpoint's architecture's registry name."""
    return backbone.get("family") or backbone["model"].get("name") or backbone["architecture"]["model"]["name"]


def lr_setting(lr: float) -> str:
    """The setting name of a learning rate, as it appears in job paths: 0.001 -> "lr0.001"."""
    return f"lr{lr:g}"


def settings(study: dict, model: str) -> list[str]:
    if model in study["baselines"]:
        return [BASELINE_SETTING]
    return [lr_setting(lr) for lr in study["lr_grid"]]


def setting_lr(study: dict, setting: str) -> float:
    for lr in study["lr_grid"]:
        if lr_setting(lr) == setting:
            return lr
    raise ValueError(f"setting {setting!r} is not a learning rate of lr_grid {study['lr_grid']}")


def models(study: dict) -> list[str]:
    """Backbones first, then baselines, in config order (the leaderboard's column order)."""
    return [*study["backbones"], *study["baselines"]]


def runs(study: dict, task: str, seeds: list[int]) -> list[str]:
    folds = study["tasks"][task]["folds"]
    return [f"fold{k}" for k in range(1, folds + 1)] if folds else [f"seed{s}" for s in seeds]


def run_seed(run: str, seeds: list[int]) -> int:
    """A fold run trains with the first seed (the fold, not the seed, varies); a seed run with its seed."""
    return seeds[0] if run.startswith("fold") else int(run.removeprefix("seed"))


def context_length(study: dict, task: str) -> int:
    """Tokens of an input: the task's length in bases + 2, enough for every tokenizer genolm has (at most one token
    per base, plus [CLS] and [SEP]); the trainer pads on the right and pooling reads the attention mask."""
    return study["tasks"][task]["length"] + 2


def cell_spec(study: dict, task: str, model: str, setting: str) -> dict:
    """The train spec of one cell (the run changes the seed and the shards, not the spec)."""
    context = context_length(study, task)
    label_names = study["tasks"][task]["label_names"]
    if model in study["baselines"]:  # a baseline reads the sequences; the byte tokenizer only frames them
        return {"tokenizer": {"name": "byte"}, "model": dict(study["baselines"][model]["model"]), "init": "random",
                "head": {"name": "classification", "label_names": list(label_names)}, "context_length": context,
                "training": dict(study["training"])}
    backbone = study["backbones"][model]
    head = {"name": "classification", "pooling": FAMILY_POOLING[family(backbone)], "label_names": list(label_names)}
    return {"tokenizer": dict(backbone["tokenizer"]), "model": dict(backbone["model"]), "init": backbone["init"],
            "head": head, "context_length": context,
            "training": {**study["training"], "lr": setting_lr(study, setting)}}


def tokenizer_name(study: dict, model: str) -> str:
    """The results table's `tokenizer` column."""
    if model in study["baselines"]:
        return "sequence"
    tokenizer = study["backbones"][model]["tokenizer"]
    return tokenizer.get("name", "pretrained")


def experiment(task: str, model: str, setting: str) -> str:
    """The results table's experiment of a cell: <task>/<model>/<setting>."""
    return f"{task}/{model}/{setting}"


def parse_experiment(name: str) -> tuple[str, str, str]:
    match = re.fullmatch(r"([^/]+)/([^/]+)/([^/]+)", name)
    if match is None:
        raise ValueError(f"experiment {name!r} is not <task>/<model>/<setting>")
    return match.group(1), match.group(2), match.group(3)


def protocol(study: dict, task: str, seeds: list[int]) -> str:
    """One line naming the protocol of a task's cells, printed beside the leaderboard's numbers."""
    block = study["tasks"][task]
    split = (f"{block['folds']}-fold CV of train (val = held-out fold), fixed test" if block["folds"]
             else f"task's test split, val {block['val_fraction']:g} of train per seed, seeds {','.join(map(str, seeds))}")
    grid = ", ".join(f"{lr:g}" for lr in study["lr_grid"])
    return (f"genolm: {split}; {study['training']['max_steps']} steps, lr from {{{grid}}} by mean val {block['metric']}; "
            f"checkpoint best on val; inputs cut to {block['length']} bases")
