"""ScoreNet: the time-dependent U-Net of Song's score-based tutorial (seed 000 §5.2.1).

Architecture, layer for layer as the tutorial's PyTorch `ScoreNet` (channels 32/64/128/256,
embed_dim 256, 'VALID' convolutions 28→26→12→5→2 and back 2→5→12→26→28):

  embed = swish(Dense(embed)(GaussianFourierProjection(embed, scale=30)(t)))
  h1 = swish(GN4 (Conv3×3 s1 (x)  → 32,  no bias) + Dense(embed)))      28 → 26
  h2 = swish(GN32(Conv3×3 s2 (h1) → 64,  no bias) + Dense(embed)))      26 → 12
  h3 = swish(GN32(Conv3×3 s2 (h2) → 128, no bias) + Dense(embed)))      12 → 5
  h4 = swish(GN32(Conv3×3 s2 (h3) → 256, no bias) + Dense(embed)))       5 → 2
  h  = swish(GN32(ConvT3×3 s2 (h4)       → 128, no bias) + Dense))       2 → 5
  h  = swish(GN32(ConvT3×3 s2 op1 ([h,h3]) → 64, no bias) + Dense))      5 → 12
  h  = swish(GN32(ConvT3×3 s2 op1 ([h,h2]) → 32, no bias) + Dense))     12 → 26
  out = ConvT3×3 s1 ([h,h1]) → 1 (with bias) / marginal_std(t)          26 → 28

(GN·(· + Dense) means the Dense(embed) output is added, broadcast over space, before the
GroupNorm; "op1" is output_padding=1.)  GroupNorm uses PyTorch's epsilon 1e-5.

Parameters: 1,115,297 trainable ("params") + 128 fixed Fourier frequencies ("constants")
= 1,115,425, the figure of seed 000 Table 1 (PyTorch's `parameters()` counts the tutorial's
`requires_grad=False` W).  See `count_params`.

Speed (DESIGN.md §4): `upsample` and `downsample` choose how the transposed and the
ordinary convolutions are computed; every choice has the same parameters (names, shapes,
initialisers) and computes the same function, so parameters move freely between them.
  "gemm" (default)  no dilated convolution anywhere: transposed convolutions run forward as
                    GEMM + col2im and backward as im2col + two GEMMs; strided convolutions
                    run forward natively, their input gradient as GEMM + col2im and their
                    kernel gradient as im2col + GEMM (`conv_transpose_gemm`,
                    `conv_gemm_grad`, via `jax.custom_vjp`).
  "subpixel" / "space_to_depth"   the sub-pixel / space-to-depth rewrites (stride-1
                    convolutions only, plain autodiff).
  "plain"           `nn.ConvTranspose` / `nn.Conv`, the straightforward port.
`norm="fast"` (default) computes GroupNorm from per-channel sums in fewer memory passes
(`group_norm.py`); `norm="flax"` uses `nn.GroupNorm`.  Same parameters either way.
`ScoreNet(std, upsample="plain", downsample="plain", norm="flax")` is the straightforward
port, kept as the reference and the benchmark baseline.
The custom-VJP paths support reverse mode and vmap but not forward mode (`jax.jvp`,
`jax.jacfwd`): use upsample="plain", downsample="plain" for that.

Layout: x is NHWC (N, 28, 28, 1), t is (N,).  `marginal_std` maps t (N,) to the std of the
perturbation kernel (N,), e.g. `lambda t: sde.marginal_coeffs(t)[1]` for
`TutorialVESDE(sigma=25)`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from .conv_transpose import IMPLS as UPSAMPLE_IMPLS
from .conv_transpose import FastConvTranspose, conv_transpose_padding
from .strided_conv import IMPLS as DOWNSAMPLE_IMPLS
from .strided_conv import FastConv
from .group_norm import GroupNorm
from .time_embedding import GaussianFourierProjection


NORMS = ("fast", "flax")


def count_params(tree) -> int:
    """Number of scalars in a pytree of arrays or `jax.ShapeDtypeStruct`s (e.g. from
    `jax.eval_shape(model.init, ...)`): `variables["params"]` or all `variables`."""
    return sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(tree))


class ScoreNet(nn.Module):
    """Song's tutorial ScoreNet; `__call__(x (N,28,28,1), t (N,)) -> score (N,28,28,1)`."""

    marginal_std: Callable[[jax.Array], jax.Array]
    channels: Sequence[int] = (32, 64, 128, 256)
    embed_dim: int = 256
    fourier_scale: float = 30.0
    upsample: str = "gemm"
    downsample: str = "gemm"
    norm: str = "fast"
    precision: Any = None

    def _down(self, features, strides, name):
        kw = dict(kernel_size=(3, 3), strides=(strides, strides), use_bias=False, precision=self.precision, name=name)
        if self.downsample == "plain":
            return nn.Conv(features, padding="VALID", **kw)
        return FastConv(features, impl=self.downsample, **kw)

    def _up(self, features, strides, output_padding, use_bias, name):
        kw = dict(kernel_size=(3, 3), strides=(strides, strides), use_bias=use_bias, precision=self.precision, name=name)
        if self.upsample == "plain":
            return nn.ConvTranspose(features, padding=conv_transpose_padding((3, 3), output_padding), **kw)
        return FastConvTranspose(features, output_padding=output_padding, impl=self.upsample, **kw)

    @nn.compact
    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        if self.upsample not in UPSAMPLE_IMPLS or self.downsample not in DOWNSAMPLE_IMPLS or self.norm not in NORMS:
            raise ValueError(
                f"ScoreNet: upsample must be one of {UPSAMPLE_IMPLS}, downsample one of {DOWNSAMPLE_IMPLS} and "
                f"norm one of {NORMS}; got {self.upsample!r}, {self.downsample!r}, {self.norm!r}."
            )
        if x.ndim != 4 or jnp.shape(t) != x.shape[:1]:
            raise ValueError(f"ScoreNet takes x (N, H, W, C) and t (N,); got x {x.shape}, t {jnp.shape(t)}.")
        ch = tuple(self.channels)
        act = nn.swish
        if self.norm == "flax":
            gn = lambda groups, name: nn.GroupNorm(num_groups=groups, epsilon=1e-5, name=name)
        else:
            gn = lambda groups, name: GroupNorm(num_groups=groups, epsilon=1e-5, name=name)
        dense = lambda f, name: nn.Dense(f, name=name)(embed)[:, None, None, :]

        embed = GaussianFourierProjection(self.embed_dim, self.fourier_scale, name="fourier")(t)
        embed = act(nn.Dense(self.embed_dim, name="embed")(embed))

        # Encoder.
        h1 = act(gn(4, "gnorm1")(self._down(ch[0], 1, "conv1")(x) + dense(ch[0], "dense1")))
        h2 = act(gn(32, "gnorm2")(self._down(ch[1], 2, "conv2")(h1) + dense(ch[1], "dense2")))
        h3 = act(gn(32, "gnorm3")(self._down(ch[2], 2, "conv3")(h2) + dense(ch[2], "dense3")))
        h4 = act(gn(32, "gnorm4")(self._down(ch[3], 2, "conv4")(h3) + dense(ch[3], "dense4")))

        # Decoder with skip connections.
        h = self._up(ch[2], 2, 0, False, "tconv4")(h4)
        h = act(gn(32, "tgnorm4")(h + dense(ch[2], "dense5")))
        h = self._up(ch[1], 2, 1, False, "tconv3")(jnp.concatenate([h, h3], axis=-1))
        h = act(gn(32, "tgnorm3")(h + dense(ch[1], "dense6")))
        h = self._up(ch[0], 2, 1, False, "tconv2")(jnp.concatenate([h, h2], axis=-1))
        h = act(gn(32, "tgnorm2")(h + dense(ch[0], "dense7")))
        h = self._up(x.shape[-1], 1, 0, True, "tconv1")(jnp.concatenate([h, h1], axis=-1))

        std = jnp.asarray(self.marginal_std(t), h.dtype)
        return h / std[:, None, None, None]
