"""This machine's GEMM peaks, and each training benchmark as a fraction of the float32 peak (issue 27).

    python benchmarks/bench_limits.py [--only peaks|steps|accuracy|attention] [--benchmarks tiny-1k small-32k bert-base]
                                      [--gemm-size 2048] [--reps 5] [--steps 2] [--bert-batch 1]
                                      [--allocators glibc jemalloc]

1. Peaks: an n x n GEMM (`--gemm-size`) through each backend this torch has: the default float32 `torch.mm`
   (MKL on x86), oneDNN's linear (`torch.ops.mkldnn._linear_pointwise`, the op PyTorch's CPU compiler emits),
   and bfloat16 through both. Best of `--reps`, process CPU clock, one thread. The float32 peak is the best
   float32 backend; the bf16 peak the best bf16 one.
2. Training steps (forward, loss, backward, AdamW), one thread, process CPU clock, best of `--steps` after one
   warm-up step: HyenaDNA tiny-1k at L = 1,025 batch 8, small-32k at L = 16,385 batch 1 (next-token loss), and
   BERT-base (dnabert-6: 12 layers, width 768, 6-mer vocabulary) masked LM at 512 tokens, batch `--bert-batch`
   (8 in the issue; 1 by default here: 32 s a step at batch 8). Each runs in a child process per allocator
   (glibc, and jemalloc when its library is found, with `MALLOC_CONF` from `--jemalloc-conf` or, as
   `jemalloc-default`, with jemalloc's own settings), as:
     fp32         genolm's float32 step, PyTorch's default GEMMs (MKL)
     fp32 onednn  the same inside `genolm.models.gemm.onednn_linear()` (linear layers on oneDNN)
     bf16         bfloat16 autocast (precision: bf16-mixed)
     reference    the reference HyenaDNA (benchmarks/reference_hyenadna.py) with genolm's weights, float32
   FLOPs: the GEMM (matmul, linear, bmm, attention) FLOPs of genolm's float32 forward+backward, counted once per
   benchmark by `torch.utils.flop_counter.FlopCounterMode` on exactly the batch that is timed; FFTs, element-wise
   work and the optimizer are not counted. Every variant of a benchmark computes the same function, so the same
   count divides each time. `% fp32 peak` = FLOPs / step time / float32 peak. `faults` = minor page faults per
   step (`getrusage`), i.e. memory the allocator handed back to the kernel and touched again.

3. Accuracy: the gradient of one tiny-1k step (dropout off) under fp32, fp32 onednn and bf16 against float64.
4. Attention (BERT-base's shape): PyTorch's fused `scaled_dot_product_attention` with dropout 0 and with the
   papers' attention dropout 0.1, against the eager softmax-dropout-matmul, forward+backward.

The machine is shared: the CPU clock is robust to other processes taking turns on the cores, not to their
sharing of caches and memory bandwidth, so read ratios within one run, and the printed load with each table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from genolm.runtime import JEMALLOC_CONF, find_jemalloc

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["tiny-1k", "small-32k", "bert-base"]
VARIANTS = ["fp32", "fp32 onednn", "bf16", "reference"]


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def best_seconds(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def gemm_peaks(n: int, reps: int) -> dict[str, float]:
    """GFLOP/s of an n x n x n GEMM through each backend available here."""
    from genolm.models.gemm import onednn_available

    a, b = torch.randn(n, n), torch.randn(n, n)
    flops = 2 * n ** 3
    backends = {"fp32 torch.mm (default, MKL)": lambda: torch.mm(a, b)}
    ab, bb = a.bfloat16(), b.bfloat16()
    if onednn_available():
        linear = torch.ops.mkldnn._linear_pointwise
        backends["fp32 oneDNN linear"] = lambda: linear(a, b, None, "none", [], "")
        backends["bf16 oneDNN linear"] = lambda: linear(ab, bb, None, "none", [], "")
    backends["bf16 torch.mm"] = lambda: torch.mm(ab, bb)
    return {name: flops / best_seconds(fn, reps) / 1e9 for name, fn in backends.items()}


# ---- training steps (child process) ------------------------------------------------------------------------------
def _hyenadna_step(preset: str, length: int, batch: int, variant: str):
    from bench_hyenadna import build_model, random_ids

    torch.manual_seed(0)
    model = build_model(preset, length, shift=0.05).train()
    ids = random_ids(batch, length)
    if variant == "reference":
        import reference_hyenadna

        backbone = reference_hyenadna.reference_like(model).train()
        head = model.lm_head

        def logits(x):
            return head(backbone(x))
        parameters = list(backbone.parameters()) + list(head.parameters())
    else:
        logits, parameters = model, list(model.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)

    def loss() -> torch.Tensor:
        out = logits(ids)
        return F.cross_entropy(out[:, :-1].flatten(0, 1).float(), ids[:, 1:].flatten())

    return loss, optimizer, batch * length


def _bert_step(length: int, batch: int, variant: str):
    from genolm import models, tokenizers
    from genolm.objectives import build as build_objective

    torch.manual_seed(0)
    tokenizer = tokenizers.build("kmer", k=6)
    model = models.build("bert", {"preset": "dnabert-6", "max_position_embeddings": length}, tokenizer=tokenizer)
    model.train()
    objective = build_objective("kmer_mlm", tokenizer, model)
    generator = torch.Generator().manual_seed(0)
    bases = ["".join("ACGT"[i] for i in torch.randint(0, 4, (length + 3,), generator=generator).tolist())
             for _ in range(batch)]
    data = objective.collate(bases, length, generator=generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def loss() -> torch.Tensor:
        return objective(model, data).loss

    return loss, optimizer, data["attention_mask"].numel()


def build_step(benchmark: str, variant: str, bert_batch: int):
    if benchmark == "tiny-1k":
        return _hyenadna_step("tiny-1k", 1025, 8, variant)
    if benchmark == "small-32k":
        return _hyenadna_step("small-32k", 16385, 1, variant)
    return _bert_step(512, bert_batch, variant)


def gemm_flops(loss_fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        loss_fn().backward()
    return counter.get_total_flops()


def time_variant(benchmark: str, variant: str, steps: int, bert_batch: int) -> dict:
    from genolm.models.gemm import onednn_linear

    loss_fn, optimizer, tokens = build_step(benchmark, variant, bert_batch)
    mode = {"fp32 onednn": onednn_linear,
            "bf16": lambda: torch.autocast("cpu", dtype=torch.bfloat16)}.get(variant, contextlib.nullcontext)

    def step() -> float:
        with mode():
            loss = loss_fn()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    step()  # warm-up: allocator, FFT plans, optimizer state
    times, faults = [], []
    for _ in range(steps):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return {"seconds": min(times), "faults": min(faults), "tokens": tokens}


def steps_child(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    loss_fn, _, _ = build_step(args.benchmark, "fp32", args.bert_batch)
    result = {"flops": gemm_flops(loss_fn), "variants": {}}
    del loss_fn
    for variant in args.variants:
        result["variants"][variant] = time_variant(args.benchmark, variant, args.steps, args.bert_batch)
    print(json.dumps(result))


# ---- accuracy -------------------------------------------------------------------------------------------------
def accuracy(args: argparse.Namespace) -> None:
    """Gradients of one tiny-1k step (L = 1,025, batch 2, dropout off) under each variant against float64."""
    import copy

    from bench_hyenadna import random_ids
    from genolm.models.gemm import onednn_linear
    from genolm.models.hyenadna import HyenaDNA, HyenaDNAConfig

    torch.manual_seed(0)
    config = HyenaDNAConfig.preset("tiny-1k").with_context(1025)
    config.embed_dropout = config.resid_dropout = config.hyena_dropout = 0.0
    model = HyenaDNA(config).train()
    ids = random_ids(2, 1025)

    def gradients(net, mode):
        net.zero_grad(set_to_none=True)
        with mode():
            out = net(ids)
        F.cross_entropy(out[:, :-1].flatten(0, 1).double(), ids[:, 1:].flatten()).backward()
        return torch.cat([p.grad.double().flatten() for p in net.parameters() if p.grad is not None])

    exact = gradients(copy.deepcopy(model).double(), contextlib.nullcontext)
    print(f"\ngradient error of one tiny-1k step (L 1,025, batch 2, dropout off) against float64: |g - g64| / |g64|")
    for name, mode in (("fp32", contextlib.nullcontext), ("fp32 onednn", onednn_linear),
                       ("bf16", lambda: torch.autocast("cpu", dtype=torch.bfloat16))):
        print(f"  {name:<12} {((gradients(model, mode) - exact).norm() / exact.norm()).item():.1e}", flush=True)


# ---- attention ------------------------------------------------------------------------------------------------
def attention(args: argparse.Namespace) -> None:
    """BERT-base self-attention (12 heads of 64, 512 tokens), forward+backward, float32, one thread: PyTorch's
    fused SDPA with and without attention dropout against the eager formulation (softmax, dropout, matmul)."""
    batch, heads, length, dim = args.bert_batch, 12, 512, 64
    torch.manual_seed(0)
    q, k, v = (torch.randn(batch, heads, length, dim, requires_grad=True) for _ in range(3))
    grad = torch.randn(batch, heads, length, dim)

    def sdpa(p):
        def run():
            F.scaled_dot_product_attention(q, k, v, dropout_p=p).backward(grad)
        return run

    def eager(p):
        def run():
            weights = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / dim ** 0.5, dim=-1), p)
            (weights @ v).backward(grad)
        return run

    flops = 3 * 2 * 2 * batch * heads * length * length * dim  # QK^T and PV, forward + 2x backward
    print(f"\nattention, BERT-base shape (batch {batch}, 12 heads x 64, {length} tokens), forward+backward, fp32, "
          f"1 thread, best of {args.reps}, CPU clock ({load()})")
    for name, fn in (("SDPA dropout 0", sdpa(0.0)), ("SDPA dropout 0.1", sdpa(0.1)),
                     ("eager dropout 0", eager(0.0)), ("eager dropout 0.1", eager(0.1))):
        seconds = best_seconds(fn, args.reps)
        print(f"  {name:<20} {seconds * 1e3:>8.1f} ms {flops / seconds / 1e9:>7.1f} GFLOP/s", flush=True)


# ---- allocators ----------------------------------------------------------------------------------------------------
def allocator_env(name: str, jemalloc_conf: str) -> dict[str, str] | None:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent / "src"), str(HERE),
                                                     os.environ.get("PYTHONPATH", "")) if p)
    if name.startswith("jemalloc"):
        library = find_jemalloc()
        if library is None:
            return None
        env["LD_PRELOAD"] = library
        if name == "jemalloc":  # jemalloc-default: jemalloc's own settings (freed pages decay back in 10 s)
            env["MALLOC_CONF"] = jemalloc_conf
    env["GENOLM_ALLOCATOR"] = "system"  # the child runs on exactly the allocator chosen here
    return env


def steps(args: argparse.Namespace, fp32_peak: float) -> None:
    print(f"\ntraining steps (forward, loss, backward, AdamW), 1 thread, best of {args.steps} after a warm-up, "
          "CPU clock; GEMM FLOPs of the float32 step (FlopCounterMode; FFTs not counted)")
    print(f"{'benchmark':<10} {'allocator':<16} {'variant':<12} {'GFLOP':>7} {'s/step':>7} {'GFLOP/s':>8} "
          f"{'% fp32 peak':>11} {'vs fp32':>7} {'faults':>8}  load")
    for benchmark in args.benchmarks:
        variants = [v for v in args.variants if v != "reference" or benchmark != "bert-base"]
        for allocator in args.allocators:
            env = allocator_env(allocator, args.jemalloc_conf)
            if env is None:
                print(f"{benchmark:<10} {allocator:<16} (library not found: see docs/performance.md#allocator)")
                continue
            cmd = [sys.executable, __file__, "_steps", "--benchmark", benchmark, "--steps", str(args.steps),
                   "--bert-batch", str(args.bert_batch), "--variants", *variants]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                raise SystemExit(f"{benchmark} ({allocator}) failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            flops = result["flops"]
            base = result["variants"].get("fp32", {}).get("seconds")
            for variant, row in result["variants"].items():
                rate = flops / row["seconds"] / 1e9
                speedup = f"{base / row['seconds']:.2f}" if base else "-"
                print(f"{benchmark:<10} {allocator:<16} {variant:<12} {flops / 1e9:>7.1f} {row['seconds']:>7.3f} "
                      f"{rate:>8.1f} {100 * rate / fp32_peak:>10.1f}% {speedup:>7} {row['faults']:>8}  {load()}",
                      flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["peaks", "steps", "accuracy", "attention"])
    parser.add_argument("--benchmarks", nargs="+", default=BENCHMARKS, choices=BENCHMARKS)
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--gemm-size", type=int, default=2048)
    parser.add_argument("--reps", type=int, default=5, help="GEMM repetitions (best of)")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per variant (best of)")
    parser.add_argument("--bert-batch", type=int, default=1)
    parser.add_argument("--allocators", nargs="+", default=["glibc", "jemalloc"], choices=["glibc", "jemalloc", "jemalloc-default"])
    # genolm.runtime's default (decay off: freed pages stay mapped for the next step); "" = jemalloc's own default.
    parser.add_argument("--jemalloc-conf", default=JEMALLOC_CONF)
    parser.add_argument("--fp32-peak", type=float, help="GFLOP/s (skip measuring the peaks)")
    if sys.argv[1:2] == ["_steps"]:
        child = argparse.ArgumentParser()
        child.add_argument("_steps")
        child.add_argument("--benchmark", required=True)
        child.add_argument("--steps", type=int, required=True)
        child.add_argument("--bert-batch", type=int, required=True)
        child.add_argument("--variants", nargs="+", required=True)
        steps_child(child.parse_args())
        return
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, {load()}")
    fp32_peak = args.fp32_peak
    if args.only in ("attention", "accuracy"):
        {"attention": attention, "accuracy": accuracy}[args.only](args)
        return
    if args.only != "steps" or fp32_peak is None:
        peaks = gemm_peaks(args.gemm_size, args.reps)
        print(f"GEMM {args.gemm_size}^3, best of {args.reps}, CPU clock:")
        for name, rate in peaks.items():
            print(f"  {name:<30} {rate:>7.1f} GFLOP/s")
        fp32_peak = max(r for name, r in peaks.items() if name.startswith("fp32"))
        bf16_peak = max(r for name, r in peaks.items() if name.startswith("bf16"))
        print(f"  fp32 peak {fp32_peak:.1f} GFLOP/s, bf16 peak {bf16_peak:.1f} GFLOP/s ({load()})")
    if args.only != "peaks":
        steps(args, fp32_peak)
        accuracy(args)
        attention(args)


if __name__ == "__main__":
    main()
