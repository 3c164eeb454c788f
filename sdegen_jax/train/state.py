"""The training state: one immutable pytree, checkpointed whole."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

__all__ = ["TrainState", "raw_key"]


@flax.struct.dataclass
class TrainState:
    """step, params, optimizer state, EMA of the params, the base PRNG key and the model's
    untrained constants (e.g. fixed Fourier features; an empty pytree when there are none).

    The key of step k is `fold_in(key, k)`, so a resumed run draws the same noise
    as an uninterrupted one.  `key` is a raw uint32 key (orbax stores it as is).
    """

    step: jax.Array
    params: Any
    opt_state: Any
    ema_params: Any
    key: jax.Array
    constants: Any = None

    @classmethod
    def create(cls, params, optimizer: optax.GradientTransformation, key, *, constants=None) -> "TrainState":
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=optimizer.init(params),
            ema_params=jax.tree_util.tree_map(jnp.copy, params),
            key=raw_key(key),
            constants={} if constants is None else constants,
        )


def raw_key(key) -> jax.Array:
    """A copy of `key` as raw uint32 data (typed keys unwrapped): the train step donates its
    state, and the caller's key must stay usable."""
    return jnp.array(jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key, copy=True)
