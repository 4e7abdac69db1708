"""`genolm enbed-noise`: the sequencing-noise identification dataset (clean vs noisy segments, balanced)."""

from __future__ import annotations

from pathlib import Path

HELP = "clean genome segments against segments carrying negative-binomial-mixture sequencing errors"


def add_arguments(parser) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="corpus shards (genolm enbed-corpus)")
    parser.add_argument("--length", type=int, required=True, help="segment length (the paper: 512)")
    parser.add_argument("--margin", type=int, default=32, help="extra source bases, so deletions keep the length")
    parser.add_argument("--train", type=int, required=True)
    parser.add_argument("--val", type=int, required=True)
    parser.add_argument("--test", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--model", default="{}", help="noise model parameters as JSON (genolm.studies.enbed.noise.NoiseModel)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    import json

    from genolm.errors import GenolmInputError
    from genolm.studies.enbed.noise import NoiseModel, write_noise_dataset

    try:
        model = NoiseModel(**json.loads(args.model))
    except (TypeError, ValueError) as error:
        raise GenolmInputError("--model", str(error)) from None
    write_noise_dataset(args.corpus, args.out, args.qc, length=args.length, margin=args.margin, train=args.train,
                        val=args.val, test=args.test, seed=args.seed, model=model)
    return 0
