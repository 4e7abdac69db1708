"""Benchmark: materializing mutated windows versus writing the same table with pyarrow alone.

A synthetic reference (3 chromosomes x 5 Mb) and ~100k mutations over 50 cell lines (DepMap-like mix: mostly
SNVs, some MNVs and indels) are generated once; then, for each requested number of windows, a fresh process

1. materializes the windows (L = 1024 by default) and writes them as shards (`ShardWriter`), and records
   its peak RSS right after that (so the following steps, which hold the whole table, do not count);
2. materializes them again without writing (materialization alone);
3. writes the very same table with pyarrow alone (one zstd ParquetWriter, same batch size).

Output: one row per run with windows/s and MB/s (MB of sequence, 10^6 bases) of each step, the ratio of
materialize+write to pyarrow-only time, and the peak RSS. Run with a small and a much larger number of
windows to see that memory does not grow with the number of windows:

    python benchmarks/bench_materialize.py --windows 20000 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from genolm.sources.reference import ReferenceGenome
from genolm.datasets.shards import ShardWriter, read_shards
from genolm.datasets.windows import materialize_windows
from genolm.qc import QCCounts

CHROMOSOMES = {"chr1": 5_000_000, "chr2": 5_000_000, "chr3": 5_000_000}
SAMPLES = 50
MUTATIONS = 100_000
BATCH = 4096


def make_dataset(workdir: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    sequences = {}
    with open(workdir / "ref.fa", "wb") as handle:
        for name, length in CHROMOSOMES.items():
            sequence = bases[rng.integers(0, 4, length)]
            sequences[name] = sequence
            full = length // 60 * 60
            lines = np.full((full // 60, 61), ord("\n"), dtype=np.uint8)
            lines[:, :60] = sequence[:full].reshape(-1, 60)
            handle.write(f">{name}\n".encode() + lines.tobytes())
            if full < length:
                handle.write(sequence[full:].tobytes() + b"\n")
    rows = {"sample": [], "chrom": [], "pos": [], "ref": [], "alt": []}
    names = list(CHROMOSOMES)
    for i in range(MUTATIONS):
        chrom = names[rng.integers(len(names))]
        p0 = int(rng.integers(1, CHROMOSOMES[chrom] - 10))
        kind = rng.random()
        ref_len = 1 if kind < 0.9 else 2 if kind < 0.93 else 1 if kind < 0.965 else int(rng.integers(2, 12))
        ref = sequences[chrom][p0:p0 + ref_len].tobytes().decode()
        if kind < 0.93:
            alt = "".join("ACGT"[(("ACGT".index(b)) + int(rng.integers(1, 4))) % 4] for b in ref)
        elif kind < 0.965:
            alt = ref + "".join(rng.choice(list("ACGT"), int(rng.integers(1, 10))))
        else:
            alt = ref[0]
        rows["sample"].append(f"ACH-{i % SAMPLES:06d}")
        rows["chrom"].append(chrom)
        rows["pos"].append(p0 + 1)
        rows["ref"].append(ref)
        rows["alt"].append(alt)
    pl.DataFrame(rows).unique(["sample", "chrom", "pos", "ref", "alt"]).sort(
        ["sample", "chrom", "pos", "ref", "alt"]).write_parquet(workdir / "mutations.parquet")


def anchors_for(mutations: pl.DataFrame, n: int) -> pl.DataFrame:
    # Anchors are drawn with replacement, so any number of windows can be asked for.
    chosen = np.random.default_rng(1).integers(0, mutations.height, n)
    return mutations[chosen].with_columns(
        pl.lit(0, dtype=pl.Int64).alias("label"),
        pl.lit("train").alias("split"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("anchor_id"),
    )


def child(workdir: Path, n: int, length: int) -> dict:
    reference = ReferenceGenome(workdir / "ref.fa")
    mutations = pl.read_parquet(workdir / "mutations.parquet")
    anchors = anchors_for(mutations, n)
    out = workdir / f"windows-{n}"
    pa.array(np.arange(1))  # pyarrow imports pandas on its first conversion: keep that one-off out of the timings

    start = time.perf_counter()
    qc = QCCounts("bench")
    with ShardWriter(out, dataset="bench", provenance={}, rows_per_shard=50_000) as writer:
        for batch in materialize_windows(reference, mutations, anchors, length=length, seed=0, qc=qc, batch_size=BATCH):
            writer.write(batch)
    materialize_write = time.perf_counter() - start
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    for _ in materialize_windows(reference, mutations, anchors, length=length, seed=0, qc=QCCounts("bench"),
                                 batch_size=BATCH):
        pass
    materialize_only = time.perf_counter() - start

    table = read_shards(out, "train")
    start = time.perf_counter()
    with pq.ParquetWriter(workdir / f"pyarrow-{n}.parquet", table.schema, compression="zstd") as writer:
        for batch in table.to_batches(max_chunksize=BATCH):
            writer.write_table(pa.Table.from_batches([batch]))
    pyarrow_only = time.perf_counter() - start

    return {
        "windows": qc.get("windows"),
        "other_windows": qc.get("windows") - _single_snv_windows(table),
        "materialize_write_s": materialize_write,
        "materialize_only_s": materialize_only,
        "pyarrow_write_s": pyarrow_only,
        "peak_rss_mb": peak_rss_mb,
    }


def _single_snv_windows(table: pa.Table) -> int:
    # Windows holding only their anchor SNV, the ones materialize_windows cuts out in one vectorized gather.
    first = pl.col("mutations").list.first().struct
    frame = pl.from_arrow(table.select(["mutations", "n_mutations"]))
    return int(frame.select(((pl.col("n_mutations") == 1) & (first.field("ref").str.len_bytes() == 1)
                             & (first.field("alt").str.len_bytes() == 1)).sum()).item())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.workdir, args.child, args.length)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-materialize-") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        make_dataset(workdir)
        print(f"synthetic data: {len(CHROMOSOMES)} x 5 Mb, {MUTATIONS} mutations over {SAMPLES} cell lines "
              f"({time.perf_counter() - start:.1f} s)")
        header = (f"{'windows':>9} {'not 1 SNV':>9} | {'mat+write w/s':>13} {'MB/s':>6} | {'mat only MB/s':>13} | "
                  f"{'pyarrow MB/s':>12} | {'ratio':>5} | {'peak RSS MB':>11}")
        print(header)
        print("-" * len(header))
        for n in args.windows:
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(n), "--workdir", str(workdir), "--length", str(args.length)],
                check=True, stdout=subprocess.PIPE, text=True,
            )
            r = json.loads(result.stdout.strip().splitlines()[-1])
            megabases = r["windows"] * args.length / 1e6
            print(f"{r['windows']:>9} {r['other_windows']:>9} | "
                  f"{r['windows'] / r['materialize_write_s']:>13,.0f} {megabases / r['materialize_write_s']:>6.1f} | "
                  f"{megabases / r['materialize_only_s']:>13.1f} | {megabases / r['pyarrow_write_s']:>12.1f} | "
                  f"{r['materialize_write_s'] / r['pyarrow_write_s']:>5.2f} | {r['peak_rss_mb']:>11.0f}")
        print("ratio = (materialize + write time) / (pyarrow-only write time of the same table)")


if __name__ == "__main__":
    main()
