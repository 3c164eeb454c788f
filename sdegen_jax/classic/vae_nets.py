"""The VAE networks of seed 000 §2.2.2, as Flax NNX modules.

    Encoder: x ∈ X^D → Linear(D, 256) → LeakyReLU → Linear(256, 2M) → split → μ ∈ R^M, log σ² ∈ R^M
    Decoder: z ∈ R^M → Linear(M, 256) → LeakyReLU → Linear(256, D·L) → reshape → softmax
             → θ ∈ [0, 1]^{D×L}

The categorical decoder returns the logits (N, D, L); the softmax lives in
`vae.categorical_log_likelihood` (as a log-softmax) and in `probabilities`.  The Gaussian
decoder variant returns (mean (N, D), logvar (D,)), with one learned log-variance per feature.
Pass `encoder` and `decoder` (or `decoder.__call__`) straight to `vae.elbo`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from .._checks import check_int_at_least

__all__ = ["VAEEncoder", "CategoricalDecoder", "GaussianDecoder"]


def _flatten(x: jax.Array, data_dim: int, who: str) -> jax.Array:
    if x.ndim < 2 or math.prod(x.shape[1:]) != data_dim:
        raise ValueError(f"{who} expects x of shape (N, *shape) with prod(shape) = data_dim = {data_dim}, got {x.shape}.")
    return x.reshape(x.shape[0], -1)


def _check_z(z: jax.Array, latent_dim: int, who: str) -> None:
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{who} expects z of shape (N, latent_dim={latent_dim}), got {z.shape}.")


class VAEEncoder(nnx.Module):
    """x (N, *shape) → (μ (N, M), log σ² (N, M)): Linear(D, hidden), LeakyReLU, Linear(hidden, 2M)."""

    def __init__(self, data_dim: int, latent_dim: int, *, hidden: int = 256, rngs: nnx.Rngs):
        check_int_at_least("data_dim", data_dim, 1, "data_dim is the flattened sample size D.")
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("hidden", hidden, 1)
        self.data_dim, self.latent_dim = data_dim, latent_dim
        self.hidden = nnx.Linear(data_dim, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, 2 * latent_dim, rngs=rngs)

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = nnx.leaky_relu(self.hidden(_flatten(x, self.data_dim, "VAEEncoder")))
        mu, logvar = jnp.split(self.out(h), 2, axis=-1)
        return mu, logvar


class CategoricalDecoder(nnx.Module):
    """z (N, M) → logits (N, D, L): Linear(M, hidden), LeakyReLU, Linear(hidden, D·L), reshape."""

    def __init__(self, latent_dim: int, data_dim: int, num_levels: int = 256, *, hidden: int = 256, rngs: nnx.Rngs):
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("data_dim", data_dim, 1, "data_dim is the flattened sample size D.")
        check_int_at_least("num_levels", num_levels, 2, "num_levels L is the number of pixel intensities (256 for 8 bits).")
        check_int_at_least("hidden", hidden, 1)
        self.latent_dim, self.data_dim, self.num_levels = latent_dim, data_dim, num_levels
        self.hidden = nnx.Linear(latent_dim, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, data_dim * num_levels, rngs=rngs)

    def __call__(self, z: jax.Array) -> jax.Array:
        _check_z(z, self.latent_dim, "CategoricalDecoder")
        logits = self.out(nnx.leaky_relu(self.hidden(z)))
        return logits.reshape(z.shape[0], self.data_dim, self.num_levels)

    def probabilities(self, z: jax.Array) -> jax.Array:
        """θ = softmax(logits) ∈ [0, 1]^{N×D×L}, summing to 1 over the L levels."""
        return jax.nn.softmax(self(z), axis=-1)


class GaussianDecoder(nnx.Module):
    """z (N, M) → (mean (N, D), logvar (D,)): Linear(M, hidden), LeakyReLU, Linear(hidden, D),
    and a learned per-feature log-variance (initialised to `init_logvar`)."""

    def __init__(self, latent_dim: int, data_dim: int, *, hidden: int = 256, init_logvar: float = 0.0, rngs: nnx.Rngs):
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("data_dim", data_dim, 1, "data_dim is the flattened sample size D.")
        check_int_at_least("hidden", hidden, 1)
        self.latent_dim, self.data_dim = latent_dim, data_dim
        self.hidden = nnx.Linear(latent_dim, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, data_dim, rngs=rngs)
        self.logvar = nnx.Param(jnp.full((data_dim,), init_logvar, jnp.float32))

    def __call__(self, z: jax.Array) -> tuple[jax.Array, jax.Array]:
        _check_z(z, self.latent_dim, "GaussianDecoder")
        return self.out(nnx.leaky_relu(self.hidden(z))), self.logvar[...]
