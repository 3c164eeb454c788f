"""`sample`: one entry point over every sampler, compiled once per shape and method."""

from __future__ import annotations

import inspect
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_choice, check_int_at_least
from ..sde.base import check_time_horizon
from ..sde.reverse import tweedie_denoise
from .diffrax_sde import SDE_SOLVERS, reverse_sde_diffrax
from .langevin import _check_num_saves, annealed_langevin
from .ode import probability_flow_ode
from .predictor_corrector import predictor_corrector


class SampleInfo(eqx.Module):
    """What a sampler did: NFE (score evaluations per sample), solver steps, saved path.

    `path` has shape (n, len(ts), *shape) and `ts` the times of its states, or both are
    None when no path was requested.
    """

    nfe: jax.Array
    num_steps: jax.Array
    ts: jax.Array | None
    path: jax.Array | None


def _diffrax(solver):
    def run(key, sde, score_fn, x_init, ts, num_saves=None):
        x, path, nfe = reverse_sde_diffrax(key, sde, score_fn, x_init, ts, solver=solver, num_saves=num_saves)
        return x, path, nfe, ts.shape[0] - 1

    run.__name__ = solver
    return run


def _scan(fn, **fixed):
    def run(key, sde, score_fn, x_init, ts, num_saves=None, **options):
        x, path, nfe = fn(key, sde, score_fn, x_init, ts, num_saves=num_saves, **fixed, **options)
        return x, path, nfe, ts.shape[0] - 1

    run.__signature__ = _options_signature(fn, fixed)
    return run


def _options_signature(fn, fixed):
    params = [p for name, p in inspect.signature(fn).parameters.items() if name not in fixed]
    return inspect.Signature(params)


def _methods() -> dict[str, Callable]:
    methods = {name: _diffrax(name) for name in SDE_SOLVERS}
    methods.update(
        pc=_scan(predictor_corrector),
        reverse_diffusion=_scan(predictor_corrector, predictor="reverse_diffusion", corrector=None),
        ancestral=_scan(predictor_corrector, predictor="ancestral", corrector=None),
        euler_maruyama_scan=_scan(predictor_corrector, predictor="euler_maruyama", corrector=None),
        annealed_langevin=_scan(annealed_langevin),
        ode=probability_flow_ode,
    )
    return methods


METHODS = tuple(_methods())


def _allowed_options(fn):
    sig = inspect.signature(fn)
    return {n for n, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY and n != "num_saves"}


# Methods that choose their own steps: `steps` only sets the save grid.
ADAPTIVE_METHODS = frozenset({"ode"})


@eqx.filter_jit
def _run(method, key, sde, score_fn, x_init, T, eps, steps, run_steps, num_saves, denoise, options):
    # With denoise, fixed-grid methods stop one step early (run_steps = steps − 1) and
    # Tweedie's posterior mean replaces the last step.
    ts = jnp.linspace(T, eps, steps + 1)[: run_steps + 1]
    out = _methods()[method](key, sde, score_fn, x_init, ts, num_saves=num_saves, **dict(options))
    x, path, nfe, num_steps = out
    if denoise:
        x = jax.vmap(lambda xi: tweedie_denoise(sde, score_fn, xi, ts[-1]))(x)
        nfe = nfe + 1
    saved_ts = ts[:: run_steps // num_saves] if num_saves else None
    return x, SampleInfo(jnp.asarray(nfe), jnp.asarray(num_steps), saved_ts, path)


def sample_with_info(
    key: jax.Array,
    sde,
    score_fn: Callable[[jax.Array, jax.Array], jax.Array],
    shape: tuple[int, ...] | None = None,
    n: int | None = None,
    *,
    method: str = "euler_maruyama",
    steps: int = 1000,
    x_init: jax.Array | None = None,
    eps: float | None = None,
    num_saves: int | None = None,
    denoise: bool = False,
    **options,
) -> tuple[jax.Array, SampleInfo]:
    """Draw n samples of `shape` by reversing `sde` from T to eps under `score_fn(x, t)`.

    Args:
      key: PRNG key; fixes the prior draw and all noise.
      sde: a forward SDE (`sg.sde.*`).
      score_fn: ∇_x log p_t(x) for ONE sample x of `shape`; it is vmapped here.  Pass a
        pytree-callable (an `equinox.Module` or `jax.tree_util.Partial`) to reuse the
        compiled sampler across calls; a fresh lambda recompiles.
      shape: shape of one sample.  n: number of samples.  Both may come from `x_init`.
      method: one of `METHODS`: diffrax solvers "euler_maruyama", "heun", "milstein",
        "srk" (ShARK), "sra1"; scans "pc", "reverse_diffusion", "ancestral",
        "euler_maruyama_scan", "annealed_langevin"; and "ode" (adaptive flow ODE).
      steps: number of time steps (levels for "annealed_langevin"; "ode" is adaptive).
      x_init: (n, *shape) samples at time T; defaults to the SDE's prior.
      eps: final time (default `sde.default_eps`).
      num_saves: record the state this many times (evenly in steps) plus at T.
      denoise: end noise-free.  Fixed-grid methods run their first steps − 1 steps and
        replace the last by Tweedie's posterior mean E[x_0 | x_t] = (x + s(t)² score(x, t))
        / a(t) at t = t_{steps−1}: the noise that step would inject (std ≈ g·sqrt(dt), far
        above s(eps) when eps ≪ dt) is never added.  Seed 000's tutorial sampler returns
        the drift-only mean of its last step for the same reason, Song et al.'s code the
        predictor mean (`denoise=True`); all agree to O(dt).  "ode" applies Tweedie at eps.
        One score evaluation more (NFE counts it); the saved path ends before denoising.
      options: method-specific settings, e.g. snr, n_corrector_steps, predictor,
        corrector (pc); n_langevin_steps, step_lr (annealed_langevin); rtol, atol,
        solver, max_steps (ode).

    Returns (samples of shape (n, *shape), SampleInfo).
    """
    check_choice("sampling method", method, METHODS)
    check_int_at_least("steps", steps, 1)
    eps = sde.default_eps if eps is None else eps
    check_time_horizon(sde.T, eps)
    fn = _methods()[method]
    unknown = set(options) - _allowed_options(fn)
    if unknown:
        raise ValueError(
            f"method {method!r} does not take option(s) {sorted(unknown)}; it takes {sorted(_allowed_options(fn)) or 'none'}."
        )
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
    run_steps = steps - 1 if denoise and method not in ADAPTIVE_METHODS else steps
    if run_steps < 1:
        raise ValueError("denoise=True replaces the last step, so it needs steps >= 2.")
    if num_saves and run_steps != steps and run_steps % num_saves:
        raise ValueError(f"with denoise=True, num_saves={num_saves} must divide steps - 1 = {run_steps}.")
    num_saves = _check_num_saves(num_saves, run_steps)
    return _run(
        method, key, sde, score_fn, x_init, float(sde.T), float(eps), steps, run_steps, num_saves, denoise,
        tuple(sorted(options.items())),
    )


def sample(key, sde, score_fn, shape=None, n=None, **kwargs) -> jax.Array:
    """Like `sample_with_info` but returns only the samples, shape (n, *shape)."""
    return sample_with_info(key, sde, score_fn, shape, n, **kwargs)[0]
