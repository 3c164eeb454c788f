"""Divergence of a vector field f: R^D → R^D at one point, exactly or by Hutchinson–Skilling.

    div f(x) = tr ∂f/∂x = E_ε[εᵀ (∂f/∂x) ε]   for probes with E[ε εᵀ] = I

(Rademacher or standard Gaussian ε; seed 002 on Hutchinson's estimator).  The estimator uses
one forward-mode product (∂f/∂x)ε per probe (`jax.jvp`), so its cost is that of a forward
pass per probe, whatever D.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from .._checks import check_choice, check_int_at_least

__all__ = ["PROBES", "exact_divergence", "sample_probes", "hutchinson_divergence"]

PROBES = ("rademacher", "gaussian")


def exact_divergence(f: Callable, x) -> jax.Array:
    """tr ∂f/∂x by forming the Jacobian (D forward-mode products: for small D)."""
    flat = x.reshape(-1)
    jac = jax.jacfwd(lambda v: f(v.reshape(x.shape)).reshape(-1))(flat)
    return jnp.trace(jac)


def sample_probes(key, shape, num_probes: int = 1, kind: str = "rademacher") -> jax.Array:
    """`num_probes` probes of `shape` with E[ε εᵀ] = I: (num_probes, *shape)."""
    check_int_at_least("num_probes", num_probes, 1)
    check_choice("probe", kind, PROBES)
    if kind == "rademacher":
        return jax.random.rademacher(key, (num_probes, *shape), dtype=jnp.float32)
    return jax.random.normal(key, (num_probes, *shape))


def hutchinson_divergence(f: Callable, x, probes) -> jax.Array:
    """Mean over `probes` (k, *x.shape) of εᵀ (∂f/∂x) ε: an unbiased estimate of div f(x)."""
    def one(eps):
        _, jv = jax.jvp(f, (x,), (eps.astype(x.dtype),))
        return jnp.sum(jv * eps)

    return jnp.mean(jax.vmap(one)(probes))
