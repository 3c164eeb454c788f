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
GroupNorm; "op1" is output_padding=1.)  GroupNorm uses PyTorch's epsilon 1e-5.  Any H, W of
the form 8k + 12 (20, 28, 36, ...) runs the same 'VALID' path.

State: 1,115,297 trainable `nnx.Param`s + 128 fixed Fourier frequencies (a `Constant`)
= 1,115,425, the figure of seed 000 Table 1 (PyTorch's `parameters()` counts the tutorial's
`requires_grad=False` W): `sdegen_jax._tree.count_params(nnx.state(model))`.  Paths:
fourier.W, embed, conv1–4, dense1–7, gnorm1–4, tconv4–1, tgnorm4–2 (kernel, bias, scale).

Speed (DESIGN.md §4): `layers` chooses how the convolutions and GroupNorms are computed;
both choices have the same state (paths, shapes, initialisers drawn in the same order from
`rngs`) and compute the same function, so `nnx.update(plain, nnx.state(fast))` moves
weights between them.
  "fast" (default)  no dilated convolution anywhere: transposed convolutions are GEMM +
                    col2im (`conv_transpose_gemm`), strided convolutions im2col + GEMM
                    (`strided_conv_gemm`), GroupNorm from per-channel sums in fewer memory
                    passes (`group_norm`).  Plain JAX with no custom derivative rules:
                    reverse mode (GEMMs + im2col/col2im), forward mode (`jax.jvp`,
                    `jax.jacfwd`, e.g. sliced score matching, Hutchinson divergences), any
                    order, and `jax.vmap` of a per-sample call all work and stay fast.
  "plain"           `nnx.Conv`, `nnx.ConvTranspose`, `nnx.GroupNorm`: the straightforward
                    port, kept as the reference and the benchmark baseline (its transposed
                    convolutions' gradients are about 10× slower on the CPU).
Called per sample under `jax.vmap` (`lambda x, t: model(x[None], t[None])[0]`, as the
library's losses and samplers do), the fast net computes the same numbers and its forward
runs as fast as a batched call; its training step is about 12% slower on the XLA CPU
backend (batch 64): the kernel gradients then contract the vmap axis and the pixels as
two separate axes, and XLA brings such a rank-3 GEMM operand into a canonical layout with
one transposing copy, where a batched call's rank-2 GEMM reads it in place.

Mixed precision: `dtype=jnp.bfloat16` computes the convolutions, GroupNorms and their
activations in bfloat16 while the parameters (and so the optimizer and the EMA) stay float32:
each layer casts its kernel to the activation dtype at the call, GroupNorm's statistics are
accumulated in float32, and the time embedding (Fourier features of t at scale 30, whose
phases bfloat16 would round by up to ~0.4 rad) and the output division by marginal_std(t)
stay float32.  The output is float32.  The default (None) is float32 throughout.

Layout: x is NHWC (N, 28, 28, 1), t is (N,).  `marginal_std` maps t (N,) to the std of the
perturbation kernel (N,), e.g. `lambda t: sde.marginal_coeffs(t)[1]` for
`TutorialVESDE(sigma=25)`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from .conv_transpose import FastConvTranspose, conv_transpose_padding
from .group_norm import GroupNorm
from .strided_conv import FastConv
from .time_embedding import GaussianFourierProjection
from .initializers import lecun_normal

__all__ = ["LAYERS", "ScoreNet"]

LAYERS = ("fast", "plain")


def _valid_sizes_message(size: int) -> str | None:
    """None when `size` runs ScoreNet's 'VALID' path (8k + 12, k ≥ 1), else why not."""
    if size >= 20 and size % 8 == 4:
        return None
    return f"{size} is not of the form 8k + 12 (20, 28, 36, ...); pad or crop the images to such a size (MNIST: 28)"


class ScoreNet(nnx.Module):
    """Song's tutorial ScoreNet; `__call__(x (N,H,W,C), t (N,)) -> score (N,H,W,C)`."""

    def __init__(
        self,
        marginal_std: Callable[[jax.Array], jax.Array],
        *,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128, 256),
        embed_dim: int = 256,
        fourier_scale: float = 30.0,
        layers: str = "fast",
        precision: Any = None,
        dtype: Any = None,
        rngs: nnx.Rngs,
    ):
        if layers not in LAYERS:
            raise ValueError(f"ScoreNet: layers must be one of {LAYERS} ('fast': exact GEMM layers), got {layers!r}.")
        ch = tuple(int(c) for c in channels)
        if len(ch) != 4:
            raise ValueError(f"ScoreNet: channels must have 4 entries (one per resolution), got {channels!r}.")
        if any(c <= 0 or c % 32 for c in ch):
            raise ValueError(
                f"ScoreNet: every channel count must be a multiple of 32 (its GroupNorms have 32 groups), got {ch}."
            )
        self.marginal_std = marginal_std
        self.in_channels, self.channels, self.embed_dim = in_channels, ch, embed_dim
        self.layers, self.precision, self.dtype = layers, precision, dtype

        fast = layers == "fast"

        def down(cin, cout, stride):
            kw = dict(kernel_size=(3, 3), strides=(stride, stride), use_bias=False, precision=precision, rngs=rngs)
            kw.update({} if fast else {"kernel_init": lecun_normal})  # FastConv: the same initialiser, its default
            return FastConv(cin, cout, **kw) if fast else nnx.Conv(cin, cout, padding="VALID", dtype=dtype, **kw)

        def up(cin, cout, stride, output_padding, use_bias):
            kw = dict(kernel_size=(3, 3), strides=(stride, stride), use_bias=use_bias, precision=precision, rngs=rngs)
            kw.update({} if fast else {"kernel_init": lecun_normal})
            if fast:
                return FastConvTranspose(cin, cout, output_padding=output_padding, **kw)
            return nnx.ConvTranspose(cin, cout, padding=conv_transpose_padding((3, 3), output_padding), dtype=dtype,
                                     **kw)

        def gn(features, groups):
            if fast:
                return GroupNorm(features, groups, 1e-5, rngs=rngs)
            return nnx.GroupNorm(features, groups, epsilon=1e-5, dtype=dtype, rngs=rngs)

        def dense(features):
            return nnx.Linear(embed_dim, features, kernel_init=lecun_normal, rngs=rngs)

        self.fourier = GaussianFourierProjection(embed_dim, fourier_scale, rngs=rngs)
        self.embed = nnx.Linear(embed_dim, embed_dim, kernel_init=lecun_normal, rngs=rngs)
        # Encoder.
        self.conv1, self.dense1, self.gnorm1 = down(in_channels, ch[0], 1), dense(ch[0]), gn(ch[0], 4)
        self.conv2, self.dense2, self.gnorm2 = down(ch[0], ch[1], 2), dense(ch[1]), gn(ch[1], 32)
        self.conv3, self.dense3, self.gnorm3 = down(ch[1], ch[2], 2), dense(ch[2]), gn(ch[2], 32)
        self.conv4, self.dense4, self.gnorm4 = down(ch[2], ch[3], 2), dense(ch[3]), gn(ch[3], 32)
        # Decoder with skip connections.
        self.tconv4, self.dense5, self.tgnorm4 = up(ch[3], ch[2], 2, 0, False), dense(ch[2]), gn(ch[2], 32)
        self.tconv3, self.dense6, self.tgnorm3 = up(2 * ch[2], ch[1], 2, 1, False), dense(ch[1]), gn(ch[1], 32)
        self.tconv2, self.dense7, self.tgnorm2 = up(2 * ch[1], ch[0], 2, 1, False), dense(ch[0]), gn(ch[0], 32)
        self.tconv1 = up(2 * ch[0], in_channels, 1, 0, True)

    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        if x.ndim != 4 or jnp.shape(t) != x.shape[:1] or x.shape[-1] != self.in_channels:
            raise ValueError(
                f"ScoreNet takes x (N, H, W, C) with C = in_channels = {self.in_channels} and t (N,); got x "
                f"{x.shape}, t {jnp.shape(t)}."
            )
        for axis, size in zip("HW", x.shape[1:3]):
            if (why := _valid_sizes_message(size)) is not None:
                raise ValueError(f"ScoreNet: image {axis} = {why}.")
        act = nnx.swish
        # Named scopes name every op after its layer in HLO metadata (profiles, dumps).
        with jax.named_scope("ScoreNet"):
            with jax.named_scope("embed"):
                embed = act(self.embed(self.fourier(t)))

            def down(i, h):
                with jax.named_scope(f"conv{i}"):
                    h = getattr(self, f"conv{i}")(h)
                with jax.named_scope(f"gnorm{i}"):
                    return act(getattr(self, f"gnorm{i}")(h + getattr(self, f"dense{i}")(embed)[:, None, None, :].astype(h.dtype)))

            def up(i, dense_i, h):
                with jax.named_scope(f"tconv{i}"):
                    h = getattr(self, f"tconv{i}")(h)
                with jax.named_scope(f"tgnorm{i}"):
                    return act(getattr(self, f"tgnorm{i}")(h + getattr(self, f"dense{dense_i}")(embed)[:, None, None, :].astype(h.dtype)))

            h1 = down(1, x if self.dtype is None else x.astype(self.dtype))
            h2 = down(2, h1)
            h3 = down(3, h2)
            h4 = down(4, h3)
            h = up(4, 5, h4)
            h = up(3, 6, jnp.concatenate([h, h3], axis=-1))
            h = up(2, 7, jnp.concatenate([h, h2], axis=-1))
            with jax.named_scope("tconv1"):
                h = self.tconv1(jnp.concatenate([h, h1], axis=-1))

        std = jnp.asarray(self.marginal_std(t), x.dtype)
        return h.astype(x.dtype) / std[:, None, None, None]
