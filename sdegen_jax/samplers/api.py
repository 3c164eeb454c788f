"""`sample`: one entry point over every sampler, compiled once per shape and sampler."""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int_at_least, check_time_horizon, require_kernel
from ..sde.reverse import StateScore, tweedie_denoise
from .base import SampleInfo
from .batching import check_chunk_size, map_batch
from .diffrax_sde import EulerMaruyama
from .langevin import check_num_saves
from .names import METHODS, from_name

__all__ = ["DEFAULT_STEPS", "sample_with_info", "sample"]

DEFAULT_STEPS = 1000


@eqx.filter_jit
def _run(sampler, key, sde, score_fn, x_init, T, eps, steps, run_steps, num_saves, denoise, chunk_size):
    # With denoise, fixed-grid samplers stop one step early (run_steps = steps − 1) and
    # Tweedie's posterior mean replaces the last step.
    # The grid is static (T, eps, steps are Python values): built with numpy, it reaches XLA as a
    # constant, and Diffrax's loop then sees constant t0, t1 and dt0.
    time_grid = getattr(sampler, "time_grid", None)
    if time_grid is None:
        ts = jnp.asarray(np.linspace(T, eps, steps + 1)[: run_steps + 1], dtype=x_init.dtype)
    else:  # a sampler with its own schedule (few-step solvers) ends its grid at eps either way
        ts = jnp.asarray(time_grid(sde, T, eps, run_steps), dtype=x_init.dtype)
    # Samplers run in the SDE's state coordinates (the identity except for SDEs diagonal in
    # another orthonormal basis); inputs, scores and outputs stay in pixel space.
    state_score = StateScore(sde, score_fn)
    y, info = sampler(key, sde, state_score, jax.vmap(sde.to_state)(x_init), ts, num_saves=num_saves, chunk_size=chunk_size)
    if denoise:
        y = map_batch(lambda yi: tweedie_denoise(sde, state_score, yi, ts[-1]), chunk_size)(y)
        info = eqx.tree_at(lambda i: i.nfe, info, info.nfe + 1)
    if info.path is not None:
        info = eqx.tree_at(lambda i: i.path, info, jax.vmap(jax.vmap(sde.from_state))(info.path))
    return jax.vmap(sde.from_state)(y), info


def sample_with_info(
    key: jax.Array,
    sde,
    score_fn: Callable[[jax.Array, jax.Array], jax.Array],
    shape: tuple[int, ...] | None = None,
    n: int | None = None,
    *,
    method=None,
    steps: int | None = None,
    x_init: jax.Array | None = None,
    eps: float | None = None,
    num_saves: int | None = None,
    denoise: bool = False,
    chunk_size: int | None = None,
) -> tuple[jax.Array, SampleInfo]:
    """Draw n samples of `shape` by reversing `sde` from T to eps under `score_fn(x, t)`.

    Args:
      key: PRNG key; fixes the prior draw and all noise.
      sde: a forward SDE (`sg.sde.*`).
      score_fn: ∇_x log p_t(x) for ONE sample x of `shape` and a scalar t; the library maps
        it over the batch.  Pass a pytree callable (an `equinox.Module`, a
        `jax.tree_util.Partial`, `sg.nets.score_fn_from(model)`) to reuse the compiled sampler
        across calls; a fresh lambda recompiles.
      shape: shape of one sample.  n: number of samples.  Both may come from `x_init`.
      method: a sampler object (`sg.samplers.EulerMaruyama()`, `PredictorCorrector(snr=0.16)`,
        `ProbabilityFlowODE(rtol=1e-5)`, ... or your own: see `sg.samplers.base`), or the name
        of a library sampler with its defaults (one of `sg.samplers.METHODS`).  Default
        `EulerMaruyama()`.
      steps: number of intervals of the time grid from T to eps (default 1000).  Every
        fixed-grid sampler spends `nfe_per_step` score evaluations per interval (annealed
        Langevin: `steps_per_level` per level).  Adaptive samplers (ProbabilityFlowODE) choose
        their own steps and refuse `steps`.
      x_init: (n, *shape) samples at time T; defaults to draws from the SDE's prior.
      eps: final time (default `sde.default_eps`).
      num_saves: record the state this many times (evenly in steps) plus at T.
      denoise: end noise-free.  Fixed-grid samplers on the uniform grid run its first
        steps − 1 steps and replace the last by Tweedie's posterior mean E[x_0 | x_t] = (x + s(t)² score(x, t))
        / a(t) at t = t_{steps−1}: the noise that step would inject (std ≈ g·sqrt(dt), far
        above s(eps) when eps ≪ dt) is never added.  Seed 000's tutorial sampler returns
        the drift-only mean of its last step for the same reason, Song et al.'s code the
        predictor mean (`denoise=True`); all agree to O(dt).  Adaptive samplers, and samplers
        with their own `schedule` (`time_grid`: DPMSolverPP, UniPC, EDMHeun, DDIM...), run
        steps − 1 steps on their grid from T to eps and apply Tweedie at eps (EDM's last step
        to σ = 0).  One score evaluation more (NFE counts it); the saved path ends before
        denoising.  Needs the SDE's closed-form kernel.
      chunk_size: evaluate the score on at most this many samples at a time (`lax.map` over
        chunks); None evaluates the whole batch at once.  Large batches of big samples run
        faster in chunks on CPU (`benchmarks.samplers`, section "chunking").

    Returns (samples of shape (n, *shape), SampleInfo).
    """
    sampler = _resolve(method)
    adaptive = bool(getattr(sampler, "adaptive", False))
    if adaptive and steps is not None:
        raise ValueError(
            f"{type(sampler).__name__} chooses its own steps; drop `steps` (use num_saves for a path)."
        )
    steps = (num_saves or 1) if adaptive else (DEFAULT_STEPS if steps is None else steps)
    check_int_at_least("steps", steps, 1)
    check_chunk_size(chunk_size)
    eps = sde.default_eps if eps is None else eps
    check_time_horizon(sde.T, eps)
    if x_init is None:
        if shape is None or n is None:
            raise ValueError("give `shape` and `n` (or `x_init` of shape (n, *shape)).")
        check_int_at_least("n", n, 1)
        key, prior_key = jax.random.split(key)
        x_init = sde.prior_sample(prior_key, (n, *tuple(shape)))
    else:
        x_init = jnp.asarray(x_init)
        expected_n = x_init.shape[0] if n is None else n
        expected_shape = x_init.shape[1:] if shape is None else tuple(shape)
        if x_init.shape != (expected_n, *expected_shape):
            raise ValueError(
                f"x_init has shape {x_init.shape}, expected (n, *shape) = {(expected_n, *expected_shape)}."
            )
    if denoise not in (True, False):
        raise ValueError(f"denoise must be True or False, got {denoise!r}.")
    if denoise:
        require_kernel(sde, "denoise=True (Tweedie's posterior mean)")
    run_steps = steps - 1 if denoise and not adaptive else steps
    if run_steps < 1:
        raise ValueError("denoise=True replaces the last step, so it needs steps >= 2.")
    if num_saves and run_steps != steps and run_steps % num_saves:
        raise ValueError(f"with denoise=True, num_saves={num_saves} must divide steps - 1 = {run_steps}.")
    num_saves = check_num_saves(num_saves, run_steps)
    return _run(
        sampler, key, sde, score_fn, x_init, float(sde.T), float(eps), steps, run_steps, num_saves, denoise, chunk_size
    )


def _resolve(method):
    if method is None:
        return EulerMaruyama()
    if isinstance(method, str):  # a CLI alias: the library sampler with its defaults
        return from_name(method)
    if not callable(method):
        raise ValueError(
            f"method must be a sampler object (e.g. sg.samplers.EulerMaruyama()) or one of {list(METHODS)}; "
            f"got {method!r}."
        )
    return method


def sample(key, sde, score_fn, shape=None, n=None, **kwargs) -> jax.Array:
    """Like `sample_with_info` but returns only the samples, shape (n, *shape)."""
    return sample_with_info(key, sde, score_fn, shape, n, **kwargs)[0]
