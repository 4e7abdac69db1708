"""HyenaDNA forward+backward throughput (tokens/s) at several context lengths, measured side by side in one run.

The ratio column compares each length with the shortest one: Hyena's FFT convolution is O(L log L), so tokens/s
should fall only slowly as the context grows (attention would fall linearly). Runs on CUDA when available
(bf16 autocast), otherwise CPU float32.

    python benchmarks/bench_hyenadna.py [--preset tiny-1k] [--lengths 1024 4096 16384] [--tokens-per-step 32768]
"""

from __future__ import annotations

import argparse

import torch

from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig
from timing import tokens_per_second


def hyenadna_tokens_per_second(model: HyenaDNA, batch: int, length: int, device: str, steps: int) -> float:
    ids = torch.randint(7, 11, (batch, length), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda")

    def step():
        with autocast:
            loss = model(ids).float().logsumexp(-1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return tokens_per_second(step, batch * length, steps, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny-1k")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--tokens-per-step", type=int, default=16384, help="batch = tokens-per-step / length (at least 1)")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"HyenaDNA {args.preset}, forward+backward+AdamW, device {device}, threads {torch.get_num_threads()}")
    print(f"{'length':>8} {'batch':>6} {'tokens/s':>12} {'vs shortest':>12}")
    first = None
    for length in args.lengths:
        config = HyenaDNAConfig.preset(args.preset).with_context(length)
        model = HyenaDNA(config).to(device)
        batch = max(1, args.tokens_per_step // length)
        rate = hyenadna_tokens_per_second(model, batch, length, device, args.steps)
        first = first or rate
        print(f"{length:>8} {batch:>6} {rate:>12,.0f} {rate / first:>12.2f}")


if __name__ == "__main__":
    main()
