"""The small-transformer study's experiments as train specs of the one trainer (genolm.training.trainer).

    pretraining jobs      a kmer_bpe tokenizer learnt on the corpus' train split (k-mer or BigBird-style random
                          words, then BPE), a Longformer / Longalbert built from its preset, MLM or MLM + SOP;
                          seeded with the workflow `seed` (one pretraining per corpus, as in the thesis)
    species experiments   the pretraining job's tokenizer and model directory: init pretrained (the language of
                          the corpus) or random (its architecture, fresh weights: "untrained"); a [CLS] softmax
                          head over every species; top-1 and top-5 on test at the checkpoint chosen on validation
    baselines             kmer-logreg on the same examples (and the majority class, reported by the tables)
"""

from __future__ import annotations

from genolm import models


def pretraining_spec(study: dict, name: str) -> dict:
    job = study["pretraining"][name]
    model = dict(job["model"])
    # Positions for the job's context (in tokens), sized by the model itself unless the config sets them.
    if "name" in model:
        for key, value in models.context_config(model["name"], job["context_length"]).items():
            model.setdefault(key, value)
    return {
        "tokenizer": dict(job["tokenizer"]),
        "model": model,
        "objective": dict(job["objective"]),
        "init": "random",
        "context_length": job["context_length"],
        "training": dict(job.get("training", {})),
    }


def species_spec(study: dict, name: str, pretrained_dir: str | None, label_names: list[str]) -> dict:
    """The train spec of species experiment `name`; `pretrained_dir` is the model directory of its `init_from`
    pretraining job (None for a baseline)."""
    species = study["species"]
    experiment = species["experiments"][name]
    head = {"name": "classification", **experiment.get("head", {}), "label_names": list(label_names), "top_k": [5]}
    spec = {"context_length": species["context_length"], "head": head, "training": dict(experiment.get("training", {})),
            "shuffle_labels": experiment.get("shuffle_labels", False)}
    if is_baseline(experiment):
        return {**spec, "tokenizer": {"name": "character"}, "model": dict(experiment["model"]), "init": "random"}
    return {**spec, **_pretrained(study, "species", name, pretrained_dir)}


def is_baseline(experiment: dict) -> bool:
    """A `model` without `init_from`: a baseline on characters (with init_from, `model` is a fresh architecture on
    the pretraining job's tokens, e.g. the thesis' ELMo)."""
    return "model" in experiment and "init_from" not in experiment


def model_name(study: dict, name: str) -> str:
    """The results table's `model` column of a species experiment."""
    return task_model_name(study, "species", name)


def tokenizer_name(study: dict, name: str) -> str:
    return task_tokenizer_name(study, "species", name)


def pretraining_tokenizer_name(study: dict, name: str) -> str:
    tokenizer = study["pretraining"][name]["tokenizer"]
    if tokenizer.get("name") == "kmer_bpe":
        if tokenizer.get("word_splitting") == "random":
            return f"BB-BPE{tokenizer.get('vocab_size', '')}"
        return f"{tokenizer.get('k')}-mer-BPE{tokenizer.get('vocab_size', '')}"
    return str(tokenizer.get("name", "pretrained"))


def language(study: dict, name: str) -> str:
    """What Table 5.3 calls an experiment's initialisation."""
    experiment = study["species"]["experiments"][name]
    return experiment.get("language", name)


# ---- TSS localization and chromatin profiles --------------------------------------------------------------------
def _pretrained(study: dict, task: str, name: str, pretrained_dir: str | None) -> dict:
    """Tokenizer, model and init of an experiment built on pretraining job `init_from` (its model directory
    `pretrained_dir`): its weights or its architecture afresh, or another architecture (`model`) with fresh weights
    on its tokens."""
    experiment = study[task]["experiments"][name]
    if pretrained_dir is None:
        raise ValueError(f"{task} experiment {name!r} needs the model directory of {experiment['init_from']!r}")
    if "model" in experiment:
        return {"tokenizer": {"pretrained": pretrained_dir}, "model": dict(experiment["model"]), "init": "random"}
    return {"tokenizer": {"pretrained": pretrained_dir}, "model": {"checkpoint": pretrained_dir},
            "init": experiment["init"]}


def tss_spec(study: dict, name: str, pretrained_dir: str | None) -> dict:
    """TSS localization: the pretraining job's tokenizer and model, a token-scoring head (softmax over the real
    tokens, the TSS token as target), checkpoint chosen on validation accuracy."""
    tss = study["tss"]
    experiment = tss["experiments"][name]
    return {**_pretrained(study, "tss", name, pretrained_dir), "context_length": tss["context_length"],
            "head": {"name": "localization", "dropout": experiment["dropout"], "top_k": [3]},
            "training": dict(experiment.get("training", {}))}


def chromatin_spec(study: dict, name: str, pretrained_dir: str | None, label_names: list[str],
                   label_groups: dict[str, list[str]]) -> dict:
    """Chromatin profiles: a multi-label head (one sigmoid per label column, positives weighted by `pos_weight`),
    or the k-mer logistic regression (one per label) on the same sequences."""
    chromatin = study["chromatin"]
    experiment = chromatin["experiments"][name]
    head = {"name": "multilabel", **experiment.get("head", {}), "label_names": list(label_names),
            "label_groups": {k: list(v) for k, v in label_groups.items()}, "pos_weight": chromatin["pos_weight"]}
    context_length = chromatin_context_length(study, name)
    spec = {"context_length": context_length, "head": head, "training": dict(experiment.get("training", {}))}
    if is_baseline(experiment):
        return {**spec, "tokenizer": {"name": "character"}, "model": dict(experiment["model"]), "init": "random"}
    spec = {**spec, **_pretrained(study, "chromatin", name, pretrained_dir)}
    pretraining = pretraining_spec(study, experiment["init_from"])
    if "model" not in experiment and experiment["init"] == "random" and context_length > pretraining["context_length"]:
        # Table 5.4's untrained 512- and 1,024-token rows: the pretraining job's architecture (and tokenizer) with a
        # position table of this length; a copy of its checkpoint's architecture would have too few positions.
        spec["model"] = {**pretraining["model"], "max_position_embeddings": context_length}
    return spec


def chromatin_context_length(study: dict, name: str) -> int:
    """Tokens per input of chromatin experiment `name`: its own context_length, else the task's."""
    chromatin = study["chromatin"]
    return chromatin["experiments"][name].get("context_length") or chromatin["context_length"]


def task_model_name(study: dict, task: str, name: str) -> str:
    """The results table's `model` column of a species / tss / chromatin experiment: a baseline's name, else the
    preset (or name) of its own architecture or its pretraining job's."""
    experiment = study[task]["experiments"][name]
    if is_baseline(experiment):
        return experiment["model"]["name"]
    model = experiment.get("model") or study["pretraining"][experiment["init_from"]]["model"]
    return model.get("preset") or model["name"]


def task_tokenizer_name(study: dict, task: str, name: str) -> str:
    experiment = study[task]["experiments"][name]
    if is_baseline(experiment):
        return f"{experiment['model'].get('k', 6)}-mer spectrum"
    return pretraining_tokenizer_name(study, experiment["init_from"])


def task_language(study: dict, task: str, name: str) -> str:
    return study[task]["experiments"][name].get("language", name)
