"""Named toy targets with known scores (all are `GaussianMixture`s)."""

from __future__ import annotations

import jax.numpy as jnp

from .gaussian_mixture import GaussianMixture

__all__ = ["seed002_mixture", "ring_mixture", "grid_mixture"]


def seed002_mixture() -> GaussianMixture:
    """Examples 6–7 of seed 002: 0.3 N(−5, 2²) + 0.7 N(5, 2²) (eq. 4.1.10)."""
    return GaussianMixture(weights=[0.3, 0.7], means=[[-5.0], [5.0]], stds=[[2.0], [2.0]])


def ring_mixture(num_modes: int = 8, radius: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """`num_modes` equal Gaussians on a circle (the classic 8-Gaussians toy)."""
    if num_modes < 1:
        raise ValueError(f"num_modes must be >= 1, got {num_modes}.")
    angles = 2 * jnp.pi * jnp.arange(num_modes) / num_modes
    means = radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)
    return GaussianMixture(jnp.full((num_modes,), 1.0 / num_modes), means, std)


def grid_mixture(side: int = 5, spacing: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """side × side equal Gaussians on a square grid centred at 0."""
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}.")
    c = (jnp.arange(side) - (side - 1) / 2) * spacing
    means = jnp.stack(jnp.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2)
    return GaussianMixture(jnp.full((side * side,), 1.0 / side**2), means, std)
