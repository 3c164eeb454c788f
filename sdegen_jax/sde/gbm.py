"""Geometric Brownian motion  dP = μ P dt + σ P dβ  (seed 002 Example 9).

Exact solution P(t) = P_0 exp((μ − σ²/2) t + σ β(t))  (seed 002 eq. 5.3.7); used to
measure strong convergence orders of the solvers.
"""

from __future__ import annotations

import jax.numpy as jnp

from .base import SDE


class GeometricBrownianMotion(SDE):
    mu: float = 0.5
    sigma: float = 0.8
    T: float = 1.0
    x0: float = 1.0

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

