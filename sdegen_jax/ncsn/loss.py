"""NCSN's weighted multi-level denoising score matching (seed 001 eq. 6, Song & Ermon 2019 eq. 5–6):

    Σ_i γ(σ_i) E ‖s_θ(x̃, σ_i) − ∇ log N(x̃; x, σ_i²)‖²,  ∇ log N = −(x̃ − x)/σ_i²,

with γ(σ) = σ² (which makes every level's term O(1)), estimated with one level drawn uniformly
per example: with x̃ = x + σ z the term is ‖σ s_θ(x̃, σ) + z‖²; ½ and the mean over examples as
in the reference code.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..losses.denoising import apply_model
from .levels import NoiseLevels

__all__ = ["multilevel_dsm_loss"]


def multilevel_dsm_loss(key, levels: NoiseLevels, model_fn, x) -> jax.Array:
    """The per-example `model_fn(x̃, σ)` predicts the score of p_σ (a `batched` form is used when
    present); x (n, ...)."""
    if jnp.ndim(x) < 2:
        raise ValueError(f"x must be a batch (n, *shape), got shape {jnp.shape(x)}.")
    k_i, k_z = jax.random.split(key)
    n = x.shape[0]
    sigma = levels.sigmas[jax.random.randint(k_i, (n,), 0, levels.num_levels)]
    z = jax.random.normal(k_z, x.shape, x.dtype)
    shape = (n,) + (1,) * (x.ndim - 1)
    residual = sigma.reshape(shape) * apply_model(model_fn, x + sigma.reshape(shape) * z, sigma) + z
    return 0.5 * jnp.mean(jnp.sum(residual.reshape(n, -1) ** 2, axis=1))
