"""The VE SDE of Song's score-based tutorial (seed 000 §5.2.1):  dx = σ^t dw,  t ∈ [0, 1].

Kernel N(x_0, (σ^{2t} − 1) / (2 log σ)).  ScoreNet divides its output by this std.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_less
from .base import LinearSDE, check_time_horizon


class TutorialVESDE(LinearSDE):
    """dx = sigma^t dw on [0, 1]; sigma > 1 (the tutorial uses 25)."""

    sigma: float = 25.0
    T: float = 1.0

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

    @property
    def prior_std(self):
        import math

        return math.sqrt((self.sigma**2 - 1.0) / (2.0 * math.log(self.sigma)))
