"""Geometric Brownian motion  dP = μ P dt + σ P dβ  (seed 002 Example 9).

Exact solution P(t) = P_0 exp((μ − σ²/2) t + σ β(t))  (seed 002 eq. 5.3.7): the reference
for strong convergence orders of the solvers, and the one SDE here with state-dependent
(multiplicative) noise, where Itô–Milstein differs from Euler–Maruyama.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._checks import check_finite, check_positive, check_time_horizon
from .base import SDE

__all__ = ["GeometricBrownianMotion"]


class GeometricBrownianMotion(SDE):
    """`GeometricBrownianMotion(mu, sigma, x0=1.0, T=1.0)`: drift μx, diffusion σx, start x0 > 0."""

    mu: float = 0.5
    sigma: float = 0.8
    x0: float = 1.0
    T: float = eqx.field(default=1.0, kw_only=True)

    def __check_init__(self):
        check_finite("mu", self.mu)
        check_positive("sigma", self.sigma, "GBM's volatility σ must be > 0 (σ = 0 is an ODE).")
        check_positive("x0", self.x0, "GBM lives on (0, ∞); start it at x0 > 0.")
        check_time_horizon(self.T)

    def drift(self, x, t):
        return self.mu * x

    def diffusion(self, x, t):
        return self.sigma * x

    def exact_solution(self, x0, t, brownian_value):
        """P(t) given P(0) = x0 and β(t) = brownian_value."""
        return x0 * jnp.exp((self.mu - 0.5 * self.sigma**2) * t + self.sigma * brownian_value)

    def prior_sample(self, key, shape):
        return jnp.full(shape, self.x0)

    def prior_logp(self, x):
        raise ValueError("GeometricBrownianMotion starts from a point mass: it has no prior density.")
