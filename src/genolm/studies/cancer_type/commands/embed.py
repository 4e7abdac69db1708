from __future__ import annotations

from pathlib import Path

from genolm.results import write_table

HELP = ("Pooled embeddings of mutated and reference windows from a fine-tuned model or a pretrained backbone "
        "(input of plot-umap).")


def add_arguments(parser) -> None:
    parser.add_argument("--model", type=Path, required=True,
                        help="fine-tuned model directory (<job>/model), or a backbone's (genolm's or a released one)")
    parser.add_argument("--reference", type=Path, required=True, help="indexed reference FASTA (chromosome lengths)")
    parser.add_argument("--mutated-shards", type=Path, required=True)
    parser.add_argument("--splits", nargs="+", default=["test"], help="splits of the mutated shards to embed")
    parser.add_argument("--reference-shards", type=Path, required=True, help="reference windows of the first chromosomes")
    parser.add_argument("--context-length", type=int, required=True, help="tokens per input, as the model was trained")
    parser.add_argument("--label-names", nargs="+", default=None,
                        help="names of the shards' labels 0, 1, ... (a backbone's; a fine-tuned model's head has them)")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default: 32)")
    parser.add_argument("--out", type=Path, required=True, help="embeddings.parquet")


def run(args) -> int:
    # Imported here, not at the top: `genolm --help` imports every command module, and torch takes seconds.
    import torch

    from genolm.studies.cancer_type.embeddings import embedding_table

    device = "cuda" if torch.cuda.is_available() else "cpu"
    table = embedding_table(args.model, reference=args.reference, mutated_shards=args.mutated_shards,
                            mutated_splits=args.splits, reference_shards=args.reference_shards,
                            context_length=args.context_length, label_names=args.label_names,
                            batch_size=args.batch_size, device=device)
    write_table(table, args.out)
    return 0
