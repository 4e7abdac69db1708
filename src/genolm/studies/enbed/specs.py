"""The study's jobs as specs of the one trainer (genolm.training.trainer, `$defs/train_spec`).

    pretraining    an architecture (ENBED 2:1, 1:1, BPE encoder-decoder: span corruption; decoder-only: next token)
                   on the corpus windows
    reconstruction an architecture a mutation-generation experiment starts from: corpus pieces (masked where
                   noise_density > 0) -> the whole piece, generation head (genolm.studies.enbed.reconstruction)
    experiments    per task: an architecture fine-tuned (init random, or pretrained / gradual from its pretraining)
                   or a baseline model (kmer-logreg for classification, copy-parent for generation)

An architecture names a tokenizer and a model config; `global_tokens` (ENBED's k, a count) becomes LongT5's
block length for the job's context (genolm.models.enbed.global_block_size).
"""

from __future__ import annotations

from genolm import models, objectives, tokenizers
from genolm.models.enbed import global_block_size

# What a baseline reads its sequences through: the byte tokenizer only frames them.
BASELINE_TOKENIZER = {"name": "byte"}

TASKS = ("mutation_generation", "noise_identification", "function_annotation")


def covering_radii(radii: list[int], context_length: int) -> list[int]:
    """The encoder radii cut to `context_length - 1` where that keeps the layers' grouping (genolm.models.enbed: a
    layer whose radius differs from the one before starts a group with its own position bias). A radius that
    spans the whole input attends to the same tokens with the same position buckets as any larger one, so the
    model computes the same function; LongT5 pads its input to blocks of radius + 1 tokens, so the cut radius
    spares the padding (half the time of a 25-token pair at radius 64)."""
    cut = [max(1, min(r, context_length - 1)) for r in radii]
    changes = lambda values: [a != b for a, b in zip(values, values[1:])]  # noqa: E731
    return cut if changes(cut) == changes(radii) else list(radii)


def architecture_model(architecture: dict, context_length: int) -> dict:
    model = dict(architecture["model"])
    if architecture.get("global_tokens"):
        model["global_block_size"] = global_block_size(context_length, architecture["global_tokens"])
    if model.get("local_radius"):
        model["local_radius"] = covering_radii(model["local_radius"], context_length)
    return model


def context_tokens(architecture: dict, length: int) -> int:
    """Tokens of a `length`-base input under the architecture's tokenizer (genolm.tokenizers.tokens_for_bases)."""
    return tokenizers.tokens_for_bases(architecture["tokenizer"], length)


def pretraining_spec(study: dict, name: str) -> dict:
    """The architecture's pretraining: the study's objective where the model's language-model logits take it
    (span corruption for an encoder-decoder), else the plain objective of its kind (next token for a decoder)."""
    architecture = study["architectures"][name]
    context = context_tokens(architecture, study["corpus"]["length"])
    capabilities = models.model_class(architecture["model"]["name"]).capabilities
    objective = objectives.default_for(capabilities, study["pretraining"]["objective"])
    return {"tokenizer": dict(architecture["tokenizer"]), "model": architecture_model(architecture, context),
            "objective": objective, "init": "random", "context_length": context,
            "training": study["pretraining"]["training"]}


def reconstruction_architectures(study: dict) -> list[str]:
    """Architectures a mutation-generation experiment starts from (init other than random) while
    `mutation_generation.reconstruction` is set: each gets one reconstruction pretraining."""
    block = study["mutation_generation"]
    if not block["enabled"] or block["reconstruction"] is None:
        return []
    names = [e["architecture"] for e in block["experiments"].values() if "architecture" in e and e["init"] != "random"]
    return list(dict.fromkeys(names))


def reconstruction_spec(study: dict, name: str) -> dict:
    """Reconstruction pretraining (genolm.studies.enbed.reconstruction) of architecture `name`: the generation
    head on corpus pieces of the pairs' length, from random weights, every family alike."""
    block = study["mutation_generation"]
    architecture = study["architectures"][name]
    context = context_tokens(architecture, block["length"])
    return {"tokenizer": dict(architecture["tokenizer"]), "model": architecture_model(architecture, context),
            "head": {"name": "generation", "num_beams": block["num_beams"], "top_k": [block["num_beams"]]},
            "init": "random", "context_length": context, "training": block["reconstruction"]["training"]}


def task_block(study: dict, task: str) -> dict:
    return study["benchmarks"][task] if task not in TASKS else study[task]


def experiment_spec(study: dict, task: str, name: str, pretrained_dir: str | None, label_names: list[str]) -> dict:
    """The train spec of experiment `name` of `task`; `pretrained_dir` is its architecture's pretraining (init
    pretrained / frozen / gradual: the corpus pretraining, or for mutation generation with `reconstruction` set the
    reconstruction pretraining), None otherwise."""
    block = task_block(study, task)
    experiment = block["experiments"][name]
    generation = task == "mutation_generation"
    head = ({"name": "generation", "num_beams": block["num_beams"], "top_k": [block["num_beams"]]} if generation
            else {"name": "classification", "pooling": "mean", "label_names": list(label_names)})
    length = block["max_length"] if task == "function_annotation" else block["length"]  # bases of an input
    spec = {"head": head, "training": experiment["training"], "init": experiment["init"]}
    if "model" in experiment:  # a baseline: it reads the sequences, the byte tokenizer only frames them
        return {**spec, "tokenizer": dict(BASELINE_TOKENIZER), "model": dict(experiment["model"]), "init": "random",
                "context_length": tokenizers.tokens_for_bases(BASELINE_TOKENIZER, length)}
    architecture = study["architectures"][experiment["architecture"]]
    spec["context_length"] = context_tokens(architecture, length)
    if spec["init"] == "random":
        return {**spec, "tokenizer": dict(architecture["tokenizer"]),
                "model": architecture_model(architecture, spec["context_length"])}
    if pretrained_dir is None:
        raise ValueError(f"experiment {name!r} of {task} starts from a pretraining its architecture does not have")
    spec["unfreeze_every_n_steps"] = experiment["unfreeze_every_n_steps"]
    return {**spec, "tokenizer": {"pretrained": pretrained_dir}, "model": {"checkpoint": pretrained_dir}}


def model_name(study: dict, task: str, name: str) -> str:
    """The results table's `model` column: the architecture, or the baseline's model name."""
    experiment = task_block(study, task)["experiments"][name]
    return experiment["model"]["name"] if "model" in experiment else experiment["architecture"]


def tokenizer_name(study: dict, task: str, name: str) -> str:
    experiment = task_block(study, task)["experiments"][name]
    if "model" in experiment:
        return "sequence"
    return study["architectures"][experiment["architecture"]]["tokenizer"]["name"]
