"""Cross-references in the enbed block that its schema (config.schema.yaml beside this file) cannot express."""

from __future__ import annotations

from genolm.config import unknown_name
from genolm.errors import GenolmInputError


# The study's own tasks; a benchmark shares their namespace (task_blocks, the runs/<task>/ directories).
BUILTIN_TASKS = ("mutation_generation", "noise_identification", "function_annotation")


def task_blocks(study: dict) -> dict[str, dict]:
    """Every task of the study that is on: task name -> its block (benchmarks by their own name, never a
    built-in task's: check_config refuses that)."""
    tasks = {t: study[t] for t in BUILTIN_TASKS if study[t]["enabled"]}
    return {**tasks, **study["benchmarks"]}


def check_config(config: dict, study: dict, source: str) -> None:
    key = "studies.enbed"
    for name in study["corpus"]["reference_sources"]:
        if name not in config["sources"]:
            raise GenolmInputError(source, f"key {key}.corpus.reference_sources: no source named {name!r} under sources")
    if study["corpus"]["refseq"] and "refseq" not in config.get("datasets", {}):
        raise GenolmInputError(source, f"key {key}.corpus.refseq: no datasets.refseq block to take assemblies from")
    haplotypes = study["corpus"]["haplotypes"]
    if haplotypes is not None:
        for part in ("source", "reference_source"):
            if haplotypes[part] not in config["sources"]:
                raise GenolmInputError(source, f"key {key}.corpus.haplotypes.{part}: no source named {haplotypes[part]!r} under sources")
        files = config["sources"][haplotypes["source"]].get("files", {})
        for name in haplotypes["files"] or []:
            if name not in files:
                raise GenolmInputError(source, f"key {key}.corpus.haplotypes.files: no file {name!r} under "
                                               f"sources.{haplotypes['source']}.files")
        if not (haplotypes["files"] or files):
            raise GenolmInputError(source, f"key {key}.corpus.haplotypes.source: {haplotypes['source']!r} lists no files")
    generation = study["mutation_generation"]
    if generation["enabled"] and (not generation["fasta"] or not generation["pairs"]):
        raise GenolmInputError(source, f"key {key}.mutation_generation: fasta and pairs are needed (or enabled: false)")
    annotation = study["function_annotation"]
    if annotation["enabled"] and (not annotation["gtf"] or not annotation["assembly"]):
        raise GenolmInputError(source, f"key {key}.function_annotation: gtf and assembly are needed (or enabled: false)")
    for task in study["benchmarks"]:
        if task in BUILTIN_TASKS:
            raise GenolmInputError(source, f"key {key}.benchmarks.{task}: a benchmark may not be named like the "
                                           f"built-in task {task!r} (it would replace its runs); rename it "
                                           f"(built-in tasks: {', '.join(BUILTIN_TASKS)})")
        prepared = config.get("datasets", {}).get("benchmarks", {})
        if task not in prepared:
            raise GenolmInputError(source, f"key {key}.benchmarks.{task}: under datasets.benchmarks, "
                                           f"{unknown_name('benchmark', task, prepared)}")
    _check_noise_ranking(study, key, source)
    for name in study["attention_maps"]["architectures"]:
        architecture = study["architectures"].get(name)
        if architecture is None or not architecture["pretrain"]:
            raise GenolmInputError(source, f"key {key}.attention_maps.architectures: "
                                           + (f"{name!r} has pretrain: false (no pretrained model to read)" if architecture
                                              else unknown_name("architecture", name, study["architectures"])))
    for task, block in task_blocks(study).items():
        for name, experiment in block["experiments"].items():
            where = f"{key}.{'benchmarks.' if task in study['benchmarks'] else ''}{task}.experiments.{name}"
            if "/" in name:
                raise GenolmInputError(source, f"key {where}: experiment names may not contain '/'")
            if "architecture" not in experiment:
                continue
            architecture = study["architectures"].get(experiment["architecture"])
            if architecture is None:
                raise GenolmInputError(source, f"key {where}.architecture: "
                                               f"{unknown_name('architecture', experiment['architecture'], study['architectures'])}")
            reconstructed = task == "mutation_generation" and study["mutation_generation"]["reconstruction"] is not None
            if experiment["init"] != "random" and not architecture["pretrain"] and not reconstructed:
                raise GenolmInputError(source, f"key {where}.init: {experiment['init']!r} loads the pretraining of "
                                               f"{experiment['architecture']!r}, which has pretrain: false "
                                               "(and no mutation_generation.reconstruction)")


def _check_noise_ranking(study: dict, key: str, source: str) -> None:
    """Ranked experiments generate candidates (an encoder-decoder or decoder architecture, not copy-parent); the
    classifier is a fine-tuned noise_identification model (not the k-mer baseline)."""
    ranking = study["mutation_generation"]["noise_ranking"]
    if not ranking["experiments"]:
        return
    where = f"key {key}.mutation_generation.noise_ranking"
    generation = study["mutation_generation"]["experiments"] if study["mutation_generation"]["enabled"] else {}
    for name in ranking["experiments"]:
        if name not in generation:
            raise GenolmInputError(source, f"{where}.experiments: {unknown_name('mutation_generation experiment', name, generation)}")
        if "architecture" not in generation[name]:
            raise GenolmInputError(source, f"{where}.experiments: {name!r} is a baseline with one candidate; rank a model's")
    noise = study["noise_identification"]["experiments"] if study["noise_identification"]["enabled"] else {}
    if ranking["classifier"] not in noise:
        raise GenolmInputError(source, f"{where}.classifier: {unknown_name('noise_identification experiment', ranking['classifier'], noise)}")
    if "architecture" not in noise[ranking["classifier"]]:
        raise GenolmInputError(source, f"{where}.classifier: {ranking['classifier']!r} is a baseline without a fine-tuned "
                                       "model; name a model's experiment")
