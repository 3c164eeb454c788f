"""Bits per dimension of 8-bit images under a continuous model, with uniform dequantisation.

Pixels k ∈ {0, …, 255}^D are dequantised to k + u, u ~ U[0, 1)^D, a density on [0, 256)^D whose
log-likelihood lower-bounds log P(k) (Jensen): log P(k) ≥ E_u log p_{k+u}(k + u).  The model
sees z = a·(k + u) + b: a = 1/256, b = 0 for [0, 1] pixels ("unit"); a = 2/256, b = −1 for
[−1, 1] ("symmetric").  The change of variables gives log p_{k+u} = log p_z(z) + D log a, so

    bits/dim = −(E_u log p_z(z) + D log a) / (D ln 2),

i.e. −E log p_z /(D ln 2) + 8 for "unit" and + 7 for "symmetric": the offset follows from a,
it is not a constant to set by hand.  Without dequantisation (z on the 256-level lattice) a
continuous density can concentrate on the lattice and give meaningless, even negative,
bits/dim (score_sde issue #24).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .._checks import check_choice, check_int_at_least

__all__ = ["SCALES", "dequantize", "to_pixels", "bits_per_dim_from_logp", "bits_per_dim"]

SCALES = {"unit": (1.0 / 256.0, 0.0), "symmetric": (2.0 / 256.0, -1.0)}


def dequantize(key, pixels, scale: str = "unit") -> jax.Array:
    """Integer pixels (…, values 0..255) → a·(k + u) + b, u ~ U[0, 1)."""
    check_choice("scale", scale, SCALES)
    a, b = SCALES[scale]
    k = jnp.asarray(pixels, jnp.float32)
    return a * (k + jax.random.uniform(key, k.shape)) + b


def to_pixels(x, scale: str = "unit") -> jax.Array:
    """Images in the model's scale back to integer pixel values 0..255 (rounded, clipped):
    the inverse of the usual k/255 (unit) or 2k/255 − 1 (symmetric) preprocessing."""
    check_choice("scale", scale, SCALES)
    x = jnp.asarray(x, jnp.float32)
    unit = x if scale == "unit" else (x + 1.0) / 2.0
    return jnp.clip(jnp.round(unit * 255.0), 0, 255)


def bits_per_dim_from_logp(logp, dim: int, scale: str = "unit") -> jax.Array:
    """bits/dim of each sample from the model's log-density log p_z(z) of its dequantised
    version (z in the model's scale), D = dim: −(log p_z + D log a)/(D ln 2)."""
    check_choice("scale", scale, SCALES)
    a, _ = SCALES[scale]
    return -(jnp.asarray(logp) + dim * math.log(a)) / (dim * math.log(2.0))


def bits_per_dim(key, sde, score_fn, pixels, *, scale: str = "unit", num_dequantizations: int = 1, **kwargs):
    """bits/dim of 8-bit images `pixels` (n, *shape), integer values 0..255, under the model
    (`sde`, `score_fn`) that works on images in `scale`: the probability-flow log-likelihood
    (`log_likelihood(**kwargs)`) of uniformly dequantised pixels, averaged over
    `num_dequantizations` draws per image (the bound tightens in expectation only: the
    average of log p is still a lower bound on log P).  Returns (bits/dim per image (n,),
    the last `Likelihood`)."""
    from .ode_likelihood import log_likelihood

    check_int_at_least("num_dequantizations", num_dequantizations, 1)
    pixels = jnp.asarray(pixels)
    if pixels.ndim < 2:
        raise ValueError(f"pixels must be a batch (n, *shape), got shape {pixels.shape}.")
    if float(jnp.min(pixels)) < 0 or float(jnp.max(pixels)) > 255 or not bool(jnp.all(pixels == jnp.round(pixels))):
        raise ValueError("pixels must be integer values in 0..255 (8-bit images); convert with "
                         "sg.likelihood.to_pixels(images, scale).")
    dim = math.prod(pixels.shape[1:])
    total, lik = 0.0, None
    for i in range(num_dequantizations):
        k_deq, k_lik = jax.random.split(jax.random.fold_in(key, i))
        lik = log_likelihood(k_lik, sde, score_fn, dequantize(k_deq, pixels, scale), **kwargs)
        total = total + lik.logp
    return bits_per_dim_from_logp(total / num_dequantizations, dim, scale), lik
