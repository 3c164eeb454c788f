"""Training BSDE-Gen (seed 000 §4.2) with the shared sharded step: MMD² of the FBSDE's y_T
against the data batch, RMSprop as the reference.

    nets = sg.nets.BSDEGenNets(rngs=nnx.Rngs(0))
    training = sg.train.bsde_training(nets, sg.bsde.FBSDE(32, 32, 784), mesh,
                                      optimizer=sg.train.make_rmsprop(1e-4), key=key)
    state = sg.train.fit(training.state, training.step, batches, num_steps=..., mesh=mesh)
    fns = training.fns(state.ema_params)       # BSDEGenFns: initial_fn, control_fn
    images = sg.bsde.generate(key, fbsde, fns.initial_fn, fns.control_fn, n=64)
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from .. import losses
from ..nets.bsde_gen import BSDEGenFns
from .score_model import ModelTraining, model_training

__all__ = ["bsde_training"]


def _bsde_adapter(graphdef, params, constants) -> BSDEGenFns:
    return BSDEGenFns(graphdef, (params, constants))


def bsde_training(
    nets: nnx.Module,
    fbsde,
    mesh,
    *,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    ema_decay: float = 0.999,
    kernel=None,
    unbiased: bool = False,
    chunk_size: int | None = None,
    remat: bool = False,
    encoder: Callable | None = None,
    recon_weight: float = 0.0,
) -> ModelTraining:
    """`model_training` with `losses.bsde_mmd_loss` for `BSDEGenNets`-like nets (methods
    `initial(x0, key)` and `control(t, x, key)`).  Batches are images (n, ...) with dim_y
    entries each.  With `encoder(x, key) -> x0` (e.g. `sg.bsde.PCAEncoder`) the model trains in
    the encoder–decoder mode, with `recon_weight` · MSE(y_T, x) added to the MMD²."""
    if encoder is None and recon_weight:
        raise ValueError("recon_weight needs an encoder: decoder-only samples are not paired with data.")

    def loss(k, fns, batch):
        x0 = None
        if encoder is not None:
            k, k_enc = jax.random.split(k)
            x0 = jax.vmap(encoder)(batch, jax.random.split(k_enc, batch.shape[0]))
        return losses.bsde_mmd_loss(
            k, fbsde, fns.initial_fn, fns.control_fn, batch, x0=x0, kernel=kernel, unbiased=unbiased,
            chunk_size=chunk_size, remat=remat, recon_weight=recon_weight,
        )

    return model_training(nets, loss, mesh, optimizer=optimizer, key=key, ema_decay=ema_decay, adapter=_bsde_adapter)
