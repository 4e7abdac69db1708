"""Training throughput and peak memory of each model family at full-scale sizes, on one GPU, in bf16.

    python benchmarks/gpu_benchmark.py             (make gpu-benchmark; under 10 minutes on one GPU)
    python benchmarks/gpu_benchmark.py --smoke --out /tmp/smoke.json     (tiny sizes on any device, seconds)

Each case trains a few AdamW steps of a model built as genolm builds it (genolm.models.registry) under bf16
autocast, after warm-up steps, and records tokens per second, the achieved FLOP/s (the training FLOPs of
genolm.compute.training_flops over the measured time: the same formula `genolm plan-compute` divides by this
throughput) and the peak allocated memory. HyenaDNA runs from 1K to 1M context with activation checkpointing
and stops at the first context that does not fit. The table (benchmarks/results/gpu_benchmark.json) names the
card; `genolm plan-compute` reads it (compute.throughput_table) and refuses a --smoke table.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from genolm.compute import training_flops, vocabulary
from genolm.models import registry

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "gpu_benchmark.json"

# (model spec, tokenizer spec, context tokens, micro-batch): the sizes full_scale.yaml trains.
FULL_SCALE = [
    *[({"name": "hyenadna", "preset": preset, "activation_checkpointing": True}, {"name": "character"}, context, batch)
      for preset, context, batch in (("tiny-1k", 1026, 64), ("small-32k", 32770, 8), ("medium-160k", 160002, 2),
                                     ("medium-450k", 450002, 1), ("large-1m", 1000002, 1))],
    ({"name": "bert", "preset": "dnabert-6"}, {"name": "kmer", "k": 6}, 512, 64),
    ({"name": "longformer", "preset": "longformer-large"}, {"name": "kmer_bpe", "k": 6, "vocab_size": 5000}, 4096, 8),
    ({"name": "enbed", "preset": "enbed-base"}, {"name": "byte"}, 16385, 1),
    ({"name": "enbed-decoder", "preset": "enbed-base-decoder"}, {"name": "byte"}, 16385, 1),
]
SMOKE = [  # the same families and code path, at sizes a CPU steps through in well under a second
    ({"name": "hyenadna", "preset": "tiny-1k", "activation_checkpointing": True}, {"name": "character"}, 66, 2),
    ({"name": "bert", "preset": "bert-tiny"}, {"name": "kmer", "k": 3}, 32, 2),
    ({"name": "longformer", "preset": "longformer-small", "num_hidden_layers": 1}, {"name": "character"}, 32, 2),
    ({"name": "enbed", "d_model": 64, "d_kv": 16, "d_ff": 128, "num_heads": 4, "num_encoder_layers": 2,
      "num_decoder_layers": 1, "local_radius": [8, 8]}, {"name": "byte"}, 33, 2),
]


def build(model_spec: dict, tokenizer_spec: dict, context: int, device: torch.device):
    values = {k: v for k, v in model_spec.items() if k != "name"}
    if model_spec["name"] == "hyenadna":
        values["l_max"] = context
    if model_spec["name"] in ("bert", "longformer"):
        values["max_position_embeddings"] = max(context, 512)
    model = registry.build(model_spec["name"], values, vocabulary(tokenizer_spec))
    if values.get("activation_checkpointing"):
        model.set_activation_checkpointing(True)
    return model.to(device).train()


def train_step(model, optimizer, ids: torch.Tensor, device: torch.device) -> None:
    mask = torch.ones_like(ids)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        if model.name == "enbed":
            out = model(ids, mask, decoder_input_ids=ids)
        else:
            out = model(ids, mask)
        logits = out.logits
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids.reshape(-1) % logits.shape[-1])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(model_spec, tokenizer_spec, context, batch, device, *, warmup: int, steps: int) -> dict:
    row = {"model": model_spec["name"], "preset": model_spec.get("preset"), "context": context, "batch": batch,
           "activation_checkpointing": bool(model_spec.get("activation_checkpointing")), "precision": "bf16-mixed"}
    try:
        model = build(model_spec, tokenizer_spec, context, device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
        vocab = vocabulary(tokenizer_spec).vocab_size
        ids = torch.randint(5, vocab, (batch, context), device=device)
        for _ in range(warmup):
            train_step(model, optimizer, ids, device)
        synchronize(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        for _ in range(steps):
            train_step(model, optimizer, ids, device)
        synchronize(device)
        seconds = (time.perf_counter() - start) / steps
    except torch.OutOfMemoryError:
        return {**row, "status": "out of memory"}
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    flops = training_flops(model, context, batch)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {**row, "status": "ok", "parameters": sum(p.numel() for p in model.parameters()),
            "step_seconds": round(seconds, 4), "tokens_per_s": round(batch * context / seconds, 1),
            "flops_per_s": flops / seconds, "peak_memory_gib": None if peak is None else round(peak, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on any device (a test of the script)")
    parser.add_argument("--out", type=Path, help=f"default {DEFAULT_OUT.name} in benchmarks/results/ (--smoke: "
                                                   "gpu_benchmark_smoke.json, never the table plan-compute reads)")
    parser.add_argument("--steps", type=int, help="timed steps per case (default 5; --smoke 1)")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not args.smoke and device.type != "cuda":
        print("no GPU: the full benchmark measures a GPU (use --smoke to test the script)", file=sys.stderr)
        return 2
    steps = args.steps or (1 if args.smoke else 5)
    out = args.out or (DEFAULT_OUT.with_name("gpu_benchmark_smoke.json") if args.smoke else DEFAULT_OUT)
    rows = []
    hyena_failed = False
    for model_spec, tokenizer_spec, context, batch in SMOKE if args.smoke else FULL_SCALE:
        if model_spec["name"] == "hyenadna" and hyena_failed:
            rows.append({"model": "hyenadna", "preset": model_spec["preset"], "context": context, "batch": batch,
                         "status": "skipped: a shorter context did not fit"})
            continue
        row = measure(model_spec, tokenizer_spec, context, batch, device, warmup=1 if args.smoke else 2, steps=steps)
        hyena_failed |= model_spec["name"] == "hyenadna" and row["status"] != "ok"
        rows.append(row)
        print(json.dumps(row), flush=True)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor() or 'unknown'})"
    table = {"gpu": gpu, "smoke": args.smoke, "torch": torch.__version__, "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(table, indent=2) + "\n")
    temporary.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
