from __future__ import annotations

from pathlib import Path

from genolm.commands._common import add_context_arguments, add_tracking_arguments, json_arg, open_training_run, results_context
from genolm.config import training_settings
from genolm.models.hyenadna import HyenaDNAConfig
from genolm.training.run import pretrain

HELP = "Pretrain a HyenaDNA backbone by next-token prediction on reference window shards."


def add_arguments(parser) -> None:
    parser.add_argument("--shards", type=Path, required=True, help="reference window shards (train, optional val)")
    parser.add_argument("--preset", required=True, help="HyenaDNA architecture: tiny-1k, small-32k, ...")
    parser.add_argument("--overrides", type=json_arg, default={}, help="HyenaDNAConfig fields as JSON, e.g. '{\"n_layer\": 2}'")
    parser.add_argument("--context-length", type=int, required=True)
    parser.add_argument("--training", type=json_arg, default={}, help="training settings as JSON or @file (schema: $defs.training)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="job directory; <out>/model is the pretrained backbone")
    parser.add_argument("--plots", type=Path, help="directory for the loss-curve figure (default: --out)")
    add_tracking_arguments(parser)
    add_context_arguments(parser)


def run(args) -> int:
    architecture = HyenaDNAConfig.preset(args.preset)
    architecture = HyenaDNAConfig(**{**architecture.__dict__, **args.overrides}).with_context(args.context_length)
    training = training_settings(args.training)
    job_run = open_training_run(args, args.out, inputs=[args.shards])
    pretrain(shards=args.shards, job_dir=args.out, architecture=architecture, training=training, seed=args.seed,
             run=job_run, plots=args.plots or args.out, context=results_context(args, context_length=args.context_length, init="random"))
    return 0
