"""Training a Flax NNX score network by denoising score matching: the one code path that the
experiments train with and `benchmarks.train_throughput` times.

    training = sg.train.dsm_training(model, sde, mesh, optimizer=sg.train.make_optimizer(1e-3),
                                     key=jax.random.key(0))
    state = sg.train.fit(training.state, training.step, batches, num_steps=1000, mesh=mesh)
    score_fn = training.score_fn(state.ema_params)   # per-sample score_fn(x, t) for sg.sample

The model is split once (`nnx.split`) into its graph definition, its trainable parameters
(`nnx.Param`, what the optimiser and the EMA see) and its other state (fixed constants such as
ScoreNet's Fourier features, kept in the train state so checkpoints are self-contained).  The
compiled step merges them back (`nnx.merge`) at trace time only: no per-step Python overhead.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from .. import losses
from ..nets.adapters import score_fn_from
from .distributed import local_copy
from .sharding import replicate
from .state import TrainState
from .step import make_train_step

__all__ = ["ModelTraining", "model_training", "dsm_training", "x0_training"]


class ModelTraining(NamedTuple):
    """What `model_training` returns: the replicated initial `state`, the compiled
    `step(state, batch) -> (state, metrics)`, and the model's `graphdef`."""

    state: TrainState
    step: Callable
    graphdef: Any
    adapter: Callable = score_fn_from

    def model(self, params, constants=None):
        """The NNX model with `params` (and the state's constants)."""
        constants = self.state.constants if constants is None else constants
        return nnx.merge(self.graphdef, params, constants)

    def score_fn(self, params, constants=None):
        """The per-sample `score_fn(x, t)` of the model with `params`, for `sg.sample` (as
        arrays of this process after multi-process training)."""
        constants = self.state.constants if constants is None else constants
        return score_fn_from(self.model(*local_copy((params, constants))))

    def fns(self, params, constants=None):
        """The pure functions the loss saw (`adapter(graphdef, params, constants)`): the
        per-sample score for score models, `BSDEGenFns` for BSDE-Gen."""
        constants = self.state.constants if constants is None else constants
        return self.adapter(self.graphdef, *local_copy((params, constants)))


def model_training(
    model: nnx.Module,
    loss: Callable,
    mesh,
    *,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    ema_decay: float = 0.999,
    adapter: Callable = score_fn_from,
) -> ModelTraining:
    """The train state and sharded step of `loss(key, model_fn, batch)` for an NNX model, where
    `model_fn = adapter(graphdef, params, constants)` is the model as the pure functions the
    loss takes: by default its per-example function (with its batched form; sg.nets.adapters).
    """
    graphdef, params, constants = nnx.split(model, nnx.Param, ...)
    # The compiled step donates its state: copy, so that `model` itself stays usable.
    params, constants = jax.tree_util.tree_map(jnp.copy, (params, constants))

    def loss_fn(p, k, batch):
        return loss(k, adapter(graphdef, p, constants), batch)

    state = replicate(TrainState.create(params, optimizer, key, constants=constants), mesh)
    return ModelTraining(state, make_train_step(loss_fn, optimizer, mesh, ema_decay=ema_decay), graphdef, adapter)


def dsm_training(
    model: nnx.Module,
    sde,
    mesh,
    *,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    ema_decay: float = 0.999,
    weighting: str = "sigma2",
    parametrisation: str = "score",
    eps: float | None = None,
    time_sampling: str = "uniform",
) -> ModelTraining:
    """`model_training` with `losses.denoising_score_matching` for an NNX model whose
    `__call__(x (N, ...), t (N,))` outputs a score (or ε, x0 per `parametrisation`)."""

    def loss(k, model_fn, batch):
        return losses.denoising_score_matching(
            k, sde, model_fn, batch, weighting=weighting, parametrisation=parametrisation, eps=eps,
            time_sampling=time_sampling,
        )

    return model_training(model, loss, mesh, optimizer=optimizer, key=key, ema_decay=ema_decay)


def x0_training(
    model: nnx.Module,
    sde,
    mesh,
    *,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    ema_decay: float = 0.999,
    mode_weights=None,
    eps: float | None = None,
    time_sampling: str = "uniform",
) -> ModelTraining:
    """`model_training` with `losses.fourier_x0_loss` for an NNX x0-denoiser (seed 003)."""

    def loss(k, model_fn, batch):
        return losses.fourier_x0_loss(k, sde, model_fn, batch, mode_weights=mode_weights, eps=eps,
                                      time_sampling=time_sampling)

    return model_training(model, loss, mesh, optimizer=optimizer, key=key, ema_decay=ema_decay)
