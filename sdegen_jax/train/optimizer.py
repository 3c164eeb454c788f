"""Adam with linear warm-up and global-norm gradient clipping (Song et al. 2021 defaults)."""

from __future__ import annotations

import optax

from .._checks import check_positive


def make_optimizer(
    learning_rate: float = 2e-4,
    *,
    warmup_steps: int = 0,
    grad_clip: float | None = 1.0,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    check_positive("learning_rate", learning_rate)
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}.")
    if grad_clip is not None:
        check_positive("grad_clip", grad_clip, "Use grad_clip=None to disable clipping.")
    schedule = (
        optax.linear_schedule(0.0, learning_rate, warmup_steps) if warmup_steps else optax.constant_schedule(learning_rate)
    )
    parts = [optax.clip_by_global_norm(grad_clip)] if grad_clip is not None else []
    parts.append(optax.adam(schedule, b1=b1, b2=b2, eps=eps))
    return optax.chain(*parts)
