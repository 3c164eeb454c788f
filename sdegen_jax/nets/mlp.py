"""A time-conditioned MLP score network for low-dimensional (toy) data.

(x, t) → output of x's shape: the time enters through an embedding that is added to every
hidden layer (as the tutorial ScoreNet adds its Dense(embed) outputs):

    e = swish(Dense(embed_dim)(Embedding(t)))
    h_{l+1} = swish(Dense(width_l)(h_l) + Dense(width_l)(e)),   out = Dense(out_dim)(h_L)

`embedding` is "sinusoidal" (default; deterministic geometric frequencies) or "fourier"
(the tutorial's Gaussian random features, W ~ N(0, fourier_scale²) fixed, stored in the
"constants" collection).  With `marginal_std`, the output is divided by std(t), the
tutorial's scaling that makes the network predict −ε rather than the score, whose size
grows like 1/std.  Samples of any shape (N, *shape) are flattened to vectors and the
output reshaped back (out_dim then defaults to the flattened size).
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from .time_embedding import GaussianFourierProjection, SinusoidalEmbedding

EMBEDDINGS = ("sinusoidal", "fourier")


class TimeMLP(nn.Module):
    """`__call__(x (N, d) or (N, *shape), t (N,)) -> (N, out_dim)` (or (N, *shape)); out_dim defaults to d."""

    features: Sequence[int] = (128, 128, 128)
    out_dim: int | None = None
    embed_dim: int = 64
    marginal_std: Callable[[jax.Array], jax.Array] | None = None
    embedding: str = "sinusoidal"
    fourier_scale: float = 16.0

    @nn.compact
    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        if x.ndim < 2 or jnp.shape(t) != x.shape[:1]:
            raise ValueError(f"TimeMLP expects x of shape (N, d) and t of shape (N,), got {x.shape} and {jnp.shape(t)}.")
        if self.embedding == "sinusoidal":
            emb = SinusoidalEmbedding(self.embed_dim)(t)
        elif self.embedding == "fourier":
            emb = GaussianFourierProjection(self.embed_dim, self.fourier_scale)(t)
        else:
            raise ValueError(f"TimeMLP: embedding must be one of {EMBEDDINGS}, got {self.embedding!r}.")
        emb = nn.swish(nn.Dense(self.embed_dim)(emb))
        n, sample_shape = x.shape[0], x.shape[1:]
        h = x.reshape(n, -1)
        for width in self.features:
            h = nn.swish(nn.Dense(width)(h) + nn.Dense(width)(emb))
        out = nn.Dense(self.out_dim or x[0].size)(h)
        if self.marginal_std is not None:
            out = out / self.marginal_std(t)[:, None]
        if self.out_dim is None and len(sample_shape) > 1:
            out = out.reshape(n, *sample_shape)
        return out
