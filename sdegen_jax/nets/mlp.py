"""A time-conditioned MLP score network for low-dimensional (toy) data.

(x, t) → output of x's shape: the time enters through an embedding that is added to every
hidden layer (as the tutorial ScoreNet adds its Dense(embed) outputs, seed 000 §5.2.1):

    e = swish(Linear(embed_dim)(Embedding(t)))
    h_{l+1} = swish(Linear(width_l)(h_l) + Linear(width_l)(e)),   out = Linear(out_features)(h_L)

`embedding` is "sinusoidal" (default; deterministic geometric frequencies) or "fourier"
(the tutorial's Gaussian random features, W ~ N(0, fourier_scale²) fixed, a `Constant`).
With `marginal_std`, the output is divided by std(t), the tutorial's scaling that makes
the network predict −ε rather than the score, whose size grows like 1/std.  Samples of any
shape (N, *shape) are flattened to vectors of `in_features` = prod(shape) and, when
`out_features` is left at its default (in_features), the output is reshaped back.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from .time_embedding import GaussianFourierProjection, SinusoidalEmbedding
from .initializers import lecun_normal

__all__ = ["EMBEDDINGS", "TimeMLP"]

EMBEDDINGS = ("sinusoidal", "fourier")


class TimeMLP(nnx.Module):
    """`__call__(x (N, *shape), t (N,)) -> (N, *shape)` (or (N, out_features) when given).

    State: `time_embedding` (the Fourier W when embedding="fourier"), `embed`, `hidden[l]`
    (on h), `temb[l]` (on the time embedding) and `out`, all `nnx.Linear`.
    """

    def __init__(
        self,
        in_features: int,
        *,
        features: Sequence[int] = (128, 128, 128),
        out_features: int | None = None,
        embed_dim: int = 64,
        marginal_std: Callable[[jax.Array], jax.Array] | None = None,
        embedding: str = "sinusoidal",
        fourier_scale: float = 16.0,
        dtype=None,
        rngs: nnx.Rngs,
    ):
        if embedding not in EMBEDDINGS:
            raise ValueError(f"TimeMLP: embedding must be one of {EMBEDDINGS}, got {embedding!r}.")
        if in_features < 1:
            raise ValueError(f"TimeMLP: in_features must be the (flattened) sample size >= 1, got {in_features}.")
        self.in_features = in_features
        self.out_features = in_features if out_features is None else out_features
        self.reshape_output = out_features is None
        self.features, self.embedding = tuple(features), embedding
        self.marginal_std = marginal_std
        if embedding == "sinusoidal":
            self.time_embedding = SinusoidalEmbedding(embed_dim)
        else:
            self.time_embedding = GaussianFourierProjection(embed_dim, fourier_scale, rngs=rngs)
        # Mixed precision: `dtype` (e.g. jnp.bfloat16) is the dtype the layers compute in; the
        # parameters stay float32 (the optimizer's master copy), the time embedding is computed
        # in float32 and the output returned in float32.
        self.embed = nnx.Linear(embed_dim, embed_dim, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)
        widths = (in_features, *self.features)
        self.hidden = nnx.List([nnx.Linear(a, b, dtype=dtype, kernel_init=lecun_normal, rngs=rngs) for a, b in zip(widths[:-1], widths[1:])])
        self.temb = nnx.List([nnx.Linear(embed_dim, b, dtype=dtype, kernel_init=lecun_normal, rngs=rngs) for b in self.features])
        self.out = nnx.Linear(widths[-1], self.out_features, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)

    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        if x.ndim < 2 or jnp.shape(t) != x.shape[:1] or x[0].size != self.in_features:
            raise ValueError(
                f"TimeMLP expects x of shape (N, *shape) with prod(shape) = in_features = {self.in_features} and t "
                f"of shape (N,); got x {x.shape} and t {jnp.shape(t)}."
            )
        n, sample_shape = x.shape[0], x.shape[1:]
        emb = nnx.swish(self.embed(self.time_embedding(t)))
        h = x.reshape(n, -1)
        for layer, time_layer in zip(self.hidden, self.temb):
            h = nnx.swish(layer(h) + time_layer(emb))
        out = self.out(h).astype(jnp.float32)
        if self.marginal_std is not None:
            out = out / self.marginal_std(t)[:, None]
        if self.reshape_output:
            out = out.reshape(n, *sample_shape)
        return out
