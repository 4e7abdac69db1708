"""AdamW with a linear warmup from `warmup_lr_init`, then a decay to `min_lr` (`schedule` in the training settings).

    cosine   HyenaDNA's: timm's CosineLRScheduler as the HyenaDNA configs use it (t_initial = max_steps, lr_min,
             warmup_t, warmup_lr_init)
    linear   DNABERT's (Hugging Face get_linear_schedule_with_warmup): linear decay from `lr` at the end of the
             warmup to `min_lr` (0 in DNABERT) at `max_steps`

Both are expressed as a LambdaLR so Lightning steps and checkpoints them like any scheduler. AdamW's `eps` is a
training setting too (DNABERT: 1e-6).
"""

from __future__ import annotations

import math

import torch


def warmup_cosine_factor(step: int, *, lr: float, min_lr: float, warmup_lr_init: float, warmup_steps: int, total_steps: int) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return (warmup_lr_init + (lr - warmup_lr_init) * step / warmup_steps) / lr
    progress = min(1.0, step / max(1, total_steps))
    return (min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))) / lr


def warmup_linear_factor(step: int, *, lr: float, min_lr: float, warmup_lr_init: float, warmup_steps: int, total_steps: int) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return (warmup_lr_init + (lr - warmup_lr_init) * step / warmup_steps) / lr
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, max(0, step - warmup_steps) / span)
    return (lr + (min_lr - lr) * progress) / lr


SCHEDULES = {"cosine": warmup_cosine_factor, "linear": warmup_linear_factor}


def warmup_steps(training: dict) -> int:
    """`warmup_fraction` of max_steps when set (ENBED: 5 %), else `warmup_steps`."""
    fraction = training.get("warmup_fraction")
    return training["warmup_steps"] if fraction is None else int(round(fraction * training["max_steps"]))


def build_optimizer(parameters, training: dict) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    params = [p for p in parameters if p.requires_grad]
    # No weight decay on biases, norms and 1-d parameters (as in HyenaDNA / nanoGPT).
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": training["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=training["lr"],
        betas=tuple(training["betas"]),
        eps=training["eps"],
    )
    factor = SCHEDULES[training["schedule"]]
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: factor(
            step,
            lr=training["lr"],
            min_lr=training["min_lr"],
            warmup_lr_init=training["warmup_lr_init"],
            warmup_steps=warmup_steps(training),
            total_steps=training["max_steps"],
        ),
    )
    return optimizer, schedule
