"""Variance-exploding SDE with a geometric noise schedule (SMLD / NCSN).

dx = sqrt(d σ²(t)/dt) dw,  σ(t) = σ_min (σ_max/σ_min)^t   (seed 002 eq. 4.2.3).
The transition kernel is N(x_0, σ²(t) − σ²(0))   (seed 002 eq. 4.2.17).
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_less, check_positive
from .base import LinearSDE, check_time_horizon


class VESDE(LinearSDE):
    """VE SDE on [0, T] with σ(0) = sigma_min and σ(T) = sigma_max."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0
    T: float = 1.0

    def __check_init__(self):
        check_positive("sigma_min", self.sigma_min, "The VE SDE needs 0 < sigma_min < sigma_max.")
        check_less("sigma_min", self.sigma_min, "sigma_max", self.sigma_max,
                   "Swap them: sigma_min is the noise at t=0, sigma_max at t=T.")
        check_time_horizon(self.T)

    def _log_ratio(self):
        return jnp.log(self.sigma_max / self.sigma_min)

    def sigma(self, t):
        """σ(t) = σ_min (σ_max/σ_min)^(t/T)."""
        return self.sigma_min * jnp.exp(t / self.T * self._log_ratio())

    def drift_coeff(self, t):
        return jnp.zeros_like(jnp.asarray(t, dtype=float))

    def diffusion_coeff(self, t):
        # d σ²/dt = 2 σ² log(σ_max/σ_min) / T
        return self.sigma(t) * jnp.sqrt(2.0 * self._log_ratio() / self.T)

    def marginal_coeffs(self, t):
        # σ²(t) − σ²(0) = σ²(t) (1 − (σ_min/σ_max)^{2t/T})
        sig = self.sigma(t)
        var = sig**2 * -jnp.expm1(-2.0 * t / self.T * self._log_ratio())
        return jnp.ones_like(sig), jnp.sqrt(var)

    @property
    def prior_std(self):
        # N(0, σ²(T) − σ²(0)), seed 002 after eq. 4.2.21
        return (self.sigma_max**2 - self.sigma_min**2) ** 0.5
