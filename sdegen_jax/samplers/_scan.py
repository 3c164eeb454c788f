"""The `lax.scan` loop shared by every hand-written sampler."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

# step(key, x_batch, t, t_next) -> x_batch, with t > t_next (time runs backwards)
Step = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


def run_scan(step: Step, key, x_init, ts, num_saves: int | None):
    """Apply `step` along the grid `ts` (length steps+1); return (x, path or None).

    The path holds x_init and the state after every steps/num_saves steps, batch first:
    shape (n, num_saves + 1, *shape).
    """
    steps = ts.shape[0] - 1

    def body(x, i):
        return step(jax.random.fold_in(key, i), x, ts[i], ts[i + 1]), None

    if not num_saves:
        x, _ = jax.lax.scan(body, x_init, jnp.arange(steps))
        return x, None
    chunk = steps // num_saves

    def outer(x, c):
        x, _ = jax.lax.scan(body, x, c * chunk + jnp.arange(chunk))
        return x, x

    x, saved = jax.lax.scan(outer, x_init, jnp.arange(num_saves))
    path = jnp.concatenate([x_init[None], saved], axis=0)
    return x, jnp.moveaxis(path, 0, 1)


def batched(fn, num_mapped: int = 2):
    """vmap a per-sample function over the leading axis of its first `num_mapped`
    arguments (state, noise); later arguments (times, step sizes) are shared."""

    def wrapped(*args):
        axes = (0,) * num_mapped + (None,) * (len(args) - num_mapped)
        return jax.vmap(fn, in_axes=axes)(*args)

    return wrapped
