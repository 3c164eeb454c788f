"""Wasserstein-1 distances of samples to an exact distribution.

In 1-D, W1(μ_n, ν) = ∫ |F_n(x) − F(x)| dx, computed here against the exact mixture CDF
on a fine grid (no second sample, so no second source of noise).  In d-D the sliced
W1 averages this over random directions, using the exact projected mixture.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "wasserstein1_to_cdf",
    "wasserstein1_to_mixture",
    "sliced_wasserstein1_to_mixture",
    "expected_w1_noise_floor",
]


def wasserstein1_to_cdf(samples, cdf, lo: float, hi: float, grid_size: int = 200_001) -> float:
    """∫_lo^hi |F_n − F| dx for 1-D samples (any shape, flattened) against `cdf`.

    [lo, hi] must hold all samples and nearly all of the target mass.
    """
    x = np.sort(np.asarray(samples, dtype=np.float64).reshape(-1))
    lo, hi = min(lo, float(x[0])), max(hi, float(x[-1]))
    grid = np.linspace(lo, hi, grid_size)
    emp = np.searchsorted(x, grid, side="right") / x.size
    exact = np.asarray(cdf(jnp.asarray(grid)), dtype=np.float64)
    return float(np.trapezoid(np.abs(emp - exact), grid))


def wasserstein1_to_mixture(samples, mixture) -> float:
    """W1 between 1-D samples of shape (n,) or (n, 1) and a 1-D `GaussianMixture`."""
    lo, hi = mixture.support_interval()
    return wasserstein1_to_cdf(samples, mixture.cdf, lo, hi)


def sliced_wasserstein1_to_mixture(samples, mixture, key, num_projections: int = 64) -> float:
    """Mean over random unit directions θ of W1(⟨θ, x⟩, exact projected mixture)."""
    samples = np.asarray(samples).reshape(-1, mixture.dim)
    dirs = jax.random.normal(key, (num_projections, mixture.dim))
    dirs = np.asarray(dirs / jnp.linalg.norm(dirs, axis=1, keepdims=True))
    return float(np.mean([wasserstein1_to_mixture(samples @ d, mixture.project(d)) for d in dirs]))


def expected_w1_noise_floor(mixture, n: int) -> float:
    """Upper bound on E W1(F_n, F) from sampling alone: ∫ sqrt(F(1 − F) / n) dx (Jensen).

    Used to justify test tolerances: a correct sampler's W1 is about this large.
    """
    lo, hi = mixture.support_interval()
    grid = np.linspace(lo, hi, 100_001)
    F = np.asarray(mixture.cdf(jnp.asarray(grid)), dtype=np.float64)
    return float(np.trapezoid(np.sqrt(F * (1 - F) / n), grid))
