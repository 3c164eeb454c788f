"""Time embeddings for time-conditioned score networks.

`GaussianFourierProjection` is the embedding of Song's score-based tutorial (seed 000
§5.2.1, "GaussianFourierProjection"): fixed random frequencies W ~ N(0, scale²) and
features [sin(2π t W), cos(2π t W)].  W is not trained: it is a `Constant`, an
`nnx.Variable` type that is not an `nnx.Param` (the JAX counterpart of the tutorial's
`nn.Parameter(..., requires_grad=False)`), so `nnx.split(model, nnx.Param, ...)` leaves it
out of what the optimiser sees, while `nnx.state(model)` (checkpoints, parameter counts)
still holds it.

`SinusoidalEmbedding` is the deterministic transformer-style alternative (geometric
frequencies), which needs no state.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx
from .initializers import normal

__all__ = ["Constant", "GaussianFourierProjection", "SinusoidalEmbedding"]


class Constant(nnx.Variable):
    """A fixed (non-trainable) array of a model's state, e.g. random Fourier frequencies.

    Not an `nnx.Param`: optimisers built on `nnx.Param` (or `nnx.split(model, nnx.Param,
    ...)`) never update it; `nnx.state(model)` and checkpoints include it.
    """


def _check_even(embed_dim: int) -> None:
    if embed_dim <= 0 or embed_dim % 2:
        raise ValueError(f"embed_dim must be a positive even number (sin and cos halves), got {embed_dim}.")


class GaussianFourierProjection(nnx.Module):
    """t (N,) -> (N, embed_dim) = [sin(2π t W), cos(2π t W)], W ~ N(0, scale²) fixed.

    W (shape (embed_dim // 2,)) is drawn from the `rngs.params` stream and stored as a
    `Constant`.
    """

    def __init__(self, embed_dim: int = 256, scale: float = 30.0, *, rngs: nnx.Rngs):
        _check_even(embed_dim)
        self.embed_dim, self.scale = embed_dim, scale
        self.W = Constant(normal(scale)(rngs.params(), (embed_dim // 2,)))

    def __call__(self, t: jax.Array) -> jax.Array:
        W = self.W[...]
        proj = jnp.asarray(t, W.dtype)[..., None] * W * (2.0 * math.pi)
        return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)


class SinusoidalEmbedding(nnx.Module):
    """t (N,) -> (N, embed_dim): sin/cos of `scale`·t at frequencies 1 … 1/max_period (geometric)."""

    def __init__(self, embed_dim: int = 64, scale: float = 1000.0, max_period: float = 10_000.0):
        _check_even(embed_dim)
        self.embed_dim, self.scale, self.max_period = embed_dim, scale, max_period

    def __call__(self, t: jax.Array) -> jax.Array:
        half = self.embed_dim // 2
        freqs = jnp.exp(-math.log(self.max_period) * jnp.arange(half) / max(half - 1, 1))
        proj = self.scale * jnp.asarray(t, jnp.float32)[..., None] * freqs
        return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)
