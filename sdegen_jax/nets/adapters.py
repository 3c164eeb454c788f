"""Turn a batched Flax apply into the per-sample `score_fn(x, t)` the samplers take."""

from __future__ import annotations

from typing import Any, Callable

import equinox as eqx
import jax.numpy as jnp


class BatchedScore(eqx.Module):
    """score_fn(x, t) for ONE sample from `apply(variables, x_batch, t_batch)`.

    A pytree (the variables are its leaves), so samplers compiled for it are reused when
    only the weights change.  Under the samplers' vmap the batch axis of 1 added here
    becomes the real batch.
    """

    apply: Callable = eqx.field(static=True)
    variables: Any

    def __call__(self, x, t):
        out = self.apply(self.variables, x[None], jnp.reshape(jnp.asarray(t, x.dtype), (1,)))
        return out[0]


def score_fn_from(apply: Callable, variables: Any) -> BatchedScore:
    """`apply(variables, x (N, ...), t (N,)) -> (N, ...)` as a per-sample score_fn."""
    return BatchedScore(apply, variables)
