"""A time-conditioned MLP score network for low-dimensional (toy) data.

(x, t) → output of x's shape: the time enters through a sinusoidal embedding that is
added to every hidden layer (as the tutorial ScoreNet adds its Dense(embed) outputs).
With `marginal_std`, the output is divided by std(t), the tutorial's scaling that
makes the network predict −ε rather than the score, whose size grows like 1/std.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from .time_embedding import SinusoidalEmbedding


class TimeMLP(nn.Module):
    """`__call__(x (N, d), t (N,)) -> (N, out_dim)`; out_dim defaults to d."""

    features: Sequence[int] = (128, 128, 128)
    out_dim: int | None = None
    embed_dim: int = 64
    marginal_std: Callable[[jax.Array], jax.Array] | None = None

    @nn.compact
    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        if x.ndim != 2 or t.shape != x.shape[:1]:
            raise ValueError(f"TimeMLP expects x of shape (N, d) and t of shape (N,), got {x.shape} and {t.shape}.")
        emb = nn.swish(nn.Dense(self.embed_dim)(SinusoidalEmbedding(self.embed_dim)(t)))
        h = x
        for width in self.features:
            h = nn.swish(nn.Dense(width)(h) + nn.Dense(width)(emb))
        out = nn.Dense(self.out_dim or x.shape[-1])(h)
        if self.marginal_std is not None:
            out = out / self.marginal_std(t)[:, None]
        return out
