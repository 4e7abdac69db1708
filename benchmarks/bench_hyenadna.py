"""HyenaDNA speed and memory: genolm against the reference implementation, memory with activation checkpointing,
and the GPU table.

    python benchmarks/bench_hyenadna.py ratios  [--lengths 1025 1024 ...] [--tokens-per-step 16384] [--reps 3]
    python benchmarks/bench_hyenadna.py memory  [--preset small-32k] [--lengths 16384 32768 65536]
    python benchmarks/bench_hyenadna.py gpu     [--device cuda] [--presets tiny-1k small-32k medium-160k]

`ratios` times genolm's HyenaDNA and the reference `standalone_hyenadna.py` (installed pinned, see
reference_hyenadna.py) carrying the same weights, in this process, interleaved (genolm then reference, then the
other order, best of `--reps`, CPU seconds by default), on one CPU thread in float32: forward (train mode, no gradients), forward +
backward (the training step without the optimizer) and the eval-mode embedding (no gradients, batches of one
length after another: genolm's cached filter spectrum applies). Ratio = reference time / genolm time: above 1,
genolm is faster. It also prints the largest relative difference of the two models' outputs.

`memory` runs one forward+backward per (length, checkpointing) in a fresh child process and prints the peak
resident memory above the process's footprint before the step (CPU), or torch's peak allocation (CUDA).

`gpu` (bf16 autocast, FFTs in float32) prints training tokens/s and peak memory by length, with and without
checkpointing, and the longest context that trains at batch 1 with checkpointing for each preset (doubling until
out of memory or `--max-context`). `--device cpu` runs the same code on the CPU with small sizes (the tests do).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig

STUDY_LENGTHS = [1025, 1024, 4097, 4096, 16385, 16384, 32769, 32768]


def build_model(preset: str, length: int, device: str = "cpu", checkpointing: bool = False,
                shift: float = 0.0) -> HyenaDNA:
    config = dataclasses.replace(HyenaDNAConfig.preset(preset).with_context(length), shift=shift,
                                 activation_checkpointing=checkpointing)
    return HyenaDNA(config).to(device)


def random_ids(batch: int, length: int, device: str = "cpu") -> torch.Tensor:
    return torch.randint(7, 11, (batch, length), device=device)  # A, C, G, T


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def interleaved_seconds(fns: dict[str, callable], reps: int, clock: str = "cpu") -> dict[str, float]:
    """Fastest time of each function over `reps` calls made in turn (order alternating each repetition) after a
    warm-up. The CPU clock (this process's CPU seconds) is the default: on one thread it is the work done, and
    other processes competing for the cores do not inflate it the way they inflate wall time."""
    now = CLOCKS[clock]
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else reversed(names):
            start = now()
            fns[name]()
            times[name].append(now() - start)
    return {name: min(t) for name, t in times.items()}


def accuracy(ours: HyenaDNA, reference: torch.nn.Module, ids: torch.Tensor) -> dict[str, float]:
    """Relative differences of the eval-mode hidden states: genolm vs reference, and each vs the reference run
    in float64 (the float32 rounding each one has; two independent roundings add up in `diff`)."""
    import reference_hyenadna

    exact = reference_hyenadna.reference_like(ours).double().eval()
    ours.eval(), reference.eval()
    with torch.no_grad():
        a, b, truth = ours.hidden_states(ids).double(), reference(ids).double(), exact(ids)

    def rel(x, y):
        return ((x - y).norm() / y.norm()).item()

    return {"diff": rel(a, b), "genolm": rel(a, truth), "reference": rel(b, truth)}


def ratios(args: argparse.Namespace) -> None:
    import reference_hyenadna

    torch.set_num_threads(args.threads)
    print(f"HyenaDNA {args.preset}: genolm vs reference standalone_hyenadna.py (commit "
          f"{reference_hyenadna.COMMIT[:12]}), CPU float32, {torch.get_num_threads()} thread(s), "
          f"~{args.tokens_per_step} tokens per call, best of {args.reps} interleaved repetitions, {args.clock} time")
    print("ratio = reference time / genolm time (above 1: genolm faster)")
    print("rel diff: |genolm - reference| / |reference| of the hidden states (eval mode); genolm err, reference "
          "err: each against the reference evaluated in float64")
    header = (f"{'length':>7} {'batch':>5} {'fwd ms':>15} {'fwd ratio':>9} {'fwd+bwd ms':>15} {'f+b ratio':>9}"
              f" {'rel diff':>9} {'genolm err':>10} {'ref err':>8}")
    print(header)
    for length in args.lengths:
        torch.manual_seed(0)
        # The reference's modulation shift is 0.05; genolm takes the same for the two to compute one function.
        ours = build_model(args.preset, length, shift=0.05).train()
        reference = reference_hyenadna.reference_like(ours).train()
        batch = max(1, args.tokens_per_step // length)
        ids = random_ids(batch, length)
        errors = accuracy(ours, reference, ids[:1])
        ours.train(), reference.train()

        def forward(model, call):
            def run():
                with torch.no_grad():
                    call(ids)
            return run

        def forward_backward(model, call):
            def run():
                model.zero_grad(set_to_none=True)
                call(ids).square().mean().backward()
            return run

        fwd = interleaved_seconds({"genolm": forward(ours, ours.hidden_states),
                                   "reference": forward(reference, reference)}, args.reps, args.clock)
        fb = interleaved_seconds({"genolm": forward_backward(ours, ours.hidden_states),
                                  "reference": forward_backward(reference, reference)}, args.reps, args.clock)
        print(f"{length:>7} {batch:>5} {fwd['genolm'] * 1e3:>7.0f}/{fwd['reference'] * 1e3:<7.0f}"
              f" {fwd['reference'] / fwd['genolm']:>9.2f} {fb['genolm'] * 1e3:>7.0f}/{fb['reference'] * 1e3:<7.0f}"
              f" {fb['reference'] / fb['genolm']:>9.2f} {errors['diff']:>9.1e} {errors['genolm']:>10.1e}"
              f" {errors['reference']:>8.1e}", flush=True)
        del ours, reference

    if args.embed_length:
        length = args.embed_length
        torch.manual_seed(0)
        ours = build_model(args.preset, length, shift=0.05).eval()
        reference = reference_hyenadna.reference_like(ours).eval()
        batch = max(1, args.tokens_per_step // length)
        batches = [random_ids(batch, length) for _ in range(2)]

        def embed(model, call):
            def run():
                with torch.no_grad():
                    for ids in batches:
                        call(ids).mean(dim=1)
            return run

        emb = interleaved_seconds({"genolm": embed(ours, ours.hidden_states),
                                   "reference": embed(reference, reference)}, args.reps, args.clock)
        print(f"eval-mode embedding (mean-pooled hidden states, no gradients) at L = {length}, batch {batch}: "
              f"genolm {emb['genolm'] * 1e3:.0f} ms, reference {emb['reference'] * 1e3:.0f} ms per "
              f"{len(batches)} batches, ratio {emb['reference'] / emb['genolm']:.2f}")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(args: argparse.Namespace) -> None:
    """One forward+backward; prints JSON {peak_bytes, seconds} (run in a fresh process by `memory`)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.preset, args.length, device=args.device, checkpointing=args.checkpointing).train()
    # A short step first, so that library set-up (FFT plans, kernels, thread pools) is not counted.
    model(random_ids(1, 64, args.device)).float().logsumexp(-1).mean().backward()
    model.zero_grad(set_to_none=True)
    ids = random_ids(1, args.length, args.device)
    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = _rss_bytes()
    start = time.perf_counter()
    model(ids).float().logsumexp(-1).mean().backward()
    if args.device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before  # ru_maxrss is in KiB on Linux
    print(json.dumps({"peak_bytes": peak, "seconds": time.perf_counter() - start}))


def memory(args: argparse.Namespace) -> None:
    print(f"HyenaDNA {args.preset}: peak memory of one forward+backward at batch 1, {args.device}"
          + (" (resident memory above the footprint before the step)" if args.device == "cpu" else ""))
    print(f"{'length':>7} {'plain MiB':>10} {'checkpointed MiB':>17} {'saving':>7} {'plain s':>8} {'ckpt s':>7}")
    for length in args.lengths:
        row = {}
        for checkpointing in (False, True):
            cmd = [sys.executable, __file__, "_memory_child", "--preset", args.preset, "--length", str(length),
                   "--device", args.device, "--threads", str(args.threads)] + (["--checkpointing"] if checkpointing else [])
            # A fixed mmap threshold makes glibc return every large tensor's memory when it is freed, so the
            # resident peak is the peak of live tensors rather than of a fragmented heap.
            env = {**os.environ, "PYTHONPATH": _pythonpath(), "MALLOC_MMAP_THRESHOLD_": "65536"}
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                raise SystemExit(f"memory child failed at L={length}:\n{out.stderr[-2000:]}")
            row[checkpointing] = json.loads(out.stdout.strip().splitlines()[-1])
        plain, ckpt = row[False]["peak_bytes"], row[True]["peak_bytes"]
        print(f"{length:>7} {plain / 2**20:>10.0f} {ckpt / 2**20:>17.0f} {plain / max(ckpt, 1):>6.1f}x"
              f" {row[False]['seconds']:>8.1f} {row[True]['seconds']:>7.1f}", flush=True)


def _pythonpath() -> str:
    here = Path(__file__).resolve().parent
    parts = [str(here.parent / "src"), str(here), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in parts if p)


def training_step(model: HyenaDNA, ids: torch.Tensor, optimizer: torch.optim.Optimizer, device: str) -> None:
    with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
        loss = model(ids).float().logsumexp(-1).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def step_stats(preset: str, length: int, batch: int, device: str, checkpointing: bool, steps: int) -> dict:
    """Training tokens/s and peak memory (CUDA: allocated; CPU: not measured here, None) of one configuration."""
    model = build_model(preset, length, device=device, checkpointing=checkpointing).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = random_ids(batch, length, device)
    training_step(model, ids, optimizer, device)  # warm-up: FFT plans, allocator, optimizer state
    _synchronize(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        training_step(model, ids, optimizer, device)
    _synchronize(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else None
    return {"tokens_per_s": batch * length * steps / seconds, "peak_bytes": peak}


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def longest_trainable_context(preset: str, device: str, start: int, max_context: int) -> int | None:
    """The longest power-of-two multiple of `start` (up to max_context) whose batch-1 training step fits, with
    checkpointing; None if even `start` does not."""
    best = None
    length = start
    while length <= max_context:
        try:
            step_stats(preset, length, 1, device, checkpointing=True, steps=1)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
            if not _is_out_of_memory(error):
                raise
            break
        finally:
            if device == "cuda":
                torch.cuda.empty_cache()
        best = length
        length *= 2
    return best


def gpu(args: argparse.Namespace) -> None:
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run `gpu` on a GPU machine, or pass --device cpu to exercise the code")
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(f"HyenaDNA training step (AdamW) on {name}, bf16 autocast with float32 FFTs"
          if args.device == "cuda" else f"HyenaDNA training step (AdamW) on {name}, float32")
    print(f"{'preset':>12} {'length':>8} {'batch':>5} {'tokens/s':>12} {'peak GiB':>9} {'ckpt tokens/s':>14} {'ckpt GiB':>9}")
    for preset in args.presets:
        for length in args.lengths:
            batch = max(1, args.tokens_per_step // length)
            cells = []
            for checkpointing in (False, True):
                try:
                    stats = step_stats(preset, length, batch, args.device, checkpointing, args.steps)
                    peak = "-" if stats["peak_bytes"] is None else f"{stats['peak_bytes'] / 2**30:.2f}"
                    cells += [f"{stats['tokens_per_s']:,.0f}", peak]
                except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
                    if not _is_out_of_memory(error):
                        raise
                    cells += ["OOM", "-"]
                finally:
                    if args.device == "cuda":
                        torch.cuda.empty_cache()
            print(f"{preset:>12} {length:>8} {batch:>5} {cells[0]:>12} {cells[1]:>9} {cells[2]:>14} {cells[3]:>9}",
                  flush=True)
    print("longest context that trains at batch 1 with activation checkpointing "
          f"(doubling from {args.scan_start}, capped at {args.max_context}):")
    for preset in args.presets:
        best = longest_trainable_context(preset, args.device, args.scan_start, args.max_context)
        print(f"{preset:>12} {best if best is not None else 'none':>10}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("ratios", help="genolm / reference speed ratios (CPU, one thread)")
    p.add_argument("--preset", default="tiny-1k")
    p.add_argument("--lengths", type=int, nargs="+", default=STUDY_LENGTHS)
    p.add_argument("--tokens-per-step", type=int, default=16384, help="batch = tokens-per-step / length (at least 1)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--embed-length", type=int, default=16385, help="eval-mode embedding length (0: skip)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                   help="cpu: process CPU seconds (robust on a shared machine, one thread); wall: elapsed seconds")
    p.set_defaults(run=ratios)

    p = commands.add_parser("memory", help="peak memory of forward+backward with and without checkpointing")
    p.add_argument("--preset", default="small-32k")
    p.add_argument("--lengths", type=int, nargs="+", default=[16384, 32768, 65536])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(run=memory)

    p = commands.add_parser("_memory_child")
    p.add_argument("--preset", required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpointing", action="store_true")
    p.set_defaults(run=memory_child)

    p = commands.add_parser("gpu", help="training tokens/s, peak memory and longest context on a GPU")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--presets", nargs="+", default=["tiny-1k", "small-32k", "medium-160k"])
    p.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 16384, 32768, 65536, 131072])
    p.add_argument("--tokens-per-step", type=int, default=65536)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--scan-start", type=int, default=16384)
    p.add_argument("--max-context", type=int, default=4 * 1024 * 1024)
    p.set_defaults(run=gpu)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
