"""`genolm chromatin-dataset`: the DeepSEA bundle's .mat files -> multi-label shards (train / val / test)."""

from __future__ import annotations

import json
from pathlib import Path

HELP = ("DeepSEA train.mat (MATLAB 7.3) / valid.mat / test.mat (MATLAB v5) -> shards with a label vector per "
        "sequence (the chosen label columns), one split per file")


def add_arguments(parser) -> None:
    parser.add_argument("--bundle", type=Path,
                        help="deepsea_train_bundle.v0.9.tar.gz: its train.mat, valid.mat and test.mat are read from it "
                             "(extracted to a temporary directory beside --out)")
    parser.add_argument("--train", type=Path, help="train.mat (without --bundle)")
    parser.add_argument("--val", type=Path, help="valid.mat")
    parser.add_argument("--test", type=Path, help="test.mat")
    for split in ("train", "val", "test"):
        parser.add_argument(f"--max-{split}", type=int, help=f"keep the first examples of the {split} file")
    parser.add_argument("--columns", type=int, nargs="+", help="label columns to keep (default: all 919)")
    parser.add_argument("--seed", type=int, required=True, help="recorded in the manifest (nothing is drawn)")
    parser.add_argument("--out", type=Path, required=True, help="shard directory")
    parser.add_argument("--labels", type=Path, required=True, help="JSON: label names in column order and groups")
    parser.add_argument("--qc", type=Path, required=True)


def run(args) -> int:
    from genolm.atomic import scratch_directory
    from genolm.errors import GenolmInputError

    if args.bundle is None:
        if args.train is None or args.test is None:
            raise GenolmInputError("--train/--test", "give the bundle's train.mat and test.mat, or --bundle")
        return _build(args)
    if args.train or args.val or args.test:
        raise GenolmInputError("--bundle", "give either the bundle or its .mat files, not both")
    # A scratch directory (named with this process's id): one a SIGKILL leaves is removed by the next run.
    with scratch_directory(args.out.parent, prefix=".deepsea-") as tmp:
        found = extract_bundle(args.bundle, tmp)
        args.train, args.val, args.test = found["train.mat"], found.get("valid.mat"), found["test.mat"]
        return _build(args)


def extract_bundle(bundle: Path, into: Path) -> dict[str, Path]:
    """The bundle's train.mat / valid.mat / test.mat (members anywhere in the archive), extracted into `into`."""
    import tarfile

    from genolm.errors import GenolmInputError

    wanted = {"train.mat", "valid.mat", "test.mat"}
    found: dict[str, Path] = {}
    try:
        with tarfile.open(bundle) as archive:
            for member in archive:
                name = Path(member.name).name
                if member.isfile() and name in wanted and name not in found:
                    with archive.extractfile(member) as source, open(into / name, "wb") as target:
                        while chunk := source.read(1 << 24):
                            target.write(chunk)
                    found[name] = into / name
    except (tarfile.TarError, OSError, EOFError) as error:
        raise GenolmInputError(bundle, f"cannot read the archive: {error}") from None
    missing = {"train.mat", "test.mat"} - set(found)
    if missing:
        raise GenolmInputError(bundle, f"no {', '.join(sorted(missing))} in the archive")
    return found


def _build(args) -> int:
    import numpy as np

    from genolm.atomic import atomic_file
    from genolm.datasets.shards import ShardWriter, build_provenance, shard_schema
    from genolm.errors import GenolmInputError
    from genolm.qc import QCCounts
    from genolm.sources.deepsea import N_LABELS, read_deepsea
    from genolm.studies.small_transformers.chromatin import SPLIT_FILES, chromatin_table, label_groups, label_names

    if args.columns is not None:
        bad = [c for c in args.columns if not 0 <= c < N_LABELS]
        if bad or len(set(args.columns)) != len(args.columns):
            raise GenolmInputError("--columns", f"need distinct label columns in 0..{N_LABELS - 1}, got {args.columns}")
    files = {split: path for split, path in (("train", args.train), ("val", args.val), ("test", args.test)) if path}
    qc = QCCounts("chromatin_dataset")
    provenance = build_provenance(inputs={f"{split}": path for split, path in files.items()},
                                  fields={"columns": args.columns, "max": {s: getattr(args, f"max_{s}") for s in files}})
    first = 0
    with ShardWriter(args.out, dataset="deepsea_chromatin", provenance=provenance, seed=args.seed,
                     schema=shard_schema(targets=True)) as writer:
        for split, path in files.items():
            sequences, labels, found = read_deepsea(path, getattr(args, f"max_{split}"))
            if found != SPLIT_FILES[split]:
                raise GenolmInputError(path, f"holds the bundle's {found!r} arrays ({found}xdata), given as the "
                                             f"{split} file (expected {SPLIT_FILES[split]}xdata)")
            if not sequences:
                raise GenolmInputError(path, "no examples")
            if ((labels != 0) & (labels != 1)).any():
                row = int(np.argwhere((labels != 0) & (labels != 1))[0][0])
                raise GenolmInputError(path, "labels must be 0 or 1", record=f"example {row}")
            chosen = labels if args.columns is None else labels[:, args.columns]
            qc.add("examples_in_split", len(sequences), detail=split)
            qc.add("positive_labels", int(chosen.sum()), detail=split)
            writer.write(chromatin_table(split, sequences, labels, args.columns, path.name, first))
            first += len(sequences)
        writer.add_qc(qc)
    with atomic_file(args.labels) as tmp:
        Path(tmp).write_text(json.dumps({"label_names": label_names(args.columns),
                                         "label_groups": label_groups(args.columns)}, indent=1) + "\n")
    qc.write(args.qc)
    return 0
