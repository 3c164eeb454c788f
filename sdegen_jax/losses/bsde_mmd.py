"""The BSDE-Gen loss (seed 000 eq. 4.9): MMD²(y_T, data) of paths of the FBSDE scheme
(eq. 4.5) with the networks in training mode (dropout), differentiated through the scan."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..bsde.scheme import brownian_increments, sample_x0, terminal_values
from .mmd import mmd2

__all__ = ["bsde_mmd_loss"]


def bsde_mmd_loss(
    key,
    fbsde,
    initial_fn,
    control_fn,
    data,
    *,
    x0=None,
    kernel=None,
    unbiased: bool = False,
    chunk_size: int | None = None,
    remat: bool = False,
    recon_weight: float = 0.0,
):
    """MMD²(y_T, data) for a batch `data` (n, ...) whose flattened samples have dim_y entries.

    x0 (n, dim_x) defaults to N(0, I) draws (decoder-only); the encoder–decoder mode passes
    encodings of `data` and may add `recon_weight` · mean (y_T − data)² so that y_T(x_0(x))
    reconstructs x (our reading; the seed gives only eq. 4.9).
    """
    n = data.shape[0]
    target = jnp.reshape(data, (n, -1))
    if target.shape[1] != fbsde.dim_y:
        raise ValueError(f"data samples have {target.shape[1]} entries but the FBSDE's dim_y is {fbsde.dim_y}.")
    k_x, k_w, k_net = jax.random.split(key, 3)
    if x0 is None:
        x0 = sample_x0(k_x, fbsde, n)
    elif x0.shape != (n, fbsde.dim_x):
        raise ValueError(f"x0 must have shape (n, dim_x) = ({n}, {fbsde.dim_x}), got {x0.shape}.")
    dw = brownian_increments(k_w, fbsde, n)
    y_T = terminal_values(fbsde, initial_fn, control_fn, x0, dw, jax.random.split(k_net, n), remat=remat)
    loss = mmd2(y_T, target, kernel=kernel, unbiased=unbiased, chunk_size=chunk_size)
    if recon_weight:
        loss = loss + recon_weight * jnp.mean((y_T - target) ** 2)
    return loss
