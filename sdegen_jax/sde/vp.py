"""Variance-preserving SDE (DDPM) with a linear β schedule.

dx = −½ β(t) x dt + sqrt(β(t)) dw,  β(t) = β_min + (t/T)(β_max − β_min)   (seed 002 eq. 4.2.25).
Kernel N(x_0 e^{−½B(t)}, 1 − e^{−B(t)}),  B(t) = ∫_0^t β   (seed 002 eq. 4.2.54).
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_less
from .base import LinearSDE, check_time_horizon


def _check_betas(beta_min, beta_max):
    if not beta_min >= 0:
        raise ValueError(f"beta_min must be >= 0, got {beta_min}.")
    check_less("beta_min", beta_min, "beta_max", beta_max, "The β schedule must increase; try 0.1 and 20.")


class VPSDE(LinearSDE):
    """VP SDE; `discretize` is DDPM's x_k = sqrt(1 − β_k) x_{k−1} + sqrt(β_k) z."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    T: float = 1.0

    def __check_init__(self):
        _check_betas(self.beta_min, self.beta_max)
        check_time_horizon(self.T)

    @property
    def default_eps(self):
        return 1e-3

    def beta(self, t):
        return self.beta_min + t / self.T * (self.beta_max - self.beta_min)

    def integrated_beta(self, t):
        """B(t) = ∫_0^t β(u) du."""
        return self.beta_min * t + 0.5 * t**2 / self.T * (self.beta_max - self.beta_min)

    def langevin_step_scale(self, t, dt):
        return 1.0 - self.beta(t) * dt

    def drift_coeff(self, t):
        return -0.5 * self.beta(t)

    def diffusion_coeff(self, t):
        return jnp.sqrt(self.beta(t))

    def marginal_coeffs(self, t):
        B = self.integrated_beta(t)
        return jnp.exp(-0.5 * B), jnp.sqrt(-jnp.expm1(-B))

    @property
    def prior_std(self):
        return 1.0

    def discretize(self, x, t, dt):
        """DDPM step with β_k = β(t) dt (seed 002 eq. 4.2.30; Ho et al. 2020)."""
        beta_k = self.beta(t) * dt
        return (jnp.sqrt(1.0 - beta_k) - 1.0) * x, jnp.broadcast_to(jnp.sqrt(beta_k), jnp.shape(x))
