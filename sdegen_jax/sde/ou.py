"""Ornstein–Uhlenbeck forward process of seed 004:  dX = −½ X dt + dB.

Kernel N(x_0 e^{−t/2}, 1 − e^{−t}) (seed 002 Example 10 with μ = ½, σ = 1); p_∞ = N(0, I).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._checks import check_time_horizon
from .base import LinearSDE

__all__ = ["OUSDE"]


class OUSDE(LinearSDE):
    """OU process run to time T (default 10, where e^{−T/2} ≈ 0.007): `OUSDE(T=10.0)`."""

    T: float = eqx.field(default=10.0, kw_only=True)

    def __check_init__(self):
        check_time_horizon(self.T)

    @property
    def default_eps(self):
        return 1e-3

    def drift_coeff(self, t):
        return jnp.full_like(jnp.asarray(t, dtype=float), -0.5)

    def diffusion_coeff(self, t):
        return jnp.ones_like(jnp.asarray(t, dtype=float))

    def marginal_coeffs(self, t):
        t = jnp.asarray(t, dtype=float)
        return jnp.exp(-0.5 * t), jnp.sqrt(-jnp.expm1(-t))

    def transition_coeffs(self, s, t):
        """(e^{−(t−s)/2}, sqrt(1 − e^{−(t−s)}))."""
        dt = jnp.asarray(t - s, dtype=float)
        return jnp.exp(-0.5 * dt), jnp.sqrt(-jnp.expm1(-dt))

    @property
    def default_snr(self):
        return 0.01

    @property
    def prior_std(self):
        return 1.0
