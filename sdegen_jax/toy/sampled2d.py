"""Toy 2-D distributions known only through samplers `f(key, n) -> (n, 2)` (pure jax.random).

The toy targets with exact scores are the Gaussian mixtures of `gaussian_mixture.py` and
`targets.py`; these have no closed-form score.  `sdegen_jax.data.SampledBatches` turns any
of them into a resumable batch stream.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["two_moons", "checkerboard", "swiss_roll", "TOY2D"]


def two_moons(key: jax.Array, n: int, noise: float = 0.1) -> jax.Array:
    """sklearn-style interleaved half circles (upper one centred at 0, lower at (1, 0.5)),
    half of the points on each, plus N(0, noise²) jitter; mean (0.5, 0.25)."""
    k_t, k_side, k_noise = jax.random.split(key, 3)
    t = jax.random.uniform(k_t, (n,), maxval=jnp.pi)
    lower = jax.random.bernoulli(k_side, 0.5, (n,))
    upper_pts = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower_pts = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    x = jnp.where(lower[:, None], lower_pts, upper_pts)
    return x + noise * jax.random.normal(k_noise, (n, 2))


def checkerboard(key: jax.Array, n: int, scale: float = 2.0) -> jax.Array:
    """Uniform on the 8 dark squares of a 4×4 checkerboard over [−2s, 2s]² (FFJORD's toy, s=2)."""
    k_x, k_y, k_row = jax.random.split(key, 3)
    x1 = jax.random.uniform(k_x, (n,), minval=-2.0, maxval=2.0)
    y = jax.random.uniform(k_y, (n,)) - 2.0 * jax.random.randint(k_row, (n,), 0, 2)
    x2 = y + jnp.floor(x1) % 2
    return scale * jnp.stack([x1, x2], axis=1)


def swiss_roll(key: jax.Array, n: int, noise: float = 0.5, scale: float = 0.2) -> jax.Array:
    """2-D Swiss roll: t·(cos t, sin t) for t ~ U[1.5π, 4.5π], plus N(0, noise²), times `scale`
    (sklearn's make_swiss_roll projected on (x, z); the defaults match FFJORD's toy)."""
    k_t, k_noise = jax.random.split(key)
    t = 1.5 * jnp.pi * (1.0 + 2.0 * jax.random.uniform(k_t, (n,)))
    x = jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=1)
    return scale * (x + noise * jax.random.normal(k_noise, (n, 2)))


TOY2D = {"two_moons": two_moons, "checkerboard": checkerboard, "swiss_roll": swiss_roll}
