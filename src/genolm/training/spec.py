"""A train spec checked before anything runs: the schema (with its defaults), the shards' targets against the
head, and the training examples against the batch size. Every failure is a GenolmInputError naming the key, the
file and the record."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from genolm.config import load_schema, validate_config
from genolm.datasets.shards import MANIFEST_NAME, read_manifest
from genolm.errors import GenolmInputError
from genolm.heads import HEADS, names as head_names
from genolm.heads.backbone import fitted_whole

if TYPE_CHECKING:
    from genolm.heads.base import Head
    from genolm.training.trainer import TrainingJob


def validate_spec(spec: dict, source: str = "spec") -> dict:
    """The spec with the schema's defaults filled in; GenolmInputError names the first bad key (a head name
    the registry does not know included, with the close matches)."""
    from genolm.config import unknown_name

    schema = load_schema()
    validated = validate_config(dict(spec), schema={"$defs": schema["$defs"], **schema["$defs"]["train_spec"]},
                                source=source)
    head = validated.get("head")
    if head is not None and head["name"] not in HEADS:
        raise GenolmInputError(source, f"key head.name: {unknown_name('head', head['name'], head_names())}")
    return validated


def check_shards(head: Head | None, shards: Path, splits: tuple[str, ...]) -> None:
    """The shards against the spec before anything is trained, from the manifest's row counts and the target
    columns alone (no sequence is read): every split the job uses has examples, and every target fits the head
    (a class id within its label_names, a multi-label vector of their length). A target beyond the head would
    otherwise fail as a traceback inside the loss, after the run was opened and checkpoints written."""
    manifest = read_manifest(shards)
    for split in splits:
        if manifest["splits"][split].get("rows") == 0:
            raise GenolmInputError(shards / MANIFEST_NAME, f"split {split!r} has no examples: rebuild the shards "
                                                           "with examples in every split")
    if head is not None:
        head.check_shards(shards, manifest, splits)


def check_training_examples(job: TrainingJob) -> None:
    """The training examples (after label subsampling) can train the job: what the head needs of its labels (a
    classifier at least two classes), at least one batch on every process. (A one-class validation or test split
    is allowed: its metrics that need two classes are undefined, genolm.metrics.)"""
    spec, examples = job.spec, len(job.train_windows)
    labelled = f" (label_fraction {spec['label_fraction']})" if spec["label_fraction"] < 1 else ""
    if job.head is not None:
        job.head.check_training_labels(job.shards, job.train_windows.labels,
                                       f"{examples} training examples{labelled}")
    if fitted_whole(job.backbone):
        return  # fitted or scored whole, not in batches
    training = spec["training"]
    devices = training["devices"] if isinstance(training["devices"], int) and training["devices"] > 0 else 1
    processes = devices * training["num_nodes"]
    if examples < training["batch_size"] * processes:
        per = f" per process x {processes} processes" if processes > 1 else ""
        raise GenolmInputError(job.shards, f"the train split has {examples} training examples{labelled}, fewer than "
                                           f"one batch (training.batch_size {training['batch_size']}{per}): lower "
                                           "the batch size or add examples")
