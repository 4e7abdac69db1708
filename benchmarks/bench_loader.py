"""Does the training input pipeline keep up? The data loader's tokens/s against what a training step consumes.

The loader is genolm's own (genolm.training.data.WindowDataModule over Parquet shards, collated by the trainer's
Collator through the next-token objective with the character tokenizer), read with 0, 1, 2 ... workers and with
pinned memory when a GPU is present. The consumer is the tiny HyenaDNA (tiny-1k) training step (forward, next-token
loss, backward, AdamW) at the same batch: measured on the CPU, and on the GPU when there is one. Without a GPU the
GPU's consumption is estimated from the step's floating-point operations (torch's FlopCounterMode; FFTs are not
counted, so the estimate errs towards a faster GPU, i.e. a harder target for the loader) at an assumed sustained
rate (`--gpu-tflops`), and the table says so.

    python benchmarks/bench_loader.py [--context 1024] [--batch-size 32] [--workers 0 1 2] [--batches 40]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch.utils.flop_counter import FlopCounterMode

from genolm import models, objectives, tokenizers
from genolm.datasets.shards import SEQUENCE_SCHEMA, ShardWriter
from genolm.training.data import WindowDataModule
from genolm.training.collation import Collator
from timing import tokens_per_second


class OneProcessDataModule(WindowDataModule):
    """The data module outside a Lightning Trainer: one process, rank 0."""

    def _world(self) -> tuple[int, int]:
        return 1, 0


def write_windows(out: Path, windows: int, length: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    sequences = [bases[rng.integers(0, 4, length)].tobytes().decode() for _ in range(windows)]
    table = pa.Table.from_pylist([{"sequence": s, "label": None, "sample": None, "split": "train", "window_id": i}
                                  for i, s in enumerate(sequences)], schema=SEQUENCE_SCHEMA)
    with ShardWriter(out, dataset="bench", provenance={"benchmark": "bench_loader"}, schema=SEQUENCE_SCHEMA) as writer:
        writer.write(table)
    return out


def loader_tokens_per_second(shards: Path, collate, batch_size: int, workers: int, batches: int) -> float:
    data = OneProcessDataModule(shards, collate=collate, batch_size=batch_size, with_labels=False, seed=0,
                                num_workers=workers, eval_splits=())
    data.setup()
    loader = data.train_dataloader()
    iterator = iter(loader)
    next(iterator)  # worker start-up is paid once per run (persistent workers), not per step
    tokens = 0
    start = time.perf_counter()
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        tokens += batch["input_ids"].numel()
    seconds = time.perf_counter() - start
    del iterator, loader
    return tokens / seconds


def consumer(context: int, device: str):
    tokenizer = tokenizers.build("character")
    model = models.build("hyenadna", {"preset": "tiny-1k", "l_max": context + 2}, tokenizer=tokenizer).to(device)
    objective = objectives.build("next_token", tokenizer, model)
    return tokenizer, model.train(), objective


def step_tokens_per_second(model, objective, batch: dict, device: str, steps: int) -> tuple[float, float]:
    """(tokens/s, floating-point operations per step) of the training step on one collated batch."""
    batch = {k: v.to(device) for k, v in batch.items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = objective(model, batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with FlopCounterMode(display=False) as counter:
        step()  # one step counted for its FLOPs (the timing below warms up again)
    return tokens_per_second(step, batch["input_ids"].numel(), steps, device), counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=1024, help="tokens per window (the tiny model's context)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--windows", type=int, default=2048)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batches", type=int, default=40, help="batches timed per loader configuration")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed")
    parser.add_argument("--gpu-tflops", type=float, default=100.0,
                        help="assumed sustained bf16 TFLOP/s of a GPU step, for the estimate without a GPU")
    args = parser.parse_args()

    tokenizer, model, objective = consumer(args.context, "cpu")
    collate = Collator(tokenizer, args.context, objective=objective)
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_windows(Path(tmp) / "shards", args.windows, args.context)
        pinned = torch.cuda.is_available()
        print(f"data loader: {args.windows} windows of {args.context} bases, batch {args.batch_size}, character "
              f"tokenizer, next-token collation, pin_memory={pinned}, {torch.get_num_threads()} torch threads")
        rates = {}
        for workers in args.workers:
            rates[workers] = loader_tokens_per_second(shards, collate, args.batch_size, workers, args.batches)
            print(f"  {workers} worker(s): {rates[workers]:>12,.0f} tokens/s", flush=True)

        probe = OneProcessDataModule(shards, collate=collate, batch_size=args.batch_size, with_labels=False,
                                     seed=0, num_workers=0, eval_splits=())
        probe.setup()
        batch = next(iter(probe.train_dataloader()))

    cpu_rate, flops = step_tokens_per_second(model, objective, batch, "cpu", args.steps)
    tokens = batch["input_ids"].numel()
    print(f"tiny-1k training step (next token, AdamW), batch {args.batch_size} x {args.context}: "
          f"{flops / tokens / 1e6:.1f} MFLOP per token (FFTs not counted)")
    print(f"  CPU float32, {torch.get_num_threads()} threads: {cpu_rate:>12,.0f} tokens/s")
    if torch.cuda.is_available():
        _, gpu_model, gpu_objective = consumer(args.context, "cuda")
        gpu_rate, _ = step_tokens_per_second(gpu_model, gpu_objective, batch, "cuda", max(args.steps, 10))
        gpu_source = f"measured on {torch.cuda.get_device_name()}, bf16 autocast"
    else:
        gpu_rate = args.gpu_tflops * 1e12 / (flops / tokens)
        gpu_source = f"estimated: no GPU here; {args.gpu_tflops:g} TFLOP/s sustained assumed"
    print(f"  GPU ({gpu_source}): {gpu_rate:>12,.0f} tokens/s")

    print(f"{'workers':>8} {'loader/CPU step':>16} {'loader/GPU step':>16}")
    for workers, rate in rates.items():
        print(f"{workers:>8} {rate / cpu_rate:>16.4g} {rate / gpu_rate:>16.3g}")
    # Per worker from the runs with workers (a worker pays the transfer to the training process); 0 workers load
    # in the training process itself, between steps.
    with_workers = {w: r for w, r in rates.items() if w > 0} or rates
    per_worker = max(rate / max(workers, 1) for workers, rate in with_workers.items())
    print(f"workers for the loader to outpace the GPU step (at the best measured tokens/s per worker): "
          f"{math.ceil(gpu_rate / per_worker)}")


if __name__ == "__main__":
    main()
