"""Sampling diffusion times for training: uniform on [eps, T] or log-uniform.

Log-uniform t puts more weight on small noise levels; seed 003 §4 ("VE best
practices") recommends it for VE SDEs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import check_choice
from .._checks import check_time_horizon

__all__ = ["TIME_SAMPLINGS", "sample_times"]

TIME_SAMPLINGS = ("uniform", "log_uniform")


def sample_times(key, n: int, T: float, eps: float, kind: str = "uniform") -> jax.Array:
    """n times in [eps, T]: uniform, or log-uniform (log t uniform on [log eps, log T])."""
    check_choice("time sampling", kind, TIME_SAMPLINGS)
    check_time_horizon(T, eps)
    u = jax.random.uniform(key, (n,))
    if kind == "uniform":
        return eps + (T - eps) * u
    return jnp.exp(jnp.log(eps) + (jnp.log(T) - jnp.log(eps)) * u)
