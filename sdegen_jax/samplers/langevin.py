"""Langevin MCMC: unadjusted Langevin, and annealed Langevin dynamics (NCSN).

Unadjusted Langevin: x_k = x_{k−1} + γ ∇ log p(x_{k−1}) + sqrt(2γ) z  (seed 002 eq. 4.1.9;
seed 001 Alg. 1).  Annealed Langevin runs M such steps at each noise level from the
largest to the smallest, warm-starting each level from the last (seed 001 Alg. 2;
seed 003 Alg. 1).
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_int_at_least, check_positive, require_kernel
from .base import StepSampler, run_scan
from .batching import batch_score, check_chunk_size

__all__ = ["check_num_saves", "langevin", "AnnealedLangevin"]


def check_num_saves(num_saves, steps: int) -> int | None:
    """None, or a positive divisor of `steps` (the saved path is evenly spaced)."""
    if num_saves is None:
        return None
    check_int_at_least("num_saves", num_saves, 1)
    if steps % num_saves:
        raise ValueError(f"num_saves={num_saves} must divide steps={steps}; e.g. num_saves={_divisor(steps)}.")
    return num_saves


def _divisor(steps, target=100):
    return max(d for d in range(1, min(steps, target) + 1) if steps % d == 0)


@eqx.filter_jit
def _langevin(key, score_fn, x_init, step_size, steps, t, num_saves, chunk_size):
    scores = batch_score(score_fn, chunk_size)

    def step(k, x, _t, _t_next):
        z = jax.random.normal(k, x.shape, x.dtype)
        return x + step_size * scores(x, t) + jnp.sqrt(2.0 * step_size) * z

    grid = jnp.zeros(steps + 1)  # Langevin is time-homogeneous: the grid only counts steps
    return run_scan(step, key, x_init, grid, num_saves)


def langevin(
    key: jax.Array,
    score_fn: Callable[[jax.Array, jax.Array], jax.Array],
    x_init: jax.Array,
    step_size: float = 1e-2,
    steps: int = 1000,
    *,
    t: float = 0.0,
    num_saves: int | None = None,
    return_path: bool = False,
    chunk_size: int | None = None,
):
    """Unadjusted Langevin dynamics from `x_init` (n, *shape) on the per-sample `score_fn(x, t)`
    at the fixed time `t` (a time-independent target ignores it; e.g. `gmm.score_fn()`).

    Returns the final samples, or (samples, path) with `return_path=True`, where path has
    shape (n, num_saves + 1, *shape) and holds x_init and every steps/num_saves-th state.
    """
    check_positive("step_size", step_size, "Langevin needs a positive step size; try 1e-2.")
    check_int_at_least("steps", steps, 1)
    check_chunk_size(chunk_size)
    x_init = jnp.asarray(x_init)
    if x_init.ndim < 1:
        raise ValueError("x_init must have a leading batch axis: shape (n, *sample_shape).")
    if return_path and num_saves is None:
        raise ValueError("return_path=True needs num_saves, the number of states to record.")
    num_saves = check_num_saves(num_saves if return_path else None, steps)
    x, path = _langevin(key, score_fn, x_init, float(step_size), steps, float(t), num_saves, chunk_size)
    return (x, path) if return_path else x


class AnnealedLangevin(StepSampler):
    """NCSN sampling (seed 001 Alg. 2): at each level t_i of the grid (ts[1:], decreasing),
    `steps_per_level` Langevin steps on p_{t_i} with γ_i = step_lr · s(t_i)², s the marginal std.

    NCSN writes γ_i = ε σ_i² / σ_L²; `step_lr` = ε / σ_L² makes the step scale-free.  x_init
    is a sample at ts[0]; NFE = levels × steps_per_level.

    Entering level t_{i+1} the samples are multiplied by a(t_{i+1}) / a(t_i) (x_t = a x_0 + s z).
    For VE SDEs a ≡ 1 and this is Alg. 2 unchanged.  For VP-type SDEs, where a grows as t
    falls, it moves the modes to where p_{t_{i+1}} has them, so that each level starts, as in
    NCSN, from a smoother version of its target (noise std (a_{i+1}/a_i)·s_i ≥ s_{i+1})
    rather than from mixtures centred at a_i·μ, which small late steps cannot transport.
    Needs the closed-form kernel (`marginal_coeffs`).
    """

    steps_per_level: int = 10
    step_lr: float = 0.1

    def __check_init__(self):
        check_int_at_least("steps_per_level", self.steps_per_level, 1)
        check_positive("step_lr", self.step_lr, "NCSN's default corresponds to step_lr ≈ 0.2.")

    @property
    def nfe_per_step(self):
        return self.steps_per_level

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        require_kernel(sde, "annealed Langevin sampling")
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def batch_step(self, key, sde, score_fn, x, t, t_next, chunk_size=None):
        scores = batch_score(score_fn, chunk_size)
        a_next, s_next = sde.marginal_coeffs(t_next)
        x = x * (a_next / sde.marginal_coeffs(t)[0])
        gamma = self.step_lr * s_next**2

        def inner(x, k):
            z = jax.random.normal(k, x.shape, x.dtype)
            return x + gamma * scores(x, t_next) + jnp.sqrt(2.0 * gamma) * z, None

        x, _ = jax.lax.scan(inner, x, jax.random.split(key, self.steps_per_level))
        return x

