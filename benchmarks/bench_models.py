"""Forward+backward throughput (input tokens/s) of every zoo model at several input lengths, side by side in one run.

Each model runs a training step (forward, a loss over its language-model logits or, for the classification
baselines, over its hidden states, backward, AdamW) on random token ids of its usual vocabulary: 6-mers for the
BERT family, bytes for ENBED (the decoder gets a target a fifth as long, as span corruption gives), single bases
for HyenaDNA and the baselines. Position tables are sized to each length. Full attention (BERT, ALBERT) grows
quadratically with length, windowed attention (Longformer, Longalbert, ENBED's encoder), Hyena's FFT convolution,
the CNN and the LSTMs about linearly, which the table shows. Runs on CUDA with bf16 autocast when available,
otherwise on the CPU in float32.

    python benchmarks/bench_models.py [--lengths 128 512 2048] [--models bert longformer ...] [--size small|paper]
                                      [--threads N]
"""

from __future__ import annotations

import argparse

import torch

from genolm import models, tokenizers
from genolm.objectives.base import regular_ids
from timing import tokens_per_second

# (registry name, small preset, paper preset, tokenizer, config fields that follow the input length)
MODELS = [
    ("bert", "bert-mini", "dnabert-6", "kmer", ("max_position_embeddings",)),
    ("albert", "albert-small", "albert-base", "kmer", ("max_position_embeddings",)),
    ("longformer", "longformer-small", "longformer-large", "kmer", ("max_position_embeddings",)),
    ("longalbert", "longalbert-small", "longalbert-small", "kmer", ("max_position_embeddings",)),
    ("enbed", "enbed-small", "enbed-base", "byte", ()),
    ("enbed-decoder", "enbed-small-decoder", "enbed-base-decoder", "byte", ()),
    ("hyenadna", "tiny-1k", "small-32k", "character", ("l_max",)),
    ("cnn", "deepsea", "deepsea", "character", ()),
    ("bilstm", "elmo-2x256", "elmo-2x256", "character", ()),
    ("cnn-lstm", "genomenet-like", "genomenet-like", "character", ()),
]
TOKENIZERS = {"kmer": lambda: tokenizers.build("kmer", k=6), "byte": lambda: tokenizers.build("byte"),
              "character": lambda: tokenizers.build("character")}


def training_step(model, ids: torch.Tensor, device: str):
    """One closure: forward, a loss over whatever the model predicts, backward, AdamW."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    mask = torch.ones_like(ids)
    seq2seq = model.capabilities.language_model == "seq2seq"
    extra = {"labels": ids[:, : max(1, ids.shape[1] // 5)].contiguous()} if seq2seq else {}
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda")

    def step() -> None:
        with autocast:
            out = model(ids, mask, **extra)
            scores = out.hidden if out.logits is None else out.logits
            loss = scores.float().logsumexp(-1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def model_tokens_per_second(model, tokenizer, batch: int, length: int, device: str, steps: int) -> float:
    ordinary = regular_ids(tokenizer)
    ids = ordinary[torch.randint(len(ordinary), (batch, length))].to(device)
    return tokens_per_second(training_step(model, ids, device), batch * length, steps, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", help="default: 128 512 2048 on CPU, 1024 4096 16384 on CUDA")
    parser.add_argument("--models", nargs="+", default=[m[0] for m in MODELS], choices=[m[0] for m in MODELS])
    parser.add_argument("--size", choices=["small", "paper"], default="small",
                        help="small presets (quick, CPU) or the papers' configurations")
    parser.add_argument("--tokens-per-step", type=int, help="batch = tokens-per-step / length, at least 1 "
                                                              "(default: 2048 on CPU, 65536 on CUDA)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    args.lengths = args.lengths or ([1024, 4096, 16384] if device == "cuda" else [128, 512, 2048])
    args.tokens_per_step = args.tokens_per_step or (65536 if device == "cuda" else 2048)
    print(f"zoo models ({args.size} presets), forward+backward+AdamW, device {device}, threads {torch.get_num_threads()}")
    print(f"{'model':<14} {'preset':<20} {'parameters':>12} " + " ".join(f"{f'L={n}':>12}" for n in args.lengths)
          + "   (input tokens/s)")
    for name, small, paper, tokenizer_name, length_fields in MODELS:
        if name not in args.models:
            continue
        preset = small if args.size == "small" else paper
        tokenizer = TOKENIZERS[tokenizer_name]()
        rates, parameters = [], 0
        for length in args.lengths:
            config = {"preset": preset, **{f: length + 2 if f == "l_max" else length for f in length_fields}}
            torch.manual_seed(0)
            model = models.build(name, config, tokenizer=tokenizer).to(device).train()
            parameters = model.num_parameters()
            batch = max(1, args.tokens_per_step // length)
            rates.append(model_tokens_per_second(model, tokenizer, batch, length, device, args.steps))
            del model
        print(f"{name:<14} {preset:<20} {parameters:>12,} " + " ".join(f"{r:>12,.0f}" for r in rates), flush=True)


if __name__ == "__main__":
    main()
