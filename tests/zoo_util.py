"""Helpers shared by the model-zoo tests: a tiny-batch overfitting loop and synthetic DNA."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import torch


def random_dna(n: int, length: int, seed: int = 0, alphabet: str = "ACGT") -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(n)]


def overfit(parameters, loss_fn: Callable[[], torch.Tensor], steps: int = 40, lr: float = 3e-3) -> tuple[float, float]:
    """Adam on one fixed batch; returns (first loss, last loss)."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam([p for p in parameters if p.requires_grad], lr=lr)
    first = last = float("nan")
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        if step == 0:
            first = loss.item()
        last = loss.item()
    return first, last


def meta_parameters(build: Callable[[], torch.nn.Module]) -> int:
    """Parameter count of a model built on the meta device (no memory for the weights)."""
    with torch.device("meta"):
        model = build()
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(autouse=True)
def zoo_test_setup():
    """Every test starts from the same random state (models are initialized from it) and runs on one thread:
    tiny models run fastest that way, and more threads only contend for the CI machine's two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
