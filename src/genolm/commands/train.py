from __future__ import annotations

import sys
from pathlib import Path

from genolm.commands._common import add_context_arguments, add_tracking_arguments, json_arg, open_training_run, results_context

HELP = ("Train any model (HyenaDNA, BERT/DNABERT, Longformer, ALBERT, Longalbert, ENBED, baselines) with any "
        "tokenizer, by a pretraining objective or a task head, from a YAML/JSON spec (genolm.training.trainer).")


def add_arguments(parser) -> None:
    parser.add_argument("--spec", type=json_arg, required=True,
                        help="the job spec as JSON or @file.yaml (schema: $defs/train_spec in genolm/schemas/config.schema.yaml)")
    parser.add_argument("--shards", type=Path, required=True, help="window shards (train; val and test when present)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="job directory; <out>/model is the trained model")
    parser.add_argument("--plots", type=Path, help="directory for the loss-curve figure (default: --out)")
    parser.add_argument("--context-bases", type=int,
                        help="the results table's context_length: the input's length in bases when the study compares "
                             "contexts in bases (default: the spec's context_length, in tokens)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (the rule's `threads`; default: torch's own)")
    add_tracking_arguments(parser)
    add_context_arguments(parser)


def run(args) -> int:
    from genolm.runtime import training_runtime

    # Threads (jobs sharing a node must not each take every core), the allocator's log line, float32 linear
    # layers on oneDNN (genolm.runtime).
    with training_runtime(args.threads):
        return _train(args)


def _train(args) -> int:
    from genolm.training.checkpoints import TrainingInterrupted
    from genolm.training.trainer import train, validate_spec

    spec = validate_spec(args.spec, source="--spec")
    model = spec["model"]
    args.model_name = args.model_name or model.get("preset") or model.get("name") or Path(model["checkpoint"]).name
    args.tokenizer_name = args.tokenizer_name or spec["tokenizer"].get("name") or "pretrained"
    opened = []

    def open_run(inputs: list[Path]):
        opened.append(open_training_run(args, args.out, inputs=inputs))
        return opened[-1]

    try:
        train(spec, shards=args.shards, job_dir=args.out, seed=args.seed, plots=args.plots or args.out,
              context=results_context(args, context_length=args.context_bases or spec["context_length"], init=spec["init"]),
              open_run=open_run)
    except TrainingInterrupted as stop:
        if opened and opened[0] is not None:
            opened[0].finish("KILLED")  # the rerun continues this run (and sets it running again)
        print(f"genolm train: interrupted: {stop}", file=sys.stderr)
        # SystemExit, not a return: the command's stage is abandoned (no output left), and the status is the
        # one a shell gives a process the signal killed, so a scheduler or Snakemake sees the job fail.
        raise SystemExit(stop.exit_status) from None
    return 0
