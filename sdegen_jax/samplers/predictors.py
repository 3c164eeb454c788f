"""Single-step reverse-time samplers (Song et al. 2021, App. E–G), written for one sample.

Each is a `StepSampler`: `update(sde, score_fn, x, z, t, t_next)` moves one sample from t to
the earlier t_next with z ~ N(0, I).  They also serve as the predictors of
`PredictorCorrector`.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import require_kernel
from .base import StepSampler


class EulerMaruyamaScan(StepSampler):
    """Euler–Maruyama on the reverse SDE as a hand-written `lax.scan`:

    x ← x − [f − g² s] Δt + g sqrt(Δt) z,  Δt = t − t_next  (seed 000 eq. 4.2 discretised;
    seed 002 eq. 4.2.10).  The same update as Diffrax's `EulerMaruyama()`, kept as the
    reference the Diffrax path is benchmarked against.
    """

    def update(self, sde, score_fn, x, z, t, t_next):
        dt = t - t_next
        g = sde.diffusion(x, t)
        reverse_drift = sde.drift(x, t) - g**2 * score_fn(x, t)
        return x - reverse_drift * dt + g * jnp.sqrt(dt) * z


class ReverseDiffusion(StepSampler):
    """The reverse of the SDE's own discretisation x_t = x_{t−Δt} + F + G z:

    x ← x − F + G² s + G z   (SMLD for VE, seed 002 eq. 4.2.10; DDPM-like for VP, eq. 4.2.45;
    Song et al. 2021, eq. 45).  `sde.discretize` gives (F, G).
    """

    def update(self, sde, score_fn, x, z, t, t_next):
        F, G = sde.discretize(x, t, t - t_next)
        return x - F + G**2 * score_fn(x, t) + G * z


class Ancestral(StepSampler):
    """Ancestral sampling from the Gaussian posterior q(x_{t_next} | x_t, x̂_0) of a linear SDE.

    With x_t = α x_{t_next} + σ ε and Tweedie's x̂_0 this is
      mean = (x + σ² s) / α,  var = σ² s(t_next)² / s(t)²,
    DDPM's ancestral step for VP and NCSN's for VE (Song et al. 2021, eq. 46–47).  Needs the
    closed-form kernel (`marginal_coeffs`).
    """

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        require_kernel(sde, "ancestral sampling")
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def update(self, sde, score_fn, x, z, t, t_next):
        alpha, sigma = sde.transition_coeffs(t_next, t)
        _, s_next = sde.marginal_coeffs(t_next)
        _, s_t = sde.marginal_coeffs(t)
        mean = (x + sigma**2 * score_fn(x, t)) / alpha
        return mean + sigma * s_next / s_t * z
