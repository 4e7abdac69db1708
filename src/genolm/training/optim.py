"""AdamW with HyenaDNA's schedule: linear warmup from `warmup_lr_init`, then cosine decay to `min_lr`.

This is timm's CosineLRScheduler as the HyenaDNA configs use it (t_initial = max_steps, lr_min, warmup_t,
warmup_lr_init), expressed as a LambdaLR so Lightning steps and checkpoints it like any scheduler.
"""

from __future__ import annotations

import math

import torch


def warmup_cosine_factor(step: int, *, lr: float, min_lr: float, warmup_lr_init: float, warmup_steps: int, total_steps: int) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return (warmup_lr_init + (lr - warmup_lr_init) * step / warmup_steps) / lr
    progress = min(1.0, step / max(1, total_steps))
    return (min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))) / lr


def build_optimizer(parameters, training: dict) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    params = [p for p in parameters if p.requires_grad]
    # No weight decay on biases, norms and 1-d parameters (as in HyenaDNA / nanoGPT).
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": training["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=training["lr"],
        betas=tuple(training["betas"]),
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: warmup_cosine_factor(
            step,
            lr=training["lr"],
            min_lr=training["min_lr"],
            warmup_lr_init=training["warmup_lr_init"],
            warmup_steps=training["warmup_steps"],
            total_steps=training["max_steps"],
        ),
    )
    return optimizer, schedule
