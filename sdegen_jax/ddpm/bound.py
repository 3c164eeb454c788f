"""DDPM's variational bound in bits per dimension (seed 003 eq. 3.13; Ho et al. 2020 §3.3):

    −log p(x_0) ≤ L_N + Σ_{i=2}^{N} L_{i−1} + L_0,
    L_N = KL(q(x_N | x_0) ‖ N(0, I)),
    L_{i−1} = KL(q(x_{i−1} | x_i, x_0) ‖ p_θ(x_{i−1} | x_i)),
    L_0 = −log p_θ(x_0 | x_1),

with p_θ(x_{i−1} | x_i) = N(μ̃_i(x_i, x̂_0), σ_i²) and x̂_0 from the ε-network, each KL in
closed form between Gaussians at one draw x_i ~ q(x_i | x_0) per term, and L_0 the
discretised-Gaussian decoder over the 256 bins of [−1, 1] (width 2/255; the edge bins extend to
±∞).  Dividing nats by D ln 2 gives bits/dim directly on the 8-bit scale: the decoder puts a
probability on each of the 256 levels, so no change of variables is needed.  N network
evaluations per image: the bound is exact in the sum, Monte Carlo only in the x_i draws.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr

from .._checks import is_concrete
from ..losses.denoising import apply_model
from .schedule import DDPMSchedule

__all__ = ["gaussian_kl", "discretized_gaussian_log_likelihood", "kl_terms", "variational_bound"]


def gaussian_kl(mean1, var1, mean2, var2):
    """KL(N(mean1, var1) ‖ N(mean2, var2)) per coordinate."""
    return 0.5 * (jnp.log(var2 / var1) + (var1 + (mean1 - mean2) ** 2) / var2 - 1.0)


def discretized_gaussian_log_likelihood(x, mean, var):
    """log P(x) of data on the 256 levels of [−1, 1] under N(mean, var) integrated over each
    level's bin [x − 1/255, x + 1/255], the edge bins open to ±∞ (Ho et al. 2020 eq. 13)."""
    std = jnp.sqrt(var)
    upper = jnp.where(x > 0.999, 1.0, ndtr((x + 1.0 / 255.0 - mean) / std))
    lower = jnp.where(x < -0.999, 0.0, ndtr((x - 1.0 / 255.0 - mean) / std))
    return jnp.log(jnp.maximum(upper - lower, 1e-12))


def kl_terms(key, schedule: DDPMSchedule, model_fn, x0, *, variance: str = "posterior"):
    """Per-example L_N, Σ_{i≥2} L_{i−1} (nats) and L_0 (the decoder's −log p, meaningful for 8-bit
    data only) for x0 (n, ...), one draw x_i ~ q(x_i | x_0) per term; the per-example
    `model_fn(x, i)` predicts ε; `variance` is σ_i² of p_θ ("posterior": β̃, "transition": β; see
    `DDPMSchedule.reverse_variance`).  Returns {"prior", "kl", "decoder"}."""
    x0 = jnp.asarray(x0, jnp.float32)
    if x0.ndim < 2:
        raise ValueError(f"x0 must be a batch (n, *shape), got shape {x0.shape}.")
    schedule.reverse_variance(2, variance)
    n = x0.shape[0]
    N = schedule.num_steps

    def per_example(v):
        return jnp.sum(v.reshape(n, -1), axis=1)

    def term(carry, inputs):
        k, i = inputs
        a, s = schedule.marginal_coeffs(i)
        x_i = a * x0 + s * jax.random.normal(k, x0.shape)
        x0_hat = schedule.predict_x0(x_i, apply_model(model_fn, x_i, jnp.full((n,), i)), i)
        c0, ci, post_var = schedule.posterior(i)
        var = schedule.reverse_variance(i, variance)
        mean = c0 * x0_hat + ci * x_i
        is_first = i == 1
        kl = per_example(gaussian_kl(c0 * x0 + ci * x_i, jnp.where(is_first, 1.0, post_var), mean, var))
        decoder = -per_example(discretized_gaussian_log_likelihood(x0, mean, var))
        return carry, (jnp.where(is_first, 0.0, kl), jnp.where(is_first, decoder, 0.0))

    _, (kls, decoders) = jax.lax.scan(term, None, (jax.random.split(key, N), jnp.arange(1, N + 1)))
    a_N, s_N = schedule.marginal_coeffs(N)
    prior = per_example(gaussian_kl(a_N * x0, s_N**2, 0.0, 1.0))
    return {"prior": prior, "kl": jnp.sum(kls, axis=0), "decoder": jnp.sum(decoders, axis=0)}


_compiled_kl_terms = eqx.filter_jit(kl_terms)


def variational_bound(key, schedule: DDPMSchedule, model_fn, x0, *, variance: str = "posterior"):
    """Per-example bits/dim of the bound for 8-bit images x0 (n, ...) scaled to [−1, 1], and the
    per-example terms in nats (`kl_terms`, compiled once per shape and model structure)."""
    x0 = jnp.asarray(x0, jnp.float32)
    if x0.ndim < 2:
        raise ValueError(f"x0 must be a batch (n, *shape), got shape {x0.shape}.")
    levels = (x0 + 1.0) * 127.5
    if is_concrete(x0) and (bool(jnp.any(jnp.abs(levels - jnp.round(levels)) > 1e-3))
                            or bool(jnp.any(jnp.abs(x0) > 1.0 + 1e-6))):
        raise ValueError("x0 must hold 8-bit images scaled to [−1, 1] (k/127.5 − 1 for k = 0..255): the bound's "
                         "decoder is discrete.  Use sg.likelihood.bits_per_dim for continuous data.")
    terms = _compiled_kl_terms(key, schedule, model_fn, x0, variance=variance)
    bpd = (terms["prior"] + terms["kl"] + terms["decoder"]) / (math.prod(x0.shape[1:]) * math.log(2.0))
    return bpd, terms
