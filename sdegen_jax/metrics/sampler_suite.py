"""Samplers measured against an exact target: the suite behind seed 002's toy experiments.

Given a Gaussian mixture p_0 and a linear SDE, p_T and p_eps are known in closed form, so a
sampler started from exact p_T samples with the exact score has only its own discretisation
error plus sampling noise; started from the SDE's prior it also carries the start mismatch.

    ring = sg.toy.ring_mixture()
    result = sg.metrics.evaluate_sampler(key, sde, ring, sg.samplers.Heun(), steps=100, n=20_000)
    result.row   # {"nfe": 200, "w1": ..., "exact_w1_mean": ..., "wall_s": ..., ...}

W1 is to the exact p_eps (1-D) or the sliced W1 over random directions (d-D).  The sampling
noise of one W1 draw is large (mostly the binomial mode weights), so rows carry the mean W1 of
exact p_eps samples of the same size (1-D), and a row whose W1 exceeds every exact draw can be
rerun `repeats` times with fresh noise to tell an unlucky draw from a real error.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .wasserstein import expected_w1_noise_floor, sliced_wasserstein1_to_mixture, wasserstein1_to_mixture

__all__ = [
    "STARTS",
    "distance",
    "exact_sample_w1",
    "prior_mixture",
    "exact_w1_1d",
    "compile_sampler",
    "run_compiled",
    "Evaluation",
    "evaluate_sampler",
]

STARTS = ("p_T", "prior")


def distance(samples, target, key=None, num_projections: int = 64) -> float:
    """W1 to a 1-D mixture, or the sliced W1 (over `num_projections` directions from `key`)."""
    if target.dim == 1:
        return wasserstein1_to_mixture(samples, target)
    if key is None:
        raise ValueError("the sliced W1 of a multi-dimensional target needs a `key` for its projections.")
    return sliced_wasserstein1_to_mixture(samples, target, key, num_projections)


# Exact-sample W1 draws by (mixture, n, key, draws): the same reference serves every row of a
# table, and each draw costs a sort and a CDF on a 200k grid.  A cache of results, not state.
_EXACT_W1_CACHE: dict = {}


def exact_sample_w1(mixture, n: int, key, draws: int = 5) -> dict:
    """W1 of n exact samples of a 1-D `mixture` to itself over `draws` independent draws:
    {"mean", "max", "draws"}, the level a perfect sampler shows."""
    raw = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    ident = tuple(tuple(np.asarray(a).ravel().tolist()) for a in (mixture.weights, mixture.means, mixture.stds, raw))
    ident += (int(n), int(draws))
    if ident not in _EXACT_W1_CACHE:
        _EXACT_W1_CACHE[ident] = [
            wasserstein1_to_mixture(mixture.sample(jax.random.fold_in(key, j), n), mixture) for j in range(draws)
        ]
    w = _EXACT_W1_CACHE[ident]
    return {"mean": float(np.mean(w)), "max": float(np.max(w)), "draws": [float(v) for v in w]}


def prior_mixture(sde, dim: int = 1):
    """The SDE's Gaussian prior N(0, prior_std² I) as a one-component mixture."""
    from ..toy import GaussianMixture

    return GaussianMixture([1.0], jnp.zeros((1, dim)), float(sde.prior_std))


def exact_w1_1d(p, q, num: int = 400_001) -> float:
    """W1 = ∫ |F_p − F_q| dx between two 1-D mixtures (no sampling)."""
    lo = min(p.support_interval()[0], q.support_interval()[0])
    hi = max(p.support_interval()[1], q.support_interval()[1])
    grid = jnp.linspace(lo, hi, num)
    diff = np.abs(np.asarray(p.cdf(grid), np.float64) - np.asarray(q.cdf(grid), np.float64))
    return float(np.trapezoid(diff, np.asarray(grid, np.float64)))


def compile_sampler(sde, score_fn, sampler, key, x_init, *, steps: int | None, num_saves: int | None = None):
    """AOT-compile `sg.sample_with_info` for inputs shaped like (key, x_init); returns
    (compiled, compile seconds); `compiled(key, x)` returns (x, SampleInfo) for any x of that shape."""
    from ..samplers import sample_with_info

    def fn(k, x):
        return sample_with_info(k, sde, score_fn, x_init=x, method=sampler, steps=steps, num_saves=num_saves)

    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(key, x_init).compile()
    return compiled, time.perf_counter() - t0


def run_compiled(compiled, key, x_init):
    """Run a compiled sampler and wait for it; returns (x, info, wall seconds)."""
    t0 = time.perf_counter()
    x, info = jax.block_until_ready(compiled(key, x_init))
    return x, info, time.perf_counter() - t0


class Evaluation(NamedTuple):
    """One sampler run against an exact target: the table `row`, the `samples` and the
    sampler's `info` (with the saved path when num_saves was given)."""

    row: dict
    samples: Any
    info: Any


def evaluate_sampler(
    key,
    sde,
    mixture,
    sampler,
    *,
    steps: int | None,
    n: int,
    start: str = "p_T",
    repeats: int = 0,
    num_saves: int | None = None,
    num_projections: int = 64,
    x_init=None,
    exact_key=None,
) -> Evaluation:
    """Sample n points of `mixture`'s p_eps with `sampler` on its exact score and measure them.

    start: "p_T" (exact samples of the mixture's marginal at T) or "prior" (the SDE's prior);
      or give `x_init` directly.
    exact_key: the key of the exact-sample reference draws (default: from `key`); share one
      across the rows of a table so they are read against the same reference.
    repeats: when a 1-D W1 exceeds the largest of 5 exact-sample draws, rerun this many times
      with fresh starts and noise (same compiled sampler); `w1_repeat_mean` is the mean of the
      fresh runs only, so it is not biased by the selection.
    The row holds: steps, n, start, nfe, w1, exact_w1_mean / exact_w1_max (1-D), noise_bound
    (∫ sqrt(F(1 − F)/n), 1-D), compile_s, wall_s (compilation excluded), us_per_sample.
    """
    if start not in STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {STARTS} (or pass x_init).")
    target = mixture.marginal(sde, sde.default_eps)
    k_init, k_run, k_proj, k_exact = jax.random.split(key, 4)

    def draw(k):
        if start == "p_T":
            return mixture.marginal(sde, sde.T).sample(k, n)
        return sde.prior_sample(k, (n, mixture.dim))

    x0 = draw(k_init) if x_init is None else jnp.asarray(x_init)
    compiled, compile_s = compile_sampler(sde, mixture.score_fn(sde), sampler, k_run, x0, steps=steps, num_saves=num_saves)
    x, info, wall_s = run_compiled(compiled, k_run, x0)
    row = dict(
        steps=steps, n=int(x0.shape[0]), start=start if x_init is None else "given", nfe=int(info.nfe),
        num_steps=int(info.num_steps), w1=distance(x, target, k_proj, num_projections),
        compile_s=compile_s, wall_s=wall_s, us_per_sample=wall_s / x0.shape[0] * 1e6,
    )
    if mixture.dim == 1:
        ref = exact_sample_w1(target, row["n"], k_exact if exact_key is None else exact_key)
        row.update(exact_w1_mean=ref["mean"], exact_w1_max=ref["max"], noise_bound=expected_w1_noise_floor(target, row["n"]))
        if repeats and row["w1"] > ref["max"]:
            w1s = []
            for r in range(1, repeats + 1):
                k_rep = jax.random.fold_in(k_run, 1000 + r)
                x_rep = draw(jax.random.fold_in(k_rep, 0)) if x_init is None else x0
                w1s.append(distance(run_compiled(compiled, k_rep, x_rep)[0], target))
            row.update(w1_repeats=w1s, w1_repeat_mean=float(np.mean(w1s)))
    return Evaluation(row, x, info)
