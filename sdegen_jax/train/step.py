"""One jit-compiled, sharded training step with EMA."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from .sharding import batch_sharding, replicated
from .state import TrainState

__all__ = ["LossFn", "ema_update", "ema_decay_at", "make_train_step", "finite"]

# loss_fn(params, key, batch) -> scalar loss
LossFn = Callable[[Any, jax.Array, Any], jax.Array]


def ema_update(ema, params, decay):
    """ema ← decay · ema + (1 − decay) · params."""
    return jax.tree_util.tree_map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def ema_decay_at(step, decay: float):
    """Warm-up of the EMA decay, min(decay, (1 + k) / (10 + k)) after k updates (as
    tf.train.ExponentialMovingAverage with num_updates): early averages forget the
    random initialisation quickly, so short runs get a usable EMA."""
    k = jnp.asarray(step, jnp.float32)
    return jnp.minimum(decay, (1.0 + k) / (10.0 + k))


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation, mesh: Mesh, *, ema_decay: float = 0.999):
    """Returns step(state, batch) -> (state, metrics), compiled with the batch split over
    the mesh's "data" axis and the state replicated.  XLA inserts the gradient all-reduce.
    """
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}.")

    def step(state: TrainState, batch):
        key = jax.random.fold_in(state.key, state.step)
        loss, grads = jax.value_and_grad(loss_fn)(state.params, key, batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        new = state.replace(
            step=state.step + 1,
            params=params,
            opt_state=opt_state,
            ema_params=ema_update(state.ema_params, params, ema_decay_at(state.step, ema_decay)),
        )
        return new, {"loss": loss, "grad_norm": optax.tree.norm(grads)}

    rep = replicated(mesh)
    return jax.jit(step, in_shardings=(rep, batch_sharding(mesh)), out_shardings=(rep, rep), donate_argnums=0)


def finite(x) -> bool:
    return bool(jnp.isfinite(x))
