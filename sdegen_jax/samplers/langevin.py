"""Langevin MCMC: unadjusted Langevin and annealed Langevin dynamics (NCSN).

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

from .._checks import check_int_at_least, check_positive
from ._scan import batched, run_scan


def _langevin_step(score, x, z, step_size):
    return x + step_size * score(x) + jnp.sqrt(2.0 * step_size) * z


@eqx.filter_jit
def _langevin(key, score_fn, x_init, step_size, steps, num_saves):
    step_one = batched(lambda x, z, gamma: _langevin_step(score_fn, x, z, gamma))

    def step(key, x, t, t_next):
        return step_one(x, jax.random.normal(key, x.shape), step_size)

    ts = jnp.zeros(steps + 1)  # Langevin is time-homogeneous: the grid only counts steps
    return run_scan(step, key, x_init, ts, num_saves)


def langevin(
    key: jax.Array,
    score_fn: Callable[[jax.Array], jax.Array],
    x_init: jax.Array,
    step_size: float = 1e-2,
    steps: int = 1000,
    *,
    num_saves: int | None = None,
    return_path: bool = False,
):
    """Unadjusted Langevin dynamics from `x_init` (batch first) with score_fn(x) of one sample.

    Returns the final samples, or (samples, path) with `return_path=True`, where path has
    shape (n, num_saves + 1, *shape) and holds x_init and every steps/num_saves-th state.
    """
    check_positive("step_size", step_size, "Langevin needs a positive step size; try 1e-2.")
    check_int_at_least("steps", steps, 1)
    x_init = jnp.asarray(x_init)
    if x_init.ndim < 1:
        raise ValueError("x_init must have a leading batch axis: shape (n, *sample_shape).")
    num_saves = _check_num_saves(num_saves if return_path else None, steps, return_path)
    x, path = _langevin(key, score_fn, x_init, float(step_size), steps, num_saves)
    return (x, path) if return_path else x


def _check_num_saves(num_saves, steps, required=False):
    if num_saves is None:
        if required:
            raise ValueError("return_path=True needs num_saves, the number of states to record.")
        return None
    check_int_at_least("num_saves", num_saves, 1)
    if steps % num_saves:
        raise ValueError(f"num_saves={num_saves} must divide steps={steps}; e.g. num_saves={_divisor(steps)}.")
    return num_saves


def _divisor(steps, target=100):
    return max(d for d in range(1, min(steps, target) + 1) if steps % d == 0)


def annealed_langevin(
    key,
    sde,
    score_fn,
    x_init,
    ts,
    *,
    n_langevin_steps: int = 10,
    step_lr: float = 0.1,
    num_saves: int | None = None,
):
    """NCSN sampling: at each level t_i of `ts` (decreasing), M Langevin steps on p_{t_i} with
    γ_i = step_lr · s(t_i)², s the marginal std (seed 001 Alg. 2).

    NCSN writes γ_i = ε σ_i² / σ_L²; `step_lr` = ε / σ_L² makes the step scale-free.
    `x_init` is taken as a sample at ts[0] = T; the levels are ts[1:], ending at eps.

    Entering level t_{i+1} the samples are multiplied by a(t_{i+1}) / a(t_i) (x_t = a x_0 + s z).
    For VE SDEs a ≡ 1 and this is Alg. 2 unchanged.  For VP-type SDEs, where a grows as t
    falls, it moves the modes to where p_{t_{i+1}} has them, so that each level starts, as in
    NCSN, from a smoother version of its target (noise std (a_{i+1}/a_i)·s_i ≥ s_{i+1})
    rather than from mixtures centred at a_i·μ, which small late steps cannot transport.
    Returns (x, path, nfe).
    """
    check_int_at_least("n_langevin_steps", n_langevin_steps, 1)
    check_positive("step_lr", step_lr, "NCSN's default corresponds to step_lr ≈ 0.2.")
    step_one = batched(lambda x, z, t, gamma: _langevin_step(lambda y: score_fn(y, t), x, z, gamma))

    # Levels t_1 … t_L; x_init is taken as a sample at t_0 = T.
    def step(key, x, t, t_next):
        a_next, s_next = sde.marginal_coeffs(t_next)
        x = x * (a_next / sde.marginal_coeffs(t)[0])
        gamma = step_lr * s_next**2

        def inner(x, k):
            return step_one(x, jax.random.normal(jax.random.fold_in(key, k), x.shape), t_next, gamma), None

        x, _ = jax.lax.scan(inner, x, jnp.arange(n_langevin_steps))
        return x

    x, path = run_scan(step, key, x_init, ts, num_saves)
    return x, path, (ts.shape[0] - 1) * n_langevin_steps
