"""Single-step reverse-time samplers (Song et al. 2021, App. E–G), written for one sample.

Each is a `StepSampler`: `update(sde, score_fn, x, z, t, t_next)` moves one sample from t to
the earlier t_next with z ~ N(0, I).  They also serve as the predictors of
`PredictorCorrector`.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import require_kernel
from .base import StepSampler

__all__ = ["EulerMaruyamaScan", "ReverseDiffusion", "Ancestral"]


class EulerMaruyamaScan(StepSampler):
    """Euler–Maruyama on the reverse SDE as a hand-written `lax.scan`:

    x ← x − [f − g² s] Δt + g sqrt(Δt) z,  Δt = t − t_next  (seed 000 eq. 4.2 discretised;
    seed 002 eq. 4.2.10).  The same update as Diffrax's `EulerMaruyama()`, kept as the
    reference the Diffrax path is benchmarked against.  `probability_flow=True` is Euler's
    method on the probability-flow ODE instead, x ← x − [f − ½ g² s] Δt (score_sde's
    `EulerMaruyamaPredictor(probability_flow=True)`).
    """

    probability_flow: bool = False

    def update(self, sde, score_fn, x, z, t, t_next):
        dt = t - t_next
        g = sde.diffusion(x, t)
        if self.probability_flow:
            return x - (sde.drift(x, t) - 0.5 * g**2 * score_fn(x, t)) * dt
        reverse_drift = sde.drift(x, t) - g**2 * score_fn(x, t)
        return x - reverse_drift * dt + g * jnp.sqrt(dt) * z


class ReverseDiffusion(StepSampler):
    """The reverse of the SDE's own discretisation x_t = x_{t−Δt} + F + G z:

    x ← x − F + G² s + G z   (SMLD for VE, seed 002 eq. 4.2.10; DDPM-like for VP, eq. 4.2.45;
    Song et al. 2021, eq. 45).  `sde.discretize` gives (F, G).  `probability_flow=True` takes
    the discretised flow instead, x ← x − F + ½ G² s (score_sde's `ReverseDiffusionPredictor`
    with `probability_flow=True`).
    """

    probability_flow: bool = False

    def update(self, sde, score_fn, x, z, t, t_next):
        F, G = sde.discretize(x, t, t - t_next)
        if self.probability_flow:
            return x - F + 0.5 * G**2 * score_fn(x, t)
        return x - F + G**2 * score_fn(x, t) + G * z


class Ancestral(StepSampler):
    """Ancestral sampling from the Gaussian posterior q(x_{t_next} | x_t, x̂_0) of a linear SDE.

    With x_t = α x_{t_next} + σ ε (σ² the exact transition variance, DDPM's β_i for VP) and
    Tweedie's x̂_0, the mean is (x + σ² s) / α: DDPM's posterior mean μ̃ (seed 003 eq. 3.11)
    and, for VP, Song et al.'s eq. 47, x ← (x + β_i s)/sqrt(1 − β_i).  The variance:
      - `variance="posterior"` (default): β̃ = σ² s(t_next)²/s(t)², DDPM's posterior variance
        (seed 003 eq. 3.12; DDPM's σ_t² = β̃_t), which goes to 0 on the last step; for VE it is
        NCSN's ancestral step (Song et al. eq. 46, σ_{i−1}²(σ_i² − σ_{i−1}²)/σ_i²).
      - `variance="transition"`: σ² = β_i, the variance of Song et al.'s eq. 47 and DDPM's
        other choice σ_t² = β_t.
    Needs the closed-form kernel (`marginal_coeffs`).
    """

    variance: str = "posterior"

    def __check_init__(self):
        if self.variance not in ("posterior", "transition"):
            raise ValueError(f'variance must be "posterior" (β̃) or "transition" (β); got {self.variance!r}.')

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        require_kernel(sde, "ancestral sampling")
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def update(self, sde, score_fn, x, z, t, t_next):
        alpha, sigma = sde.transition_coeffs(t_next, t)
        _, s_next = sde.marginal_coeffs(t_next)
        _, s_t = sde.marginal_coeffs(t)
        mean = (x + sigma**2 * score_fn(x, t)) / alpha
        std = sigma * s_next / s_t if self.variance == "posterior" else sigma
        return mean + std * z
