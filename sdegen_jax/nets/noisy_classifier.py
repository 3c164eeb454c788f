"""A time-dependent classifier p_t(y | x_t) of noised images, for class-conditional guidance
(seed 000 eq. 4.4; Song et al. 2021 §5): two strided convolutions with the time entering
through Gaussian Fourier features added to each block, then a linear head.  The input is
divided by the marginal std's scale, sqrt(1 + s(t)²), so its size stays O(1) at every t."""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from .time_embedding import GaussianFourierProjection
from .initializers import lecun_normal

__all__ = ["NoisyClassifier"]


class NoisyClassifier(nnx.Module):
    """`__call__(x (N, H, W, C), t (N,)) -> logits (N, num_classes)`."""

    def __init__(
        self,
        marginal_std: Callable[[jax.Array], jax.Array],
        *,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: Sequence[int] = (32, 64),
        embed_dim: int = 64,
        rngs: nnx.Rngs,
    ):
        if num_classes < 2 or len(channels) < 1:
            raise ValueError(f"NoisyClassifier needs num_classes >= 2 and at least one block, got {num_classes}, {channels}.")
        self.marginal_std = marginal_std
        self.embed = GaussianFourierProjection(embed_dim, 16.0, rngs=rngs)
        widths = (in_channels, *channels)
        self.convs = nnx.List([nnx.Conv(a, b, (3, 3), strides=(2, 2), kernel_init=lecun_normal, rngs=rngs) for a, b in zip(widths[:-1], widths[1:])])
        self.temb = nnx.List([nnx.Linear(embed_dim, b, kernel_init=lecun_normal, rngs=rngs) for b in channels])
        self.head = nnx.Linear(channels[-1], num_classes, kernel_init=lecun_normal, rngs=rngs)

    def __call__(self, x, t):
        emb = nnx.swish(self.embed(t))
        h = x / jnp.sqrt(1.0 + self.marginal_std(t) ** 2)[:, None, None, None]
        for conv, dense in zip(self.convs, self.temb):
            h = nnx.swish(conv(h) + dense(emb)[:, None, None, :])
        return self.head(jnp.mean(h, axis=(1, 2)))
