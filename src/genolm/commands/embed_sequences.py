"""`genolm embed-sequences`: pooled embeddings of any sequences from any backbone (the cancer-type study's
`genolm embed` embeds its own windows with a fine-tuned classifier)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import polars as pl

from genolm.errors import GenolmInputError

HELP = ("embed the sequences of a FASTA, a parquet table (`sequence` column) or a shard set with any backbone: "
        "layer, pooling, long sequences chunked with overlap, strands averaged on request; parquet out")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="model directory (genolm's or a released one)")
    parser.add_argument("--sequences", required=True, type=Path,
                        help="FASTA (plain or gzip), parquet file with a `sequence` column, or a shard directory")
    parser.add_argument("--out", required=True, type=Path, help="embeddings parquet")
    parser.add_argument("--layer", type=int, default=-1, help="-1: the final output (default); i: hidden state i")
    parser.add_argument("--pooling", choices=("cls", "mean", "last"), default="mean", help="default: mean")
    parser.add_argument("--chunk", type=int, default=None, help="bases per chunk (default: the model's context)")
    parser.add_argument("--overlap", type=int, default=None, help="bases shared by consecutive chunks (default: chunk // 4)")
    parser.add_argument("--strands", choices=("both", "forward"), default="forward",
                        help="'both' averages the sequence's and its reverse complement's embeddings (default: forward)")
    parser.add_argument("--batch-size", type=int, default=16, help="chunks per forward pass (default: 16)")


def read_sequences(path: Path) -> pl.DataFrame:
    """`id` and `sequence` (and any other columns of a table) of the input."""
    if path.is_dir():
        from genolm.datasets.shards import read_manifest, read_shards

        parts = []
        for split in read_manifest(path)["splits"]:
            table = pl.from_arrow(read_shards(path, split))
            parts.append(table.with_columns(pl.lit(split).alias("split")))
        table = pl.concat(parts, how="vertical_relaxed")
        return table.with_row_index("id").with_columns(pl.col("id").cast(pl.Utf8))
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1":
        table = pl.read_parquet(path)
        if "sequence" not in table.columns:
            raise GenolmInputError(path, f"no `sequence` column (found: {', '.join(table.columns[:20])})")
        if "id" not in table.columns:
            table = table.with_row_index("id").with_columns(pl.col("id").cast(pl.Utf8))
        return table
    from genolm.sources.fasta import read_fasta

    records = list(read_fasta(path))
    return pl.DataFrame({"id": [title.split()[0] if title else "" for title, _ in records],
                         "sequence": [sequence for _, sequence in records]}, schema={"id": pl.Utf8, "sequence": pl.Utf8})


def run(args: argparse.Namespace) -> None:
    from genolm.inference.embedding import embed_sequences
    from genolm.inference.loading import default_device, default_window, load_model
    from genolm.models.base import require_capability
    from genolm.sources.mutations import write_parquet

    model, tokenizer = load_model(args.model)
    try:
        require_capability(model, "pooled_embedding", "genolm embed-sequences")
    except ValueError as error:
        raise GenolmInputError(args.model, str(error)) from None
    chunk = args.chunk or default_window(model, tokenizer)
    if chunk is None:
        raise GenolmInputError("--chunk", f"a {model.name!r} model has no fixed context: give --chunk (bases)")
    overlap = chunk // 4 if args.overlap is None else args.overlap
    if not 0 <= overlap < chunk or args.batch_size < 1:
        raise GenolmInputError("--overlap", f"need 0 <= overlap < chunk ({chunk}) and a positive batch size, "
                                            f"got overlap {overlap}")
    table = read_sequences(args.sequences)
    empty = table.filter(pl.col("sequence").is_null() | (pl.col("sequence").str.len_chars() == 0))
    if empty.height:
        raise GenolmInputError(args.sequences, "empty sequence", record=f"id {empty['id'][0]}")
    device = default_device()
    try:
        vectors, chunks = embed_sequences(model, tokenizer, table["sequence"].to_list(), chunk=chunk, overlap=overlap,
                                          layer=args.layer, pooling=args.pooling, strands=args.strands,
                                          max_tokens=model.context_tokens, batch_size=args.batch_size, device=device)
    except ValueError as error:
        raise GenolmInputError(args.model, str(error)) from None
    out = table.drop("sequence").with_columns(
        pl.Series("length", table["sequence"].str.len_chars(), dtype=pl.Int64),
        pl.Series("chunks", chunks, dtype=pl.Int64),
        pl.Series("embedding", vectors, dtype=pl.Array(pl.Float32, vectors.shape[1])),
    )
    write_parquet(out, args.out)
    log.info("embedded %d sequences (%d chunks of %d bases) on %s", out.height, int(chunks.sum()), chunk, device)
