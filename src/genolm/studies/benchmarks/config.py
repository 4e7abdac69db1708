"""Cross-references in the benchmarks block that its schema (config.schema.yaml beside this file) cannot express."""

from __future__ import annotations

from genolm.config import unknown_name
from genolm.errors import GenolmInputError
from genolm.studies.benchmarks.specs import FAMILY_POOLING


def check_config(config: dict, study: dict, source: str) -> None:
    key = "studies.benchmarks"
    if not study["enabled"]:
        return
    prepared = config.get("datasets", {}).get("benchmarks", {})
    for task in study["tasks"]:
        if task not in prepared:
            raise GenolmInputError(source, f"key {key}.tasks.{task}: under datasets.benchmarks, "
                                           f"{unknown_name('benchmark', task, prepared)}")
    for name in set(study["backbones"]) & set(study["baselines"]):
        raise GenolmInputError(source, f"key {key}.baselines.{name}: a backbone has this name too (one leaderboard column each)")
    for name, backbone in study["backbones"].items():
        where = f"{key}.backbones.{name}"
        if "checkpoint" in backbone["model"] and "architecture" not in backbone:
            raise GenolmInputError(source, f"key {where}: a checkpoint backbone needs `architecture: {{model: {{name, preset, ...}}}}` "
                                           f"(the model it was built with: its family and planned compute)")
        if "checkpoint" not in backbone["model"] and "name" not in backbone["model"]:
            raise GenolmInputError(source, f"key {where}.model: name a model (name, preset) or a checkpoint directory")
        family = backbone.get("family") or backbone["model"].get("name") or backbone["architecture"]["model"]["name"]
        if family not in FAMILY_POOLING:
            raise GenolmInputError(source, f"key {where}: {unknown_name('model family', family, FAMILY_POOLING)} "
                                           f"(set `family` to one of them)")
