"""Adam with linear warm-up and global-norm gradient clipping (Song et al. 2021 defaults), and
RMSprop with PyTorch's defaults (the BSDE-Gen reference optimiser)."""

from __future__ import annotations

import optax

from .._checks import check_positive

__all__ = ["make_optimizer", "make_rmsprop"]


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


def make_rmsprop(learning_rate: float = 1e-4, *, decay: float = 0.99, eps: float = 1e-8,
                 grad_clip: float | None = None) -> optax.GradientTransformation:
    """RMSprop as `torch.optim.RMSprop` (alpha = 0.99, eps = 1e-8 added outside the square root,
    no momentum), BSDE-Gen's optimiser at lr 1e-4 (seed 000 §5.2.2)."""
    check_positive("learning_rate", learning_rate)
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be in (0, 1), got {decay}.")
    parts = [optax.clip_by_global_norm(grad_clip)] if grad_clip is not None else []
    parts.append(optax.rmsprop(learning_rate, decay=decay, eps=eps, eps_in_sqrt=False))
    return optax.chain(*parts)
