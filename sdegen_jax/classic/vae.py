"""Variational auto-encoders as pure functions (seed 000 §2.2.2, seed 004 "Variational
autoencoders"; Kingma & Welling 2014, Burda et al. 2016).

    q(z|x) = N(z | μ(x), diag σ²(x)),   p(z) = N(0, I)                       (eq. 2.16–2.17)
    z = μ(x) + σ(x) ⊙ ε,  ε ~ N(0, I)                                        (eq. 2.18)
    ELBO(x) = E_q log p(x|z) − KL(q(z|x) ‖ p(z))  ≤ log p(x)                  (eq. 2.15)
    IW_K(x) = E log (1/K) Σ_k p(x, z_k) / q(z_k|x),  z_k ~ q(·|x) i.i.d.     (Burda et al.)

ELBO = IW_1 ≤ IW_K ≤ IW_{K+1} ≤ log p(x), and IW_K → log p(x) as K → ∞.

Calling convention: `key` first; `encode(x (N, ...)) -> (mu (N, M), logvar (N, M))`;
`decode(z (N, M)) -> params`, any pytree with a leading batch axis; and
`log_likelihood(x (N, ...), params) -> (N,)`, e.g. `categorical_log_likelihood`
(params = logits (N, D, L)) or `gaussian_log_likelihood` (params = (mean, logvar)).
Networks enter only through these callables (see `vae_nets` for the seed's networks).

Pixels for the categorical likelihood are in [0, 1] (the library's "unit" scale) and are
quantised to L levels as k = round(x (L − 1)); for 8-bit data k/255 and L = 256 this is
exactly the pixel value k.  Convert [−1, 1] images with (x + 1) / 2 first.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .._checks import check_int_at_least

__all__ = [
    "Encoder",
    "Decoder",
    "LogLikelihood",
    "reparameterize",
    "diagonal_gaussian_log_prob",
    "standard_normal_log_prob",
    "gaussian_kl",
    "quantize",
    "categorical_log_likelihood",
    "gaussian_log_likelihood",
    "sample_categorical",
    "elbo",
    "importance_weighted_bound",
]

Encoder = Callable[[jax.Array], tuple[jax.Array, jax.Array]]
Decoder = Callable[[jax.Array], Any]
LogLikelihood = Callable[[jax.Array, Any], jax.Array]

_LOG_2PI = math.log(2.0 * math.pi)


def reparameterize(key, mu, logvar) -> jax.Array:
    """z = μ + exp(½ log σ²) ⊙ ε, ε ~ N(0, I) (eq. 2.18); differentiable in μ and log σ²."""
    mu = jnp.asarray(mu)
    return mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape, mu.dtype)


def diagonal_gaussian_log_prob(z, mu, logvar) -> jax.Array:
    """log N(z | μ, diag exp(logvar)), summed over the last axis."""
    return -0.5 * jnp.sum((z - mu) ** 2 * jnp.exp(-logvar) + logvar + _LOG_2PI, axis=-1)


def standard_normal_log_prob(z) -> jax.Array:
    """log N(z | 0, I) (eq. 2.17), summed over the last axis."""
    return -0.5 * jnp.sum(z * z + _LOG_2PI, axis=-1)


def gaussian_kl(mu, logvar) -> jax.Array:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (σ_j² + μ_j² − 1 − log σ_j²), summed over the last axis
    (the regulariser of eq. 2.15 in closed form)."""
    return 0.5 * jnp.sum(jnp.exp(logvar) + mu * mu - 1.0 - logvar, axis=-1)


def quantize(x, num_levels: int) -> jax.Array:
    """Pixels in [0, 1] → integer levels k = round(x (L − 1)) ∈ {0, …, L − 1}."""
    check_int_at_least("num_levels", num_levels, 2)
    return jnp.clip(jnp.round(jnp.asarray(x) * (num_levels - 1)), 0, num_levels - 1).astype(jnp.int32)


def categorical_log_likelihood(x, logits) -> jax.Array:
    """log Categorical(x | softmax(logits)) summed over pixels (seed 000 §2.2.2's decoder likelihood).

    x: (N, *shape) pixels in [0, 1], quantised to L = logits.shape[-1] levels by `quantize`;
    logits: (N, D, L) with D = prod(shape).  Returns (N,).
    """
    x = jnp.asarray(x)
    n, num_levels = x.shape[0], logits.shape[-1]
    flat = x.reshape(n, -1)
    if logits.shape[:-1] != flat.shape:
        raise ValueError(
            f"logits must have shape (N, D, L) = ({n}, {flat.shape[1]}, L) for x of shape {x.shape}, got {logits.shape}."
        )
    levels = quantize(flat, num_levels)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return jnp.sum(jnp.take_along_axis(log_probs, levels[..., None], axis=-1)[..., 0], axis=-1)


def gaussian_log_likelihood(x, params) -> jax.Array:
    """log N(x | mean, diag exp(logvar)) summed over features, params = (mean, logvar).

    mean: (N, *shape) or (N, D); logvar broadcasts against it (per pixel, per feature or a
    scalar).  Returns (N,).
    """
    mean, logvar = params
    x = jnp.asarray(x)
    n = x.shape[0]
    flat_mean = jnp.reshape(mean, (n, -1))
    flat_x = x.reshape(n, -1)
    if flat_mean.shape != flat_x.shape:
        raise ValueError(f"the decoder mean must have one entry per feature of x {x.shape}, got {jnp.shape(mean)}.")
    logvar = jnp.broadcast_to(jnp.asarray(logvar), jnp.shape(mean)).reshape(n, -1)
    return diagonal_gaussian_log_prob(flat_x, flat_mean, logvar)


def sample_categorical(key, logits) -> jax.Array:
    """Pixels in [0, 1] drawn from the decoder's categorical: k ~ Categorical(softmax(logits)),
    returned as k / (L − 1), shape (N, D)."""
    levels = jax.random.categorical(key, logits, axis=-1)
    return levels.astype(jnp.float32) / (logits.shape[-1] - 1)


def elbo(key, x, encode: Encoder, decode: Decoder, log_likelihood: LogLikelihood, *, analytic_kl: bool = True) -> jax.Array:
    """Single-sample ELBO of each x (eq. 2.15), shape (N,).

    analytic_kl=True: log p(x|z) − KL(q(z|x) ‖ N(0, I)) with the closed-form KL (the usual
    low-variance estimator); analytic_kl=False: log p(x|z) + log p(z) − log q(z|x) at the same
    z (the K = 1 importance weight, exact for every z when q is the true posterior).
    """
    mu, logvar = encode(x)
    z = reparameterize(key, mu, logvar)
    reconstruction = log_likelihood(x, decode(z))
    if analytic_kl:
        return reconstruction - gaussian_kl(mu, logvar)
    return reconstruction + standard_normal_log_prob(z) - diagonal_gaussian_log_prob(z, mu, logvar)


def importance_weighted_bound(
    key,
    x,
    encode: Encoder,
    decode: Decoder,
    log_likelihood: LogLikelihood,
    num_samples: int,
    *,
    batch_size: int | None = None,
) -> jax.Array:
    """IW_K(x) = logsumexp_k [log p(x|z_k) + log p(z_k) − log q(z_k|x)] − log K, z_k ~ q(·|x)
    (Burda et al. 2016): a lower bound on log p(x) that tightens with K; K = 1 is the ELBO.

    Returns (N,).  The K decoder calls run in a `lax.map`, `batch_size` of them vectorised
    at a time (None: one at a time), so memory is O(batch_size · N · decoder output).
    """
    check_int_at_least("num_samples", num_samples, 1, "K is the number of importance samples per x; K = 1 is the ELBO.")
    if batch_size is not None:
        check_int_at_least("batch_size", batch_size, 1)
    mu, logvar = encode(x)
    keys = jax.random.split(key, num_samples)

    def log_weight(k):
        z = reparameterize(k, mu, logvar)
        return log_likelihood(x, decode(z)) + standard_normal_log_prob(z) - diagonal_gaussian_log_prob(z, mu, logvar)

    log_w = jax.lax.map(log_weight, keys, batch_size=batch_size)  # (K, N)
    return logsumexp(log_w, axis=0) - math.log(num_samples)
