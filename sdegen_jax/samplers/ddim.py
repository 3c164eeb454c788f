"""DDIM (Song, Meng & Ermon 2021, eq. 12) for any linear SDE with a scalar noise level.

With the denoiser D = E[x_0 | x_t] = (x + s² ∇log p_t)/a and ε̂ = −s ∇log p_t, one step from
t to t_next < t is

    x_next = a(t_next) D + sqrt(s(t_next)² − c²) ε̂ + c z,
    c² = η² · s(t_next)²/s(t)² · σ_{t|t_next}²,

where σ_{t|t_next}² = s(t)² − (a(t)/a(t_next))² s(t_next)² is the exact transition variance.
η = 0 is deterministic: the first-order exponential integrator of the probability-flow ODE
(in y = x/a and σ = s/a: y_next = (σ_next/σ) y + (1 − σ_next/σ) D; DPM-Solver++ of order 1).
η = 1 is DDPM's ancestral step: the posterior q(x_next | x_t, x_0 = D) with mean
(a_next σ_{t|t_next}²/s²) D + (α s_next²/s²) x and variance β̃ = σ_{t|t_next}² s_next²/s²
(seed 003 eq. 3.10–3.12; the same step as `Ancestral(variance="posterior")`).  DDIM's strided
step subsets are this library's `steps`: the grid is `steps` intervals of a continuous time.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp

from .base import StepSampler
from .schedules import ScheduledSampler, time_uniform

__all__ = ["DDIM"]


class DDIM(StepSampler, ScheduledSampler):
    """DDIM with stochasticity `eta` in [0, 1] (0: deterministic; 1: DDPM's ancestral step) on
    the grid of `schedule` (default uniform in time).  One score evaluation per step."""

    eta: float = 0.0
    schedule: Callable = time_uniform

    def __check_init__(self):
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"DDIM's eta must lie in [0, 1] (0: deterministic, 1: DDPM's ancestral step); got {self.eta}.")

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.check_sde(sde)
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def update(self, sde, score_fn, x, z, t, t_next):
        a, s = sde.marginal_coeffs(t)
        a_next, s_next = sde.marginal_coeffs(t_next)
        score = score_fn(x, t)
        denoised = (x + s**2 * score) / a
        _, trans_std = sde.transition_coeffs(t_next, t)
        c = self.eta * trans_std * s_next / s
        return a_next * denoised - jnp.sqrt(jnp.maximum(s_next**2 - c**2, 0.0)) * s * score + c * z
