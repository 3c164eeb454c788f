"""Score matching without noise: exact (implicit) and sliced.

Exact (Hyvärinen 2005; seed 002 eq. 4.1.16; seed 004):
  J(θ) = E_x [ tr ∇_x s_θ(x) + ½ ‖s_θ(x)‖² ]
Sliced (Song et al. 2019; seed 002 eq. 4.1.18), with Hutchinson's estimator of the trace:
  J(θ) = E_x E_v [ vᵀ ∇_x s_θ(x) v + ½ ‖s_θ(x)‖² ],  E[v vᵀ] = I,
with v Rademacher or Gaussian.  Both equal ½ E‖s_θ − ∇ log p‖² up to a constant.

Calling convention (the library's): `loss(key, score_fn, x_batch, *, t=0.0, ...)` with the
per-example `score_fn(x, t)` evaluated at the fixed time t (a time-independent model ignores
it); the losses average over the batch.  The exact loss takes the key too, unused, so the two
are interchangeable.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from .._checks import check_choice, check_int_at_least

__all__ = ["PROJECTIONS", "ScoreFn", "exact_score_matching", "sliced_score_matching"]

PROJECTIONS = ("rademacher", "gaussian")

ScoreFn = Callable[[jax.Array, jax.Array], jax.Array]


def _check_batch(x):
    if jnp.ndim(x) < 1:
        raise ValueError(f"x must be a batch (n, *shape), got shape {jnp.shape(x)}.")


def exact_score_matching(key, score_fn: ScoreFn, x, *, t=0.0) -> jax.Array:
    """Mean over the batch of tr ∇s(x) + ½‖s(x)‖², the trace by a full Jacobian (small d)."""
    del key
    _check_batch(x)

    def one(xi):
        flat = xi.reshape(-1)
        f = lambda y: score_fn(y.reshape(xi.shape), t).reshape(-1)
        s = f(flat)
        return jnp.trace(jax.jacfwd(f)(flat)) + 0.5 * jnp.sum(s**2)

    return jnp.mean(jax.vmap(one)(x))


def sliced_score_matching(
    key, score_fn: ScoreFn, x, *, t=0.0, num_projections: int = 1, projection: str = "rademacher"
) -> jax.Array:
    """Mean over the batch and projections of vᵀ∇s(x)v + ½‖s(x)‖² (one JVP per projection)."""
    check_choice("projection", projection, PROJECTIONS)
    check_int_at_least("num_projections", num_projections, 1)
    _check_batch(x)
    keys = jax.random.split(key, x.shape[0])

    def one(k, xi):
        if projection == "rademacher":
            v = jax.random.rademacher(k, (num_projections,) + xi.shape, dtype=xi.dtype)
        else:
            v = jax.random.normal(k, (num_projections,) + xi.shape, xi.dtype)

        def quad(vi):
            s, jv = jax.jvp(lambda y: score_fn(y, t), (xi,), (vi,))
            return jnp.sum(vi * jv), s

        quads, s = jax.vmap(quad)(v)
        return jnp.mean(quads) + 0.5 * jnp.sum(s[0] ** 2)

    return jnp.mean(jax.vmap(one)(keys, x))
