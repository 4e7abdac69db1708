"""`genolm interval-overlaps`: test windows whose reference interval overlaps a training window
(genolm.datasets.leaks.interval_overlaps), counted in a QC table, with a threshold that fails the run."""

from __future__ import annotations

from pathlib import Path

HELP = ("Count test windows of a shard set with coordinates that overlap a training window (of any label, of "
        "their own label); exit status 2 when the same-label share exceeds --max-fraction.")


def add_arguments(parser) -> None:
    parser.add_argument("--shards", type=Path, required=True, help="a shard set with coordinates (chrom, ref_start, ref_end)")
    parser.add_argument("--test-split", default="test")
    parser.add_argument("--against-split", default="train")
    # From the config's $defs/leak_check (max_interval_overlap), which holds the default.
    parser.add_argument("--max-fraction", type=float, required=True,
                        help="largest share of test windows overlapping a training window of their own label")
    parser.add_argument("--qc", type=Path, required=True,
                        help="QC table (stage, reason, detail, count): test_windows = no_overlap + overlaps_same_label + "
                             "overlaps_other_label_only")


def run(args) -> int:
    import polars as pl

    from genolm.datasets.leaks import interval_overlaps
    from genolm.datasets.shards import read_shards
    from genolm.errors import GenolmInputError
    from genolm.qc import QCCounts

    if not 0 <= args.max_fraction <= 1:
        raise GenolmInputError("--max-fraction", f"a fraction in [0, 1], got {args.max_fraction}")
    columns = ["chrom", "ref_start", "ref_end", "label"]
    test, train = (pl.from_arrow(read_shards(args.shards, split, columns=columns))
                   for split in (args.test_split, args.against_split))
    result = interval_overlaps(test, train)
    qc = QCCounts("interval_overlaps")
    any_label, same_label = int(result["overlaps_any"].sum()), int(result["overlaps_same_label"].sum())
    # Each test window counted once: the three reasons add up to test_windows.
    qc.add("test_windows", len(result))
    qc.add("no_overlap", len(result) - any_label)
    qc.add("overlaps_same_label", same_label)
    qc.add("overlaps_other_label_only", any_label - same_label)
    qc.require_balance(("test_windows", "no_overlap", ("overlaps_same_label", "overlaps_other_label_only")))
    qc.write(args.qc)
    share = same_label / len(result) if len(result) else 0.0
    if share > args.max_fraction:
        first = result.filter(pl.col("overlaps_same_label")).row(0, named=True)
        raise GenolmInputError(args.shards, f"{same_label} of {len(result)} {args.test_split} windows ({share:.1%}) "
                                            f"overlap a {args.against_split} window of their own label, over "
                                            f"--max-fraction {args.max_fraction}",
                               record=f"first: {first['chrom']}:{first['ref_start']}-{first['ref_end']}")
    return 0
