"""The timing loop the benchmarks share: one warm-up step, then wall time over `steps` steps."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def tokens_per_second(step: Callable[[], None], tokens_per_step: int, steps: int, device: str) -> float:
    step()  # warm-up: allocator, FFT plans, kernels
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return tokens_per_step * steps / (time.perf_counter() - start)
