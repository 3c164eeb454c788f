"""DDPM's simple loss (Ho et al. 2020 eq. 14; seed 003 eq. 3.16): E_{i, x_0, ε} ‖ε − ε_θ(x_i, i)‖²
with i uniform on 1..N and x_i = sqrt(ᾱ_i) x_0 + sqrt(1 − ᾱ_i) ε: the variational bound's terms
with their weights dropped."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..losses.denoising import apply_model
from .schedule import DDPMSchedule

__all__ = ["simple_loss"]


def simple_loss(key, schedule: DDPMSchedule, model_fn, x0) -> jax.Array:
    """Mean over the batch of the per-example mean squared ε error.  `model_fn(x, i)` predicts ε
    for ONE example and its step (the library's per-example convention; a `batched` form is
    used when present); x0 (n, ...)."""
    if jnp.ndim(x0) < 2:
        raise ValueError(f"x0 must be a batch (n, *shape), got shape {jnp.shape(x0)}.")
    k_i, k_e = jax.random.split(key)
    n = x0.shape[0]
    i = jax.random.randint(k_i, (n,), 1, schedule.num_steps + 1)
    eps = jax.random.normal(k_e, x0.shape, x0.dtype)
    a, s = schedule.marginal_coeffs(i)
    shape = (n,) + (1,) * (x0.ndim - 1)
    x_i = a.reshape(shape) * x0 + s.reshape(shape) * eps
    err = (apply_model(model_fn, x_i, i) - eps) ** 2
    return jnp.mean(jnp.mean(err.reshape(n, -1), axis=1))
