"""The VE SDE of Song's score-based tutorial (seed 000 §5.2.1):  dx = σ^t dw,  t ∈ [0, 1].

Kernel N(x_0, (σ^{2t} − 1) / (2 log σ)).  ScoreNet divides its output by this std.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp

from .._checks import check_less, check_time_horizon
from .base import LinearSDE

__all__ = ["TutorialVESDE"]


class TutorialVESDE(LinearSDE):
    """dx = sigma^t dw on [0, T] (the tutorial: T = 1); sigma > 1 (the tutorial uses 25):
    `TutorialVESDE(25.0)`."""

    sigma: float = 25.0
    T: float = eqx.field(default=1.0, kw_only=True)

    def __check_init__(self):
        check_less("1", 1.0, "sigma", self.sigma, "TutorialVESDE needs sigma > 1 (the tutorial uses 25).")
        check_time_horizon(self.T)

    def drift_coeff(self, t):
        return jnp.zeros_like(jnp.asarray(t, dtype=float))

    def diffusion_coeff(self, t):
        return jnp.power(self.sigma, jnp.asarray(t, dtype=float))

    def marginal_coeffs(self, t):
        t = jnp.asarray(t, dtype=float)
        log_s = jnp.log(self.sigma)
        var = jnp.expm1(2.0 * t * log_s) / (2.0 * log_s)
        return jnp.ones_like(t), jnp.sqrt(var)

    def transition_coeffs(self, s, t):
        """(1, σ_{t|s}) with σ_{t|s}² = σ^{2t} (1 − σ^{−2(t−s)}) / (2 log σ), no cancellation."""
        t = jnp.asarray(t, dtype=float)
        log_s = jnp.log(self.sigma)
        var = jnp.exp(2.0 * t * log_s) * -jnp.expm1(-2.0 * (t - s) * log_s) / (2.0 * log_s)
        return jnp.ones_like(t), jnp.sqrt(var)

    @property
    def default_snr(self):
        return 0.16

    @property
    def prior_std(self):
        # N(0, s(T)²) with s(T)² = (σ^{2T} − 1) / (2 log σ)
        return math.sqrt((self.sigma ** (2.0 * self.T) - 1.0) / (2.0 * math.log(self.sigma)))
