"""The study's training jobs as the workflow runs them (workflow/rules/studies/benchmarks.smk), for planning
their compute (genolm.compute, `genolm plan-compute`): every model on every task, per setting and run. Label
names are the config's (`tasks.<task>.label_names`)."""

from __future__ import annotations

from genolm.compute import TrainingJob
from genolm.studies.benchmarks import specs

STUDY = "benchmarks"


def job_name(task: str, model: str, setting: str, run: str) -> str:
    """A job's name: its directory under results/benchmarks/."""
    return f"runs/{task}/{model}/{setting}/{run}"


def cells(config: dict, study: dict) -> list[tuple[str, str, str, str]]:
    """(task, model, setting, run) of every training job."""
    if not study["enabled"]:
        return []
    return [(task, model, setting, run) for task in study["tasks"] for model in specs.models(study)
            for setting in specs.settings(study, model) for run in specs.runs(study, task, config["seeds"])]


def architecture(study: dict, model: str) -> dict | None:
    """{model, tokenizer} a checkpoint backbone was built with (its `architecture`, the tokenizer the backbone's own
    where the architecture names none); None where the spec builds the model itself."""
    backbone = study["backbones"].get(model)
    if backbone is None or "checkpoint" not in backbone["model"]:
        return None
    architecture = backbone["architecture"]
    return {"model": dict(architecture["model"]), "tokenizer": dict(architecture.get("tokenizer", backbone["tokenizer"]))}


def training_jobs(config: dict, study: dict) -> list[TrainingJob]:
    return [TrainingJob(STUDY, job_name(*cell), specs.cell_spec(study, *cell[:3]),
                        architecture(study, cell[1]))
            for cell in cells(config, study)]
