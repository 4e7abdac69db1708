"""A masked-LM training step that projects only the masked positions onto the vocabulary (what genolm's masking
objectives do) against one that projects every position (a model's plain forward), side by side in one run.

About 15 % of the positions are scored; with a 6-mer vocabulary (4,101 ids) the output projection of the rest
is most of a small model's step. Both steps give the same loss (tests/test_objectives.py checks it).

    python benchmarks/bench_mlm.py [--preset bert-tiny] [--hidden 64] [--batch 32] [--length 197] [--threads 1]
"""

from __future__ import annotations

import argparse

import torch

from genolm import models, tokenizers
from genolm.objectives import build as build_objective
from genolm.objectives.base import token_cross_entropy
from timing import tokens_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="bert-tiny")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size (the virBERT demo's 64)")
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=197, help="tokens per row (200 nt in 6-mers + 2 specials)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = tokenizers.build("kmer", k=args.k)
    model = models.build("bert", {"preset": args.preset, "hidden_size": args.hidden, "intermediate_size": 4 * args.hidden,
                                  "num_attention_heads": 2, "max_position_embeddings": args.length + 8},
                         tokenizer=tokenizer)
    objective = build_objective("kmer_mlm", tokenizer, model)
    bases = "".join("ACGT"[i] for i in torch.randint(0, 4, (args.batch * (args.length + args.k),)).tolist())
    rows = [bases[i * (args.length + args.k): i * (args.length + args.k) + args.length + args.k - 3]
            for i in range(args.batch)]
    batch = objective.collate(rows, args.length, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def scored_only() -> None:
        objective(model, batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def every_position() -> None:
        out = model(batch["input_ids"], batch["attention_mask"])
        token_cross_entropy(out.logits, batch["labels"]).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    tokens = batch["attention_mask"].numel()
    scored = int((batch["labels"] != -100).sum())
    print(f"BERT {args.preset} hidden {args.hidden}, vocabulary {tokenizer.vocab_size}, batch {args.batch} x "
          f"{args.length} tokens, {scored} scored ({scored / tokens:.1%}), {args.threads} thread(s)")
    rates = {}
    for name, step in (("every position", every_position), ("scored positions only", scored_only)):
        rates[name] = tokens_per_second(step, tokens, args.steps, "cpu")
        print(f"  {name:<22} {rates[name]:>10,.0f} tokens/s")
    print(f"  ratio {rates['scored positions only'] / rates['every position']:.2f}")


if __name__ == "__main__":
    main()
