"""Wasserstein-1 distances of samples to an exact distribution.

In 1-D, W1(μ_n, ν) = ∫ |F_n(x) − F(x)| dx, computed here against the exact mixture CDF
on a fine grid (no second sample, so no second source of noise).  In d-D the sliced
W1 averages this over random directions, using the exact projected mixture.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

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
    lo, hi = min(lo, float(x[0])), max(hi, float(jnp.max(x)))
    grid = np.linspace(lo, hi, grid_size)
    emp = np.searchsorted(x, grid, side="right") / x.size
    exact = np.asarray(cdf(jnp.asarray(grid)), dtype=np.float64)
    return float(np.trapezoid(np.abs(emp - exact), grid))


def wasserstein1_to_mixture(samples, mixture) -> float:
    """W1 between 1-D samples of shape (n,) or (n, 1) and a 1-D `GaussianMixture`."""
    lo, hi = mixture.support_interval()
    return wasserstein1_to_cdf(samples, mixture.cdf, lo, hi)


def sliced_wasserstein1_to_mixture(samples, mixture, key, num_projections: int = 64) -> float:
    """Mean over random unit directions θ of W1(⟨θ, x⟩, exact projected mixture).

    Each direction's W1 is `wasserstein1_to_mixture` of the projected samples against
    `mixture.project(θ)` (the same grid of 200,001 points over the same interval), computed for
    all directions in one compiled program instead of a Python loop of eager operations
    (64 directions of 2,000 samples on a CPU: 0.5 s, 2 s with the compilation, instead of
    3–6 s).  The value is the same to float rounding (measured: within 1e-6 relative): the
    grid and the sum are float32 here, float64 in `wasserstein1_to_cdf`.
    """
    samples = jnp.asarray(samples).reshape(-1, mixture.dim)
    dirs = jax.random.normal(key, (num_projections, mixture.dim))
    dirs = dirs / jnp.linalg.norm(dirs, axis=1, keepdims=True)
    return float(_sliced_w1(samples, dirs, mixture.weights, mixture.means, mixture.stds))


_GRID_SIZE = 200_001  # wasserstein1_to_cdf's default
_GRID_BLOCK = 448  # the trapezoid sum is taken in blocks of 448 points (448² ≥ 200,001), for float32 accuracy


@functools.partial(jax.jit, static_argnames=("num_stds",))
def _sliced_w1(samples, dirs, weights, means, stds, num_stds: float = 10.0):
    """Mean over the rows θ of `dirs` of ∫ |F_n − F| dx on the grid of `wasserstein1_to_cdf`,
    F_n of ⟨θ, samples⟩ and F of the mixture projected on θ (`GaussianMixture.project`)."""
    n = samples.shape[0]
    steps = jnp.arange(_GRID_SIZE, dtype=samples.dtype)

    def one(theta):
        x = samples @ theta
        m = means @ theta  # the projected mixture, as GaussianMixture.project
        s = jnp.sqrt((stds**2) @ theta**2)
        lo = jnp.minimum(jnp.min(m - num_stds * s), jnp.min(x))  # support_interval, widened to the samples
        hi = jnp.maximum(jnp.max(m + num_stds * s), jnp.max(x))
        h = (hi - lo) / (_GRID_SIZE - 1)
        grid = jnp.where(steps == _GRID_SIZE - 1, hi, lo + steps * h)
        # F_n(grid) = #{x ≤ grid} / n (searchsorted side="right"), from the first grid point
        # k ≥ x of each sample (the grid is uniform; one step corrects the rounding of k):
        k = jnp.clip(jnp.ceil((x - lo) / h).astype(jnp.int32), 0, _GRID_SIZE - 1)
        k = jnp.where((grid[k] < x) & (k < _GRID_SIZE - 1), k + 1, k)
        k = jnp.where((k > 0) & (grid[jnp.maximum(k - 1, 0)] >= x), k - 1, k)
        emp = jnp.cumsum(jnp.zeros(_GRID_SIZE, jnp.int32).at[k].add(1)) / n
        exact = jnp.sum(weights * norm.cdf((grid[:, None] - m) / s), axis=-1)
        f = jnp.abs(emp - exact)
        f = jnp.pad(f, (0, _GRID_BLOCK**2 - _GRID_SIZE)).reshape(_GRID_BLOCK, _GRID_BLOCK)
        return h * (jnp.sum(jnp.sum(f, axis=1)) - 0.5 * (f[0, 0] + f.reshape(-1)[_GRID_SIZE - 1]))

    return jnp.mean(jax.lax.map(one, dirs))


def expected_w1_noise_floor(mixture, n: int) -> float:
    """Upper bound on E W1(F_n, F) from sampling alone: ∫ sqrt(F(1 − F) / n) dx (Jensen).

    Used to justify test tolerances: a correct sampler's W1 is about this large.
    """
    lo, hi = mixture.support_interval()
    grid = np.linspace(lo, hi, 100_001)
    F = np.asarray(mixture.cdf(jnp.asarray(grid)), dtype=np.float64)
    return float(np.trapezoid(np.sqrt(F * (1 - F) / n), grid))
