"""Time embeddings for time-conditioned score networks.

`GaussianFourierProjection` is the embedding of Song's score-based tutorial (seed 000
§5.2.1, "GaussianFourierProjection"): fixed random frequencies W ~ N(0, scale²) and
features [sin(2π t W), cos(2π t W)].  W is not trained: it lives in the variable
collection `"constants"` (the JAX counterpart of the tutorial's
`nn.Parameter(..., requires_grad=False)`), so optimisers that see only `"params"` leave
it alone, while it is still saved and restored with the model.

`SinusoidalEmbedding` is the deterministic transformer-style alternative (geometric
frequencies), which needs no extra state.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

CONSTANTS = "constants"


class GaussianFourierProjection(nn.Module):
    """t (N,) -> (N, embed_dim) = [sin(2π t W), cos(2π t W)], W ~ N(0, scale²) fixed.

    W (shape (embed_dim // 2,)) is drawn at `init` from the "params" RNG and stored in the
    `"constants"` collection; pass that collection to `apply` along with "params".
    """

    embed_dim: int = 256
    scale: float = 30.0

    @nn.compact
    def __call__(self, t: jax.Array) -> jax.Array:
        if self.embed_dim % 2:
            raise ValueError(f"embed_dim must be even (sin and cos halves), got {self.embed_dim}.")
        W = self.variable(
            CONSTANTS, "W", lambda: self.scale * jax.random.normal(self.make_rng("params"), (self.embed_dim // 2,))
        ).value
        proj = jnp.asarray(t, W.dtype)[..., None] * W * (2.0 * math.pi)
        return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)


class SinusoidalEmbedding(nn.Module):
    """t (N,) -> (N, embed_dim): sin/cos of `scale`·t at frequencies 1 … 1/max_period (geometric)."""

    embed_dim: int = 64
    scale: float = 1000.0
    max_period: float = 10_000.0

    @nn.compact
    def __call__(self, t: jax.Array) -> jax.Array:
        if self.embed_dim % 2:
            raise ValueError(f"embed_dim must be even (sin and cos halves), got {self.embed_dim}.")
        half = self.embed_dim // 2
        freqs = jnp.exp(-math.log(self.max_period) * jnp.arange(half) / max(half - 1, 1))
        proj = self.scale * jnp.asarray(t, jnp.float32)[..., None] * freqs
        return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)
