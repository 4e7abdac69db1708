"""`genolm species-spec`: a species experiment's train spec with the species names the dataset stage found."""

from __future__ import annotations

import json
from pathlib import Path

from genolm.commands._common import json_arg

HELP = "fill a species experiment's train spec with the label names (species in label order) of species-dataset"


def add_arguments(parser) -> None:
    parser.add_argument("--spec", type=json_arg, required=True, help="the spec without label_names (JSON or @file)")
    parser.add_argument("--labels", type=Path, required=True, help="labels JSON of `genolm species-dataset`")
    parser.add_argument("--out", type=Path, required=True)


def run(args) -> int:
    from genolm.atomic import atomic_file
    from genolm.errors import GenolmInputError
    from genolm.training.trainer import validate_spec

    try:
        labels = json.loads(args.labels.read_text())
    except (OSError, ValueError) as error:
        raise GenolmInputError(args.labels, f"cannot read the species list: {error}") from None
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise GenolmInputError(args.labels, "expected a JSON list of at least two species names")
    spec = dict(args.spec)
    spec["head"] = {**spec["head"], "label_names": labels}
    validate_spec(json.loads(json.dumps(spec)), source="--spec")
    import yaml

    # YAML, not JSON: `--spec @file` reads files with YAML 1.1, where a JSON number such as 1e-08 is a string.
    with atomic_file(args.out) as tmp:
        Path(tmp).write_text(yaml.safe_dump(json.loads(json.dumps(spec)), sort_keys=False))
    return 0
