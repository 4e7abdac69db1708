from __future__ import annotations

from pathlib import Path

from genolm.commands._common import add_context_arguments, add_tracking_arguments, json_arg, open_training_run, results_context
from genolm.config import training_settings
from genolm.models.hyenadna import HyenaDNAConfig
from genolm.training.run import build_backbone, finetune

HELP = "Fine-tune HyenaDNA for sequence classification on window shards (init: pretrained, random or frozen)."


def add_arguments(parser) -> None:
    parser.add_argument("--shards", type=Path, required=True, help="labelled window shards (train, val, test)")
    parser.add_argument("--init", choices=["pretrained", "random", "frozen"], required=True)
    parser.add_argument("--backbone", type=Path, help="pretrained model directory (genolm-pretrained or a released checkpoint)")
    parser.add_argument("--shift", type=float, default=0.0, help="exponential-modulation shift of the checkpoint (0.05 for the HF ports)")
    parser.add_argument("--preset", help="architecture for --init random: tiny-1k, small-32k, ...")
    parser.add_argument("--overrides", type=json_arg, default={}, help="HyenaDNAConfig fields as JSON (with --preset)")
    parser.add_argument("--backbone-context", type=int, help="l_max - 2 of the --preset architecture (default: --context-length)")
    parser.add_argument("--context-length", type=int, required=True)
    parser.add_argument("--label-names", nargs="+", required=True, help="class names in label order, e.g. Lung Lymphoid")
    parser.add_argument("--training", type=json_arg, default={}, help="training settings as JSON or @file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="job directory")
    parser.add_argument("--plots", type=Path, help="directory for the loss-curve figure (default: --out)")
    add_tracking_arguments(parser)
    add_context_arguments(parser)


def run(args) -> int:
    architecture = None
    if args.preset:
        architecture = HyenaDNAConfig(**{**HyenaDNAConfig.preset(args.preset).__dict__, **args.overrides})
        architecture = architecture.with_context(args.backbone_context or args.context_length)
    backbone = build_backbone(args.init, weights=args.backbone, architecture=architecture,
                              context_length=args.context_length, shift=args.shift, seed=args.seed)
    training = training_settings(args.training)
    job_run = open_training_run(args, args.out, inputs=[p for p in (args.shards, args.backbone) if p])
    finetune(shards=args.shards, job_dir=args.out, backbone=backbone, init=args.init, label_names=args.label_names,
             context_length=args.context_length, training=training, seed=args.seed, run=job_run, plots=args.plots or args.out,
             context=results_context(args, context_length=args.context_length, init=args.init))
    return 0
