"""Reconstruction error, defined once for every model.

    reconstruction error = mean over a test batch and over all pixels of (x − decode(encode(x)))²

in [0, 1] pixel scale (images in [−1, 1] are mapped to [0, 1] first, which divides the squared
error by 4). For a VAE encode/decode are the encoder mean and decoder mean; for a diffusion
model they are the probability-flow ODE run forward (eps → T) and back (T → eps), which
`ode_reconstruction` does. With an exact score the flow is a bijection and the error is only
the ODE solver's (≈ 0); with a learned score it measures how far the learned flow is from
invertible at the chosen tolerances.

A generator without an encoder (BSDE-Gen's decoder-only mode, a GAN) has no decode(encode(x)).
For tables that compare such models with others, `nearest_sample_error` is the definition that
applies to every generator alike: the mean over test images of the per-pixel MSE to the nearest
of n generated samples (in [0, 1] scale).  It falls as the samples cover the test digits
and depends on n, so compare it at equal n only.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_time_horizon
from ..samplers.ode import ProbabilityFlowODE
from ..sde.reverse import StateScore

__all__ = [
    "PIXEL_SCALES",
    "reconstruction_error",
    "nearest_sample_error",
    "ODEReconstruction",
    "ode_encode",
    "ode_reconstruction",
]

PIXEL_SCALES = ("unit", "symmetric")


def reconstruction_error(x, x_rec, scale: str = "unit") -> float:
    """Mean squared error per pixel between images `x` and reconstructions `x_rec`, in [0, 1] scale.

    x, x_rec: arrays of the same shape (a batch of images, any layout); `scale` says whether
    they are in [0, 1] ("unit") or [−1, 1] ("symmetric"). No clipping: out-of-range
    reconstructions are penalised as they are.
    """
    if scale not in PIXEL_SCALES:
        raise ValueError(f"Unknown scale {scale!r}; expected one of {PIXEL_SCALES}.")
    x, x_rec = np.asarray(x, np.float64), np.asarray(x_rec, np.float64)
    if x.shape != x_rec.shape:
        raise ValueError(f"x has shape {x.shape} but its reconstruction {x_rec.shape}.")
    diff = x - x_rec if scale == "unit" else (x - x_rec) / 2.0
    return float(np.mean(diff**2))


def nearest_sample_error(x, samples, scale: str = "unit", chunk_size: int = 512) -> float:
    """Mean over images x_i (m, ...) of min_j mean-per-pixel (x_i − s_j)² over generated
    `samples` (n, ...), in [0, 1] scale (see the module docstring)."""
    if scale not in PIXEL_SCALES:
        raise ValueError(f"Unknown scale {scale!r}; expected one of {PIXEL_SCALES}.")
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    s = np.asarray(samples, np.float64).reshape(len(samples), -1)
    if x.shape[1] != s.shape[1]:
        raise ValueError(f"images have {x.shape[1]} pixels but the samples {s.shape[1]}.")
    if scale == "symmetric":
        x, s = x / 2.0, s / 2.0
    s2 = np.sum(s * s, 1)
    best = []
    for i in range(0, len(x), chunk_size):
        xb = x[i : i + chunk_size]
        d2 = np.sum(xb * xb, 1)[:, None] + s2[None, :] - 2.0 * xb @ s.T
        best.append(np.maximum(d2.min(1), 0.0))
    return float(np.mean(np.concatenate(best)) / x.shape[1])


class ODEReconstruction(NamedTuple):
    """What `ode_reconstruction` produced: x_rec (like x0), the latent x_T, the error of x_rec
    against x0 (per-pixel MSE, [0, 1] scale), and the score evaluations (per sample) of the
    encode and decode solves."""

    x_rec: jax.Array
    x_T: jax.Array
    error: float
    nfe_encode: int
    nfe_decode: int


@eqx.filter_jit
def _encode(ode, sde, score_fn, x0, eps, chunk_size):
    # In the SDE's state coordinates, as sample() runs the decode.
    ys, info = ode.integrate(sde, StateScore(sde, score_fn), jax.vmap(sde.to_state)(x0), eps, sde.T, chunk_size=chunk_size)
    return jax.vmap(sde.from_state)(ys[-1]), info.nfe


def ode_encode(sde, score_fn: Callable, x0, eps: float | None = None, *, ode=None, chunk_size: int | None = None):
    """x_T from x0 (n, *shape) at time eps by the probability-flow ODE run forward to T, with
    `ode` (a `sg.samplers.ProbabilityFlowODE`, default Tsit5 at rtol = atol = 1e-5; the batch is
    one ODE state).  Returns (x_T, nfe per sample)."""
    ode = ProbabilityFlowODE() if ode is None else ode
    eps = sde.default_eps if eps is None else eps
    check_time_horizon(sde.T, eps)
    x0 = jnp.asarray(x0)
    x_T, nfe = _encode(ode, sde, score_fn, x0, float(eps), chunk_size)
    return x_T, int(nfe)


def ode_reconstruction(
    key,
    sde,
    score_fn: Callable,
    x0,
    eps: float | None = None,
    *,
    ode=None,
    scale: str = "unit",
    chunk_size: int | None = None,
) -> ODEReconstruction:
    """Encode x0 (n, *shape) by the flow ODE from eps to T, decode back from T to eps.

    The decode is `sdegen_jax.sample_with_info(..., method=ode)` started at the encoding, so it
    is exactly the sampler used for generation; `ode` is a `ProbabilityFlowODE` (default Tsit5,
    rtol = atol = 1e-5) used both ways.  `key` is passed to the sampler (the ODE is
    deterministic). `scale` is the pixel scale of x0 for the error ("unit" or "symmetric").
    """
    from ..samplers.api import sample_with_info

    ode = ProbabilityFlowODE() if ode is None else ode
    eps = sde.default_eps if eps is None else eps
    x0 = jnp.asarray(x0)
    x_T, nfe_enc = ode_encode(sde, score_fn, x0, eps, ode=ode, chunk_size=chunk_size)
    x_rec, info = sample_with_info(key, sde, score_fn, x_init=x_T, method=ode, eps=eps, chunk_size=chunk_size)
    return ODEReconstruction(x_rec, x_T, reconstruction_error(x0, x_rec, scale), nfe_enc, int(info.nfe))
