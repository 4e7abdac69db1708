"""Cross-references in the virBERT block that its schema (config.schema.yaml beside this file) cannot express."""

from __future__ import annotations

from genolm.config import unknown_name
from genolm.errors import GenolmInputError


def check_config(config: dict, study: dict, source: str) -> None:
    if not study.get("enabled"):
        return
    key = "key studies.virbert"
    if study["viral_dataset"] and "viral" not in config.get("datasets", {}):
        raise GenolmInputError(source, f"{key}.viral_dataset: no viral dataset under datasets (set it false, or "
                                       "configure datasets.viral)")
    if not study["viral_dataset"] and not study["extra_genomes"]:
        raise GenolmInputError(source, f"{key}: no genomes (viral_dataset is false and extra_genomes is empty)")
    if abs(sum(study["split"].values()) - 1) > 1e-6:
        raise GenolmInputError(source, f"{key}.split: fractions add up to {sum(study['split'].values())}, not 1")
    transfer = study["transfer"]
    for name, arm in study["arms"].items():
        where = f"{key}.arms.{name}"
        if "backbone" in arm:
            if arm["backbone"] == "transfer":
                if not transfer["checkpoint"] and transfer["variant"] not in study["variants"]:
                    raise GenolmInputError(source, f"{where}.backbone: transfer needs transfer.checkpoint or a "
                                                   "transfer.variant naming a variant")
                if not transfer["checkpoint"] and transfer["reference_source"] not in config["sources"]:
                    raise GenolmInputError(source, f"{key}.transfer.reference_source: no source named "
                                                   f"{transfer['reference_source']!r} under sources")
            elif arm["backbone"] not in study["variants"]:
                raise GenolmInputError(source, f"{where}.backbone: "
                                               f"{unknown_name('variant', arm['backbone'], [*study['variants'], 'transfer'])}")
        for value in arm.get("lengths") or []:
            if value not in study["lengths"]:
                raise GenolmInputError(source, f"{where}.lengths: {value} is not in studies.virbert.lengths")
    for name, variant in study["variants"].items():
        if variant["min_length"] > variant["max_length"]:
            raise GenolmInputError(source, f"{key}.variants.{name}: min_length exceeds max_length")
