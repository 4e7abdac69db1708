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
        if experiment.get("split_design") == "chromosomes" and not study["held_out_chromosomes"]:
            raise GenolmInputError(source, f"key studies.cancer_type.experiments.{name}.split_design: chromosomes "
                                           "needs held_out_chromosomes (e.g. {test: [chr4, chr19]})")
        if experiment.get("oracle") and experiment.get("shuffle_labels"):
            raise GenolmInputError(source, f"key studies.cancer_type.experiments.{name}.shuffle_labels: the oracle "
                                           "trains on no shuffled labels; shuffle a model's or a baseline's")
        checkpoint = study["backbones"].get(experiment.get("backbone"), {}).get("checkpoint") or ""
        if "{" in checkpoint.replace("{seed}", ""):
            raise GenolmInputError(source, f"key studies.cancer_type.backbones.{experiment['backbone']}.checkpoint: "
                                           "the only placeholder a checkpoint path may hold is {seed}")
    for name in study["umap"]["experiments"] or []:
        if name not in study.get("experiments", {}):
            raise GenolmInputError(source, f"key studies.cancer_type.umap.experiments: "
                                           f"{unknown_name('experiment', name, study.get('experiments', {}))}")
        if "backbone" not in study["experiments"][name]:
            raise GenolmInputError(source, f"key studies.cancer_type.umap.experiments: {name!r} is a baseline; "
                                           "only backbone experiments have embeddings")
    for name in study["umap"]["backbones"]:
        if name not in study.get("backbones", {}):
            raise GenolmInputError(source, f"key studies.cancer_type.umap.backbones: "
                                           f"{unknown_name('backbone', name, study.get('backbones', {}))}")
        if f"pretrained-{name}" in study.get("experiments", {}):
            raise GenolmInputError(source, f"key studies.cancer_type.experiments.pretrained-{name}: the name of "
                                           f"umap.backbones' {name!r} figures; rename the experiment")
    for name in study["zero_shot"]["backbones"] or []:
        if name not in study.get("backbones", {}):
            raise GenolmInputError(source, f"key studies.cancer_type.zero_shot.backbones: "
                                           f"{unknown_name('backbone', name, study.get('backbones', {}))}")
    order = {lineage: i for i, lineage in enumerate(study["lineages"])}
    for index, entry in enumerate(study["zero_shot"]["lineage_comparisons"]):
        for key in ("lineage_a", "lineage_b"):
            if entry[key] not in order:
                raise GenolmInputError(source, f"key studies.cancer_type.zero_shot.lineage_comparisons.{index}.{key}: "
                                               f"{unknown_name('lineage', entry[key], order)}")
        if order[entry["lineage_a"]] >= order[entry["lineage_b"]]:
            raise GenolmInputError(source, f"key studies.cancer_type.zero_shot.lineage_comparisons.{index}: "
                                           "lineage_a must come before lineage_b in lineages (flip expected_direction "
                                           "to compare the other way)")
    found = unknown_arm(study["comparisons"], list(study.get("experiments", {})))
    if found is not None:
        index, key, arm = found
        raise GenolmInputError(source, f"key studies.cancer_type.comparisons.{index}.{key}: "
                                       f"{unknown_name('experiment', arm, study.get('experiments', {}))}")
