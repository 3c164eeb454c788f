"""DDPM's ancestral sampler (Ho et al. 2020 Alg. 2; seed 003 §3.3) and DDIM on strided subsets of
the N steps (Song, Meng & Ermon 2021 eq. 12), for a per-sample ε-network `eps_fn(x, i)`.

Ancestral: x_{i−1} = μ̃_i(x_i, x̂_0) + σ_i z (z = 0 at i = 1), x̂_0 = (x_i − sqrt(1 − ᾱ_i) ε̂)/sqrt(ᾱ_i),
σ_i² = β̃_i ("posterior") or β_i ("transition").  DDIM on the decreasing subsequence τ of 1..N:
x_{τ'} = sqrt(ᾱ_{τ'}) x̂_0 + sqrt(1 − ᾱ_{τ'} − c²) ε̂ + c z, c² = η² (1 − ᾱ_{τ'})/(1 − ᾱ_τ)(1 − ᾱ_τ/ᾱ_{τ'}),
ending at ᾱ_0 = 1 (the x̂_0 of the last step).  With η = 1 and every step it is the ancestral
sampler with β̃ (tests/test_ddpm.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int_at_least
from ..samplers.batching import map_batch
from .schedule import DDPMSchedule

__all__ = ["ancestral_sample", "strided_steps", "ddim_sample"]


def _check_init(x_init):
    x_init = jnp.asarray(x_init, jnp.float32)
    if x_init.ndim < 2:
        raise ValueError(f"x_init must be a batch (n, *shape) of N(0, I) draws, got shape {x_init.shape}.")
    return x_init


def ancestral_sample(key, schedule: DDPMSchedule, eps_fn, x_init, *, variance: str = "posterior", chunk_size=None):
    """x_0 from x_N = `x_init` (n, *shape) by the N ancestral steps; NFE = N."""
    x_init = _check_init(x_init)
    schedule.reverse_variance(2, variance)  # validates the name early

    def step(x, inputs):
        k, i = inputs
        eps = map_batch(lambda xi: eps_fn(xi, i), chunk_size)(x)
        c0, ci, _ = schedule.posterior(i)
        mean = c0 * schedule.predict_x0(x, eps, i) + ci * x
        std = jnp.where(i > 1, jnp.sqrt(schedule.reverse_variance(i, variance)), 0.0)
        return mean + std * jax.random.normal(k, x.shape, x.dtype), None

    N = schedule.num_steps
    x, _ = jax.lax.scan(step, x_init, (jax.random.split(key, N), jnp.arange(N, 0, -1)))
    return x


def strided_steps(num_steps: int, steps: int) -> np.ndarray:
    """The DDIM subsequence: `steps` evenly spaced indices from N down to 1 (decreasing)."""
    check_int_at_least("steps", steps, 1)
    if steps > num_steps:
        raise ValueError(f"steps={steps} exceeds the schedule's {num_steps} steps.")
    # From N down: one step starts at pure noise x_N (linspace from 1 with steps=1 would start at x_1).
    return np.unique(np.round(np.linspace(num_steps, 1, steps)).astype(np.int32))[::-1].copy()


def ddim_sample(key, schedule: DDPMSchedule, eps_fn, x_init, *, steps: int, eta: float = 0.0, chunk_size=None):
    """x_0 from x_N = `x_init` by DDIM on `steps` strided indices; NFE = steps."""
    x_init = _check_init(x_init)
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must lie in [0, 1] (0: deterministic DDIM, 1: DDPM's variance); got {eta}.")
    taus = strided_steps(schedule.num_steps, steps)
    prev = np.append(taus[1:], 0)
    ab = schedule.alphas_bar

    def step(x, inputs):
        k, i, j = inputs
        eps = map_batch(lambda xi: eps_fn(xi, i), chunk_size)(x)
        x0 = schedule.predict_x0(x, eps, i)
        a_i, a_j = ab[i], ab[j]
        c = eta * jnp.sqrt((1.0 - a_j) / (1.0 - a_i) * (1.0 - a_i / a_j))
        return jnp.sqrt(a_j) * x0 + jnp.sqrt(jnp.maximum(1.0 - a_j - c**2, 0.0)) * eps + c * jax.random.normal(k, x.shape), None

    x, _ = jax.lax.scan(step, x_init, (jax.random.split(key, len(taus)), jnp.asarray(taus), jnp.asarray(prev)))
    return x
