"""Exact, faster formulations of strided 'VALID' convolutions (their gradients, really).

The forward pass of a stride-s convolution is fast on the XLA CPU backend, and so is its
kernel gradient; its INPUT gradient is a convolution over the output gradient dilated by s
(`lhs_dilation`), which runs at a few GFLOP/s, worst on small maps (DESIGN.md §4: 29 ms for
the 5×5→2×2 layer of ScoreNet at batch 64; per-layer numbers in
`results/bench_train_throughput.json`, section "layers").

`conv_gemm_grad` (default in ScoreNet)
    forward: XLA's native convolution (fast).  Backward, through a `jax.custom_vjp`, as
    GEMMs: the input gradient is the transposed convolution dx[s·o + k] += g[o]·kernel[k]ᵀ,
    one GEMM (g · Wᵀ) + col2im: 2 ms instead of 44 ms for the 5×5→2×2 layer of ScoreNet at
    batch 64.  The kernel gradient is im2col(x)ᵀ · g, one GEMM over the batch and pixels;
    XLA's native kernel gradient (a window-dilated convolution plus two layout transposes)
    was the slower of the two in the train step (paired timing, batch 64: the whole step
    ≈2% faster with the GEMM).

`conv_space_to_depth`
    folds each s×s block into channels and runs a stride-1 convolution with T = ⌈K/s⌉ taps
    per axis over s²·C_in channels (kernel zero-padded to s·T and reshaped), so plain
    autodiff only meets stride-1 convolutions; 16 taps where 9 are non-zero for K=3, s=2.

Both keep `nn.Conv`'s kernel (K_h, K_w, C_in, C_out): same parameters and outputs.
Convention: `nn.Conv(..., strides=s, padding='VALID')`, NHWC.  The custom-VJP path does
not support forward-mode autodiff (use impl="plain" for `jax.jvp`).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from .conv_transpose import DIMENSION_NUMBERS
from .im2col import as_pair, col2im, im2col, matmul_tn

IMPLS = ("gemm", "space_to_depth", "plain")


def conv_plain(x, kernel, strides=(2, 2), precision=None):
    """Reference: `lax.conv_general_dilated` 'VALID', exactly what `nn.Conv(padding='VALID')` runs."""
    return lax.conv_general_dilated(
        x, kernel, as_pair(strides), "VALID", dimension_numbers=DIMENSION_NUMBERS, precision=precision
    )


# ----------------------------------------------------------------------------- GEMM input gradient


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_gemm_grad(x, kernel, strides, precision):
    return conv_plain(x, kernel, strides, precision)


def _conv_gemm_grad_fwd(x, kernel, strides, precision):
    return conv_plain(x, kernel, strides, precision), (x, kernel)


def _conv_gemm_grad_bwd(strides, precision, res, g):
    x, kernel = res
    N, Ho, Wo, Cout = g.shape
    Kh, Kw, Cin, _ = kernel.shape
    # dx[s·o + k] += g[o] · kernel[k]ᵀ: GEMM to per-tap contributions, then col2im.
    cols = jnp.dot(g.reshape(N * Ho * Wo, Cout), kernel.reshape(Kh * Kw * Cin, Cout).T, precision=precision)
    dx = col2im(cols.reshape(N, Ho, Wo, Kh, Kw, Cin), strides, x.shape[1:3])
    # dkernel[k] = Σ_o x[s·o + k]ᵀ g[o]: im2col of the input, one GEMM contracting batch and pixels.
    patches = im2col(x, (Kh, Kw), strides, (Ho, Wo)).reshape(N * Ho * Wo, Kh * Kw * Cin)
    dk = matmul_tn(patches, g.reshape(N * Ho * Wo, Cout), precision).reshape(kernel.shape)
    return dx, dk


_conv_gemm_grad.defvjp(_conv_gemm_grad_fwd, _conv_gemm_grad_bwd)


def conv_gemm_grad(x, kernel, strides=(2, 2), precision=None):
    """Exactly `conv_plain(x, kernel, strides)`; input gradient by GEMM + col2im (see module doc)."""
    return _conv_gemm_grad(x, kernel.astype(x.dtype), as_pair(strides), precision)


# ----------------------------------------------------------------------------- space-to-depth


def space_to_depth(x: jax.Array, strides=(2, 2)) -> jax.Array:
    """(N, H, W, C) with H, W multiples of s -> (N, H/s_h, W/s_w, s_h·s_w·C), order (φ_h, φ_w, c)."""
    N, H, W, C = x.shape
    sh, sw = as_pair(strides)
    x = x.reshape(N, H // sh, sh, W // sw, sw, C).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(N, H // sh, W // sw, sh * sw * C)


def space_to_depth_kernel(kernel: jax.Array, strides=(2, 2)) -> jax.Array:
    """(K_h, K_w, C_in, C_out) -> (T_h, T_w, s_h·s_w·C_in, C_out) matching `space_to_depth`."""
    Kh, Kw, Cin, Cout = kernel.shape
    sh, sw = as_pair(strides)
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    kp = jnp.pad(kernel, ((0, Th * sh - Kh), (0, Tw * sw - Kw), (0, 0), (0, 0)))
    kp = kp.reshape(Th, sh, Tw, sw, Cin, Cout).transpose(0, 2, 1, 3, 4, 5)
    return kp.reshape(Th, Tw, sh * sw * Cin, Cout)


def conv_space_to_depth(x, kernel, strides=(2, 2), precision=None):
    """Exactly `conv_plain(x, kernel, strides)` ('VALID'), with stride-1 arithmetic only."""
    N, H, W, _ = x.shape
    Kh, Kw, _, _ = kernel.shape
    sh, sw = as_pair(strides)
    mh, mw = (H - Kh) // sh + 1, (W - Kw) // sw + 1  # output size
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    Hn, Wn = sh * (mh + Th - 1), sw * (mw + Tw - 1)  # rows/cols the blocks must cover
    x = x[:, :Hn, :Wn, :]  # rows past the last window are never read
    x = jnp.pad(x, ((0, 0), (0, Hn - x.shape[1]), (0, Wn - x.shape[2]), (0, 0)))  # zeros meet zero taps
    w = space_to_depth_kernel(kernel, (sh, sw)).astype(x.dtype)
    return lax.conv_general_dilated(
        space_to_depth(x, (sh, sw)), w, (1, 1), "VALID", dimension_numbers=DIMENSION_NUMBERS, precision=precision
    )


_FUNCTIONS = {"gemm": conv_gemm_grad, "space_to_depth": conv_space_to_depth, "plain": conv_plain}


def strided_conv(x, kernel, strides=(2, 2), precision=None, impl: str = "gemm"):
    """Stride-s 'VALID' convolution by the chosen exact implementation."""
    if impl not in _FUNCTIONS:
        raise ValueError(f"unknown strided Conv impl {impl!r}; choose one of {IMPLS}.")
    return _FUNCTIONS[impl](x, kernel, strides, precision)


class FastConv(nn.Module):
    """Drop-in for `nn.Conv(features, kernel_size, strides, padding='VALID')`.

    Same parameters ("kernel" (K_h, K_w, C_in, features), "bias"), initialisers and output;
    `impl` picks the arithmetic: "gemm" (default), "space_to_depth" or "plain".
    Inputs (N, H, W, C_in).
    """

    features: int
    kernel_size: Sequence[int] = (3, 3)
    strides: Sequence[int] = (2, 2)
    use_bias: bool = True
    impl: str = "gemm"
    precision: Any = None
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"FastConv takes NHWC inputs (N, H, W, C); got shape {x.shape}.")
        kernel = self.param("kernel", self.kernel_init, (*as_pair(self.kernel_size), x.shape[-1], self.features))
        y = strided_conv(x, kernel, as_pair(self.strides), self.precision, self.impl)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,))
        return y
