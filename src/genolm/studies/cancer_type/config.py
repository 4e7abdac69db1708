"""Cross-references in the cancer-type block that its schema (config.schema.yaml beside this file) cannot express."""

from __future__ import annotations

from genolm.comparisons import unknown_arm
from genolm.config import unknown_name
from genolm.errors import GenolmInputError


def check_config(config: dict, study: dict, source: str) -> None:
    for key in ("reference_source", "mutations_source"):
        if study[key] not in config["sources"]:
            raise GenolmInputError(source, f"key studies.cancer_type.{key}: no source named {study[key]!r} under sources")
    for name, experiment in study.get("experiments", {}).items():
        if "backbone" in experiment and experiment["backbone"] not in study.get("backbones", {}):
            raise GenolmInputError(
                source, f"key studies.cancer_type.experiments.{name}.backbone: "
                        f"{unknown_name('backbone', experiment['backbone'], study.get('backbones', {}))}"
            )
        if "backbone" in experiment:
            limit = study["backbones"][experiment["backbone"]]["context_length"]
            if experiment["context_length"] > limit:
                raise GenolmInputError(source, f"key studies.cancer_type.experiments.{name}.context_length: "
                                               f"{experiment['context_length']} exceeds its backbone's context_length {limit}")
    for name in study["umap"]["experiments"] or []:
        if name not in study.get("experiments", {}):
            raise GenolmInputError(source, f"key studies.cancer_type.umap.experiments: "
                                           f"{unknown_name('experiment', name, study.get('experiments', {}))}")
        if "backbone" not in study["experiments"][name]:
            raise GenolmInputError(source, f"key studies.cancer_type.umap.experiments: {name!r} is a baseline; "
                                           "only backbone experiments have embeddings")
    found = unknown_arm(study["comparisons"], list(study.get("experiments", {})))
    if found is not None:
        index, key, arm = found
        raise GenolmInputError(source, f"key studies.cancer_type.comparisons.{index}.{key}: "
                                       f"{unknown_name('experiment', arm, study.get('experiments', {}))}")
