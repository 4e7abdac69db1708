from __future__ import annotations

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
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    from genolm.training.trainer import discard_stale_state, prepare, run_job, validate_spec

    spec = validate_spec(args.spec, source="--spec")
    model = spec["model"]
    args.model_name = args.model_name or model.get("preset") or model.get("name") or Path(model["checkpoint"]).name
    inputs = [args.shards] + ([Path(model["checkpoint"])] if model.get("checkpoint") else [])
    args.tokenizer_name = args.tokenizer_name or spec["tokenizer"].get("name") or "pretrained"
    job = prepare(spec, shards=args.shards, seed=args.seed)  # bad input fails before an MLflow run is opened
    if rank_zero_only.rank == 0:  # one process decides (under DDP the others would race it for the same files)
        discard_stale_state(args.out, spec, seed=args.seed, inputs=inputs)
    job_run = open_training_run(args, args.out, inputs=inputs)
    run_job(job, job_dir=args.out, run=job_run, plots=args.plots or args.out,
            context=results_context(args, context_length=args.context_bases or spec["context_length"], init=spec["init"]))
    return 0
