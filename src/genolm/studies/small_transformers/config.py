"""Cross-references in the small-transformer block that its schema (config.schema.yaml beside this file) cannot
express: corpora name sources, pretraining jobs name corpora, experiments name pretraining jobs."""

from __future__ import annotations

from genolm.config import unknown_name
from genolm.errors import GenolmInputError

KEY = "studies.small_transformers"


def check_config(config: dict, study: dict, source: str) -> None:
    sources = config.get("sources", {})
    for name, corpus in study.get("corpora", {}).items():
        where = f"key {KEY}.corpora.{name}"
        if corpus["source"] not in sources:
            raise GenolmInputError(source, f"{where}.source: no source named {corpus['source']!r} under sources")
        spec = sources[corpus["source"]]
        if corpus["kind"] == "mito" and "listing" not in spec:
            raise GenolmInputError(source, f"{where}.source: a mito corpus reads a release directory; "
                                           f"source {corpus['source']!r} has no listing")
        if corpus["kind"] == "reference" and corpus["file"] not in spec.get("files", {}):
            raise GenolmInputError(source, f"{where}.file: source {corpus['source']!r} has no file {corpus['file']!r}")
    for name, job in study.get("pretraining", {}).items():
        if job["corpus"] not in study.get("corpora", {}):
            raise GenolmInputError(source, f"key {KEY}.pretraining.{name}.corpus: "
                                           f"{unknown_name('corpus', job['corpus'], study.get('corpora', {}))}")
    _check_tss(study, sources, source)
    _check_chromatin(study, sources, source)
    species = study["species"]
    if not species["enabled"]:
        return
    markers = species["markers"]
    if markers["kind"] == "fasta":
        if markers.get("source") not in sources or markers.get("file") not in sources[markers["source"]].get("files", {}):
            raise GenolmInputError(source, f"key {KEY}.species.markers: kind fasta needs a source and one of its files "
                                           f"(got source {markers.get('source')!r}, file {markers.get('file')!r})")
    elif "mito" not in config.get("datasets", {}):
        raise GenolmInputError(source, f"key {KEY}.species.markers: kind twelve_s reads resources/mito/12s.parquet; "
                                       "configure datasets.mito")
    for name, experiment in species["experiments"].items():
        if "context_length" in experiment:
            raise GenolmInputError(source, f"key {KEY}.species.experiments.{name}.context_length: only chromatin "
                                           f"experiments have their own context length; set {KEY}.species.context_length")
        _check_fresh_architecture(f"key {KEY}.species.experiments.{name}", experiment, source)
        if "init_from" in experiment and experiment["init_from"] not in study.get("pretraining", {}):
            raise GenolmInputError(source, f"key {KEY}.species.experiments.{name}.init_from: "
                                           f"{unknown_name('pretraining job', experiment['init_from'], study.get('pretraining', {}))}")
        if "init_from" in experiment:
            limit = study["pretraining"][experiment["init_from"]]["context_length"]
            if species["context_length"] > limit:
                raise GenolmInputError(source, f"key {KEY}.species.context_length: {species['context_length']} exceeds "
                                               f"the context_length {limit} of pretraining job {experiment['init_from']!r}")


def _check_fresh_architecture(where: str, experiment: dict, source: str) -> None:
    """`model` beside `init_from` is another architecture on the pretraining job's tokens: fresh weights only."""
    if "model" in experiment and "init_from" in experiment and experiment.get("init") != "random":
        raise GenolmInputError(source, f"{where}.init: {experiment.get('init')!r} would load {experiment['init_from']!r}'s "
                                       f"weights into another architecture ({experiment['model'].get('name')!r}); "
                                       "with `model` beside init_from, init must be random")


def _source_file(sources: dict, where: str, spec: dict, source: str) -> None:
    if spec["source"] not in sources or spec["file"] not in sources[spec["source"]].get("files", {}):
        raise GenolmInputError(source, f"{where}: no file {spec['file']!r} under sources.{spec['source']}.files")


def _check_experiments(study: dict, task: str, context_length: int, source: str) -> None:
    for name, experiment in study[task]["experiments"].items():
        where = f"key {KEY}.{task}.experiments.{name}"
        if "context_length" in experiment and task != "chromatin":
            raise GenolmInputError(source, f"{where}.context_length: only chromatin experiments have their own "
                                           f"context length; set {KEY}.{task}.context_length")
        _check_fresh_architecture(where, experiment, source)
        if "init_from" not in experiment:
            if "context_length" in experiment:
                raise GenolmInputError(source, f"{where}.context_length: a baseline reads the task's context_length")
            continue
        if experiment["init_from"] not in study.get("pretraining", {}):
            raise GenolmInputError(source, f"{where}.init_from: "
                                           f"{unknown_name('pretraining job', experiment['init_from'], study.get('pretraining', {}))}")
        limit = study["pretraining"][experiment["init_from"]]["context_length"]
        own = experiment.get("context_length")
        if own is not None and own > limit and experiment["init"] != "random":
            raise GenolmInputError(source, f"{where}.context_length: {own} exceeds the context_length {limit} of "
                                           f"pretraining job {experiment['init_from']!r}, whose weights init "
                                           f"{experiment['init']!r} loads (only init random can be longer)")
        if own is None and context_length > limit:
            raise GenolmInputError(source, f"key {KEY}.{task}.context_length: {context_length} exceeds the "
                                           f"context_length {limit} of pretraining job {experiment['init_from']!r}")


def _check_tss(study: dict, sources: dict, source: str) -> None:
    tss = study["tss"]
    if not tss["enabled"] or not tss["organisms"]:
        return
    for name, organism in tss["organisms"].items():
        for part in ("bed", "assembly"):
            _source_file(sources, f"key {KEY}.tss.organisms.{name}.{part}", organism[part], source)
    if tss["train_organism"] is None and len(tss["organisms"]) > 1:
        # Not "the first one listed": the same configuration with its keys in another order must plan the same jobs.
        raise GenolmInputError(source, f"key {KEY}.tss.train_organism: name the organism to train on, one of "
                                       f"{', '.join(sorted(tss['organisms']))}")
    if tss["train_organism"] is not None and tss["train_organism"] not in tss["organisms"]:
        raise GenolmInputError(source, f"key {KEY}.tss.train_organism: no organism named {tss['train_organism']!r}")
    _check_experiments(study, "tss", tss["context_length"], source)


def _check_chromatin(study: dict, sources: dict, source: str) -> None:
    chromatin = study["chromatin"]
    if not chromatin["enabled"] or chromatin["source"] is None:
        return
    if chromatin["bundle"] is not None:
        _source_file(sources, f"key {KEY}.chromatin.bundle", {"source": chromatin["source"], "file": chromatin["bundle"]},
                     source)
        return _check_experiments(study, "chromatin", chromatin["context_length"], source)
    for split, name in chromatin["files"].items():
        _source_file(sources, f"key {KEY}.chromatin.files.{split}", {"source": chromatin["source"], "file": name},
                     source)
    _check_experiments(study, "chromatin", chromatin["context_length"], source)
