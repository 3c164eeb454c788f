"""NCSN's noise levels (Song & Ermon 2019; seed 001 §2.3) and why they are SMLD's discretisation
of the VE SDE.

The levels are geometric, σ_1 > … > σ_L, and p_{σ_i} = p_data ∗ N(0, σ_i² I).  The VE SDE
`VESDE(σ_L, σ_1)` has σ(t) = σ_L (σ_1/σ_L)^t, so σ(t_i) = σ_i at the evenly spaced times
t_i = (L − i)/(L − 1), and its exact transition over [t_{i+1}, t_i], `VESDE.discretize`, is
SMLD's Markov chain x_i = x_{i+1} + sqrt(σ_i² − σ_{i+1}²) z (seed 002 eq. 4.2.5): NCSN's
perturbations are the marginals of that chain started at p_{σ_L}.  `forward_step` uses
`discretize` itself.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_int_at_least, check_less, check_positive
from ..sde.ve import VESDE

__all__ = ["NoiseLevels"]


class NoiseLevels(eqx.Module):
    """`NoiseLevels(sigma_max, sigma_min, num_levels)`: σ_1 = sigma_max > … > σ_L = sigma_min,
    geometric.  Level index i = 0..L−1 (0 the noisiest)."""

    sigma_max: float = 50.0
    sigma_min: float = 0.01
    num_levels: int = eqx.field(default=232, static=True)

    def __check_init__(self):
        check_positive("sigma_min", self.sigma_min)
        check_less("sigma_min", self.sigma_min, "sigma_max", self.sigma_max, "NCSN's levels decrease from sigma_max.")
        check_int_at_least("num_levels", self.num_levels, 2)

    @property
    def sde(self) -> VESDE:
        """The VE SDE whose σ(t) passes through every level."""
        return VESDE(self.sigma_min, self.sigma_max)

    @property
    def times(self) -> jax.Array:
        """t_i with σ(t_i) = σ_i: evenly spaced from 1 down to 0."""
        return jnp.linspace(1.0, 0.0, self.num_levels)

    @property
    def sigmas(self) -> jax.Array:
        return self.sde.sigma(self.times)

    def forward_step(self, key, x, i):
        """x at level i − 1 (noisier) from x at level i ≥ 1: one step of SMLD's chain, through
        `VESDE.discretize` over [t_i, t_{i−1}]."""
        t_prev, t = self.times[i - 1], self.times[i]
        F, G = self.sde.discretize(x, t_prev, t_prev - t)
        return x + F + G * jax.random.normal(key, jnp.shape(x))
