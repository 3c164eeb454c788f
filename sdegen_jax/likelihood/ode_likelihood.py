"""Exact log-likelihoods through the probability-flow ODE (Song et al. 2021 §4.3, App. D.2;
seed 000 §4.1, seed 002).

Along the flow dx/dt = v(x, t) = f(x, t) − ½ g(t)² ∇ log p_t(x), the log-density obeys
d log p_t(x(t))/dt = −div v(x(t), t), so

    log p_eps(x) = log p_T(x(T)) + ∫_eps^T div v(x(t), t) dt.

We integrate the augmented state [x, ∫ div v] from eps to T with an adaptive Diffrax solver,
per sample (vmapped), and add the prior's log-density at T.  The divergence is exact (the
Jacobian's trace, for small dimensions) or Hutchinson–Skilling's estimate with probes that
stay fixed along the path, so the ODE is an ODE.  SDEs with state coordinates (the Fourier
SDEs of `sg.functional`) are integrated in them: the map is orthonormal, so densities agree.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_choice, check_int_at_least, check_positive, check_time_horizon
from ..samplers.ode import evals_per_step
from ..sde.reverse import StateScore, probability_flow
from .divergence import PROBES, exact_divergence, sample_probes

__all__ = ["DIVERGENCES", "Likelihood", "log_likelihood"]

DIVERGENCES = ("exact", "hutchinson")


class Likelihood(NamedTuple):
    """What `log_likelihood` returns: per-sample log p_eps(x) in nats (n,), log p_T(x(T)) of the
    prior (n,), the integrated divergence (n,), x(T) (n, *shape), and the vector-field
    evaluations per sample (NFE; a Hutchinson evaluation is one score call plus its jvp per
    probe) with the solver's steps (max over the batch)."""

    logp: jax.Array
    prior_logp: jax.Array
    delta_logp: jax.Array
    x_T: jax.Array
    nfe: jax.Array
    num_steps: jax.Array


@eqx.filter_jit
def _log_likelihood(sde, score_fn, x, probes, eps, divergence, solver, rtol, atol, max_steps, prior_logp):
    flow = probability_flow(sde, StateScore(sde, score_fn))

    def one(x0, eps_probe):
        y0 = sde.to_state(x0)

        def vf(t, state, args):
            y, _ = state
            v = lambda z: flow.drift(z, t)
            if divergence == "exact":
                return v(y), exact_divergence(v, y)
            # One forward pass, then one Jacobian-vector product per probe.
            dy, jvp = jax.linearize(v, y)
            return dy, jnp.mean(jax.vmap(lambda e: jnp.sum(jvp(e) * e))(eps_probe))

        sol = dfx.diffeqsolve(
            dfx.ODETerm(vf), solver, eps, sde.T, dt0=None, y0=(y0, jnp.zeros((), y0.dtype)),
            stepsize_controller=dfx.PIDController(rtol=rtol, atol=atol), max_steps=max_steps,
            adjoint=dfx.ForwardMode(),
        )
        y_T, delta = sol.ys[0][-1], sol.ys[1][-1]
        x_T = sde.from_state(y_T)
        prior = sde.prior_logp(x_T) if prior_logp is None else prior_logp(x_T)
        return prior + delta, prior, delta, x_T, sol.stats["num_steps"]

    return jax.vmap(one)(x, probes)


def log_likelihood(
    key,
    sde,
    score_fn: Callable,
    x,
    *,
    eps: float | None = None,
    divergence: str = "hutchinson",
    num_probes: int = 1,
    probe: str = "rademacher",
    solver: dfx.AbstractSolver | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    max_steps: int = 4096,
    prior_logp: Callable | None = None,
) -> Likelihood:
    """log p_eps of each sample of x (n, *shape) in nats, by the probability-flow ODE.

    `divergence`: "exact" (Jacobian trace; cost grows with the sample size) or "hutchinson"
    (`num_probes` probes of kind `probe`, drawn from `key` once per sample and kept along the
    path).  `prior_logp(x_T)` replaces the SDE's prior log-density (e.g. the exact p_T in
    tests).  Compiled once per shape and settings.
    """
    check_choice("divergence", divergence, DIVERGENCES)
    check_choice("probe", probe, PROBES)
    check_int_at_least("num_probes", num_probes, 1)
    check_positive("rtol", rtol)
    check_positive("atol", atol)
    eps = sde.default_eps if eps is None else eps
    check_time_horizon(sde.T, eps)
    x = jnp.asarray(x, jnp.float32)
    if x.ndim < 2:
        raise ValueError(f"x must be a batch (n, *shape) of samples, got shape {x.shape}; add a leading axis.")
    solver = dfx.Tsit5() if solver is None else solver
    per_step, initial = evals_per_step(solver)
    keys = jax.random.split(key, x.shape[0])
    probes = jax.vmap(lambda k: sample_probes(k, x.shape[1:], num_probes, probe))(keys)
    logp, prior, delta, x_T, steps = _log_likelihood(
        sde, score_fn, x, probes, float(eps), divergence, solver, rtol, atol, max_steps, prior_logp)
    return Likelihood(logp, prior, delta, x_T, per_step * jnp.max(steps) + initial, jnp.max(steps))
