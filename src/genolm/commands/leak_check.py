"""`genolm leak-check`: k-mer containment of each test unit in the training data or a pretraining corpus
(genolm.datasets.leaks), with a threshold that fails the run."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

HELP = ("K-mer containment of each test unit's sequences in reference sequences (a training split, a pretraining "
        "corpus); per-unit table, and exit status 2 naming the worst unit when one exceeds --max-containment.")

log = logging.getLogger("genolm")
_FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")


def add_arguments(parser) -> None:
    parser.add_argument("--test", type=Path, required=True,
                        help="the test sequences: a shard set directory (split --test-split), a Parquet table with "
                             "sequence and the unit column, or a FASTA file (each record its own unit)")
    parser.add_argument("--test-split", default="test", help="the split of a --test shard set")
    parser.add_argument("--against", type=Path, nargs="+", required=True,
                        help="reference sequences: shard set directories (their --against-split splits), Parquet "
                             "tables with a sequence column, or FASTA files")
    parser.add_argument("--against-split", action="append",
                        help="split(s) of --against shard sets to read (repeatable; default train)")
    parser.add_argument("--unit-column", default="sample", help="the column naming each test sequence's unit")
    # k, scaled and max_containment come from the config's leak_check block ($defs/leak_check), which holds
    # their defaults.
    parser.add_argument("--k", type=int, required=True, help="k-mer length (1..32), e.g. 24")
    parser.add_argument("--scaled", type=int, required=True,
                        help="keep 1/scaled of the k-mers by hash (FracMinHash) for large references; 1 = exact")
    parser.add_argument("--max-containment", type=float, required=True,
                        help="fail when a test unit's containment exceeds this fraction")
    parser.add_argument("--qc", type=Path, required=True,
                        help="per-unit table (TSV): unit, kmers, shared_kmers, containment, over_threshold")


def _is_fasta(path: Path) -> bool:
    return any(path.name.lower().endswith(suffix) for suffix in _FASTA_SUFFIXES)


def _test_units(path: Path, split: str, unit_column: str) -> dict[str, list[str]]:
    from genolm.errors import GenolmInputError

    units: dict[str, list[str]] = defaultdict(list)
    if _is_fasta(path):
        from genolm.sources.fasta import read_fasta

        for title, sequence in read_fasta(path):
            units[title.split()[0] if title.split() else title].append(sequence)
        return units
    if path.is_dir():
        from genolm.datasets.shards import read_shards

        table = read_shards(path, split, columns=["sequence", unit_column])
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except OSError as error:
            raise GenolmInputError(path, f"cannot read as Parquet ({str(error).splitlines()[0]})") from None
        missing = [c for c in ("sequence", unit_column) if c not in table.column_names]
        if missing:
            raise GenolmInputError(path, f"no column(s) {', '.join(missing)} (columns: {', '.join(table.column_names)})")
    for row, (sequence, unit) in enumerate(zip(table["sequence"].to_pylist(), table[unit_column].to_pylist())):
        if unit is None:
            raise GenolmInputError(path, f"the {unit_column} column is null: every test sequence needs a unit",
                                   record=f"row {row}")
        units[str(unit)].append(sequence)
    if not units:
        raise GenolmInputError(path, "no test sequences")
    return units


def _reference_sequences(paths: list[Path], splits: list[str]):
    from genolm.errors import GenolmInputError

    for path in paths:
        if _is_fasta(path):
            from genolm.sources.fasta import read_fasta

            for _, sequence in read_fasta(path):
                yield sequence
        elif path.is_dir():
            from genolm.datasets.shards import read_manifest, read_shards

            present = [s for s in splits if s in read_manifest(path)["splits"]]
            if not present:
                raise GenolmInputError(path, f"none of the splits {', '.join(splits)} in this shard set")
            for split in present:
                yield from read_shards(path, split, columns=["sequence"])["sequence"].to_pylist()
        else:
            import pyarrow.parquet as pq

            try:
                yield from pq.read_table(path, columns=["sequence"])["sequence"].to_pylist()
            except (OSError, KeyError) as error:
                raise GenolmInputError(path, f"cannot read a sequence column ({str(error).splitlines()[0]})") from None


def run(args) -> int:
    import polars as pl

    from genolm.atomic import atomic_file
    from genolm.datasets.leaks import canonical_kmers, unit_containment
    from genolm.errors import GenolmInputError

    if not 1 <= args.k <= 32:
        raise GenolmInputError("--k", f"k must be 1..32, got {args.k}")
    if args.scaled < 1:
        raise GenolmInputError("--scaled", f"must be at least 1, got {args.scaled}")
    if not 0 <= args.max_containment <= 1:
        raise GenolmInputError("--max-containment", f"a fraction in [0, 1], got {args.max_containment}")
    units = _test_units(args.test, args.test_split, args.unit_column)
    reference = canonical_kmers(_reference_sequences(args.against, args.against_split or ["train"]), args.k,
                                scaled=args.scaled)
    table = unit_containment(units, reference, args.k, scaled=args.scaled)
    table = table.with_columns((pl.col("containment") > args.max_containment).fill_null(False).alias("over_threshold"))
    with atomic_file(args.qc) as tmp:
        table.write_csv(tmp, separator="\t")
    measured = table.filter(pl.col("containment").is_not_null())
    log.info("leak-check: %d test units (%d without a valid %d-mer), containment max %.4g, mean %.4g; %d over %.4g",
             len(table), len(table) - len(measured), args.k, measured["containment"].max() or 0.0,
             measured["containment"].mean() or 0.0, int(table["over_threshold"].sum()), args.max_containment)
    over = table.filter(pl.col("over_threshold")).sort("containment", descending=True)
    if len(over):
        worst = over.row(0, named=True)
        raise GenolmInputError(args.test, f"{len(over)} test unit(s) over --max-containment {args.max_containment}; "
                                          f"worst: {worst['containment']:.4f} of its {args.k}-mers are in "
                                          f"{', '.join(map(str, args.against))}",
                               record=f"unit {worst['unit']}")
    return 0
