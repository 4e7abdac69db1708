"""`genolm attention-maps`: one encoder layer's attention, head by head, over a sequence (the ENBED paper's Figure 2;
genolm.inference.attention)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genolm.errors import GenolmInputError

HELP = "heatmaps of every attention head of one encoder layer over a sequence (ENBED Figure 2), with the maps as .npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="model directory (genolm's or a released one)")
    parser.add_argument("--sequences", required=True, type=Path,
                        help="FASTA, parquet (`sequence` column) or shard directory: its first sequence is drawn")
    parser.add_argument("--length", type=int, default=None, help="bases of it to read (default: all)")
    parser.add_argument("--layer", type=int, default=-1, help="encoder layer (default: -1, the last)")
    parser.add_argument("--title", default=None, help="figure title (default: the model directory)")
    parser.add_argument("--plot", required=True, type=Path, help="figure (.png)")
    parser.add_argument("--out", required=True, type=Path, help="the maps (.npz: maps, tokens[, global_weight])")


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from genolm.analysis.plots import plot_attention_heads
    from genolm.atomic import atomic_file
    from genolm.commands.embed_sequences import read_sequences
    from genolm.inference.attention import attention_maps
    from genolm.inference.loading import load_model

    table = read_sequences(args.sequences)
    if table.is_empty():
        raise GenolmInputError(args.sequences, "no sequence")
    sequence = table["sequence"][0][: args.length] if args.length else table["sequence"][0]
    model, tokenizer = load_model(args.model)
    try:
        result = attention_maps(model, tokenizer, sequence, layer=args.layer)
    except ValueError as error:
        raise GenolmInputError(args.model, str(error)) from None
    with atomic_file(args.out) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **result)
    layer = "the last encoder layer" if args.layer == -1 else f"encoder layer {args.layer}"
    plot_attention_heads(result["maps"], args.plot,
                         title=args.title or f"{args.model}: {layer}, {len(sequence)} bases")
