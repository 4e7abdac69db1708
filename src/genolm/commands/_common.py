"""Arguments shared by the training and evaluation subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genolm.training.tracking import TrackedRun, parse_tags, resolve_tracking_uri, run_name


def json_arg(text: str):
    """A JSON value given inline, or @path to a JSON/YAML file."""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            content = path.read_text()
        except OSError as error:
            raise argparse.ArgumentTypeError(f"cannot read {path}: {error.strerror or error}") from None
        from genolm.errors import GenolmInputError
        from genolm.yaml_files import load_yaml

        try:
            if path.suffix == ".json":  # YAML 1.1 would read 1e-08 as a string
                return json.loads(content)
            return load_yaml(content, path)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{path} is not valid JSON: {str(error).splitlines()[0]}") from None
        except GenolmInputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None


def split_fraction(text: str) -> tuple[str, float]:
    """A `NAME=FRACTION` argument, e.g. train=0.7."""
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=FRACTION, got {text!r}") from None


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tracking")
    group.add_argument("--mlflow-uri", default=None, help="tracking server URI (default: local store under --results-dir/mlflow)")
    group.add_argument("--results-dir", default="results", help="where the local MLflow store lives")
    group.add_argument("--mlflow-experiment", default="genolm")
    group.add_argument("--run-name", default=None)
    group.add_argument("--tag", action="append", metavar="KEY=VALUE", help="MLflow tag (repeatable): rule, wildcards, ...")


def add_context_arguments(parser: argparse.ArgumentParser) -> None:
    """The descriptive columns of the results table (genolm.results.METRICS_SCHEMA). The label fraction is not
    among them: the trainer records the fraction it really trained on."""
    group = parser.add_argument_group("results table columns")
    group.add_argument("--study", required=True)
    group.add_argument("--task", required=True)
    group.add_argument("--experiment", required=True)
    group.add_argument("--model-name", help="default: the spec's model preset or name")
    group.add_argument("--tokenizer-name", help="default: the spec's tokenizer name")
    group.add_argument("--split-seed", type=int,
                       help="the seed of the data split this run's replicate uses (default: none recorded)")
    group.add_argument("--pretrain-seed", type=int,
                       help="the seed of the pretraining this run's replicate uses (default: none: no pretraining "
                            "by the workflow, e.g. a released checkpoint)")
    group.add_argument("--fold", type=int, help="the cross-validation fold this run validates on (a K-fold protocol); "
                                                "default: none")


def results_context(args, *, context_length: int, init: str) -> dict:
    return {
        "study": args.study, "task": args.task, "experiment": args.experiment, "model": args.model_name,
        "tokenizer": args.tokenizer_name, "context_length": context_length, "init": init,
        "split_seed": args.split_seed, "pretrain_seed": args.pretrain_seed, "seed": args.seed, "fold": args.fold,
    }


def open_run(args, job_dir: Path, inputs: list) -> TrackedRun:
    """The job's MLflow run, named `<study>/<experiment>/seed<seed>` and tagged `study`, `experiment`, `seed`
    (and `fold`) beside the rule's own tags (`rule`, wildcards): every study shares the configured MLflow
    experiment, and a study's runs are the ones with its tag."""
    seed = getattr(args, "seed", None)
    tags = {"rule": getattr(args, "command", None) or "genolm", **parse_tags(args.tag)}  # by hand: the command
    tags.update({"study": args.study, "experiment": args.experiment})
    if seed is not None:
        tags["seed"] = str(seed)
    if args.fold is not None:
        tags["fold"] = str(args.fold)
    return TrackedRun(
        tracking_uri=resolve_tracking_uri(args.mlflow_uri, args.results_dir),
        experiment=args.mlflow_experiment,
        job_dir=job_dir,
        run_name=args.run_name or run_name(args.study, args.experiment, seed, args.fold),
        tags=tags,
        inputs=inputs,
    )


def open_training_run(args, job_dir: Path, inputs: list) -> TrackedRun | None:
    """The training job's MLflow run, opened by global rank 0 only (None on the other DDP processes): under SLURM
    every process starts at once and each would otherwise create a run of its own. The rank comes from the
    launcher's environment (srun's SLURM_PROCID, LOCAL_RANK for the processes Lightning starts itself), read the
    way Lightning reads it."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return open_run(args, job_dir, inputs) if rank_zero_only.rank == 0 else None
