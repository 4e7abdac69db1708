"""Cross-references in the virBERT block that its schema (config.schema.yaml beside this file) cannot express."""

from __future__ import annotations

from genolm.config import load_schema, name_hint, unknown_name
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
        _check_training_by_length(study, arm, f"{where}.training_by_length", source)
    for name, variant in study["variants"].items():
        if variant["min_length"] > variant["max_length"]:
            raise GenolmInputError(source, f"{key}.variants.{name}: min_length exceeds max_length")


def _check_training_by_length(study: dict, arm: dict, where: str, source: str) -> None:
    """Each entry names a length the arm trains at and only keys of the `training` block (the schema cannot fill
    defaults into an override without them replacing the arm's own settings)."""
    known = load_schema()["$defs"]["training"]["properties"]
    lengths = arm.get("lengths") or study["lengths"]
    for length, settings in arm.get("training_by_length", {}).items():
        if int(length) not in lengths:
            raise GenolmInputError(source, f"{where}: length {length} is not one the arm trains at "
                                           f"({', '.join(map(str, lengths))})")
        for name in settings:
            if name not in known:
                raise GenolmInputError(source, f"{where}.{length}: unknown training key {name!r} {name_hint(name, known)}")
