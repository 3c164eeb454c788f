"""Exact, faster formulation of strided 'VALID' convolutions (their gradients, really).

The forward pass of a stride-s convolution is fast on the XLA CPU backend, and so is its
kernel gradient; its INPUT gradient is a convolution over the output gradient dilated by s
(`lhs_dilation`), which runs at a few GFLOP/s, worst on small maps (DESIGN.md §4: 29 ms for
the 5×5→2×2 layer of ScoreNet at batch 64; per-layer figures in
`results/bench_layers.json`).

`strided_conv_gemm` (ScoreNet's `layers="fast"`)
    forward   im2col + one GEMM: y = im2col(x) · K, K = (K_h·K_w·C_in, C_out).  As fast as
              XLA's native convolution at ScoreNet's shapes (`benchmarks/layer_study.py`).
    reverse   plain autodiff: the kernel gradient is im2col(x)ᵀ · g, one GEMM over the batch
              and pixels; the input gradient is the transposed convolution
              dx[s·o + k] += g[o]·kernel[k]ᵀ, one GEMM (g · Kᵀ) followed by the transpose
              of im2col, i.e. col2im's per-phase sums: 2 ms instead of 44 ms for the
              5×5→2×2 layer of ScoreNet at batch 64.
    forward   plain autodiff: im2col(dx) · K + im2col(x) · dK.
    mode
    No custom derivative rule.  An earlier version kept XLA's convolution forward and gave
    it a `jax.custom_vjp`; that blocked `jax.jvp`, and under `jax.vmap` of a per-sample call
    (how the library's losses call the network) the batched custom backward computed one
    kernel gradient per sample and then summed them: up to 100× slower per layer on
    ScoreNet's small maps ("vmap_bwd_ms" of `gemm_custom_vjp` in results/bench_layers.json).
    Plain autodiff of the vmapped forward contracts the batch inside the one
    kernel-gradient GEMM instead.

It keeps `nnx.Conv`'s kernel (K_h, K_w, C_in, C_out): same parameters and outputs.
Convention: `nnx.Conv(..., strides=s, padding='VALID')`, NHWC.  The space-to-depth
rewrite (stride-1 convolution over s²·C_in channels), slower on this CPU, lives in
`benchmarks/layer_study.py`.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
from flax import nnx
from jax import lax

from .conv_transpose import DIMENSION_NUMBERS, default_bias_init, default_kernel_init
from .im2col import as_pair, check_nhwc, im2col

__all__ = ["conv_plain", "strided_conv_gemm", "FastConv"]


def conv_plain(x, kernel, strides=(2, 2), precision=None):
    """Reference: `lax.conv_general_dilated` 'VALID', exactly what `nnx.Conv(padding='VALID')` runs."""
    check_nhwc(x, kernel, "conv_plain")
    return lax.conv_general_dilated(
        x, kernel, as_pair(strides), "VALID", dimension_numbers=DIMENSION_NUMBERS, precision=precision
    )


def strided_conv_gemm(x, kernel, strides=(2, 2), precision=None):
    """Exactly `conv_plain(x, kernel, strides)`, as im2col + one GEMM; its derivatives of
    every order are GEMMs + im2col/col2im (see module docstring)."""
    check_nhwc(x, kernel, "strided_conv_gemm")
    N = x.shape[0]
    Kh, Kw, Cin, Cout = kernel.shape
    patches = im2col(x, (Kh, Kw), strides)  # (N, H_o, W_o, K_h, K_w, C_in)
    Ho, Wo = patches.shape[1:3]
    y = jnp.dot(
        patches.reshape(N * Ho * Wo, Kh * Kw * Cin), kernel.astype(x.dtype).reshape(Kh * Kw * Cin, Cout), precision=precision
    )
    return y.reshape(N, Ho, Wo, Cout)


class FastConv(nnx.Module):
    """Drop-in for `nnx.Conv(in_features, out_features, kernel_size, strides, padding='VALID')`,
    computed by `strided_conv_gemm`.

    Same state ("kernel" (K_h, K_w, in_features, out_features), "bias" or None), the same
    initialisers drawn from the same `rngs` stream in the same order, and the same output.
    Inputs (N, H, W, in_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: Sequence[int] = (3, 3),
        strides: Sequence[int] = (2, 2),
        use_bias: bool = True,
        precision: Any = None,
        *,
        rngs: nnx.Rngs,
    ):
        self.in_features, self.out_features = in_features, out_features
        self.kernel_size, self.strides = as_pair(kernel_size), as_pair(strides)
        self.use_bias, self.precision = use_bias, precision
        self.kernel = nnx.Param(default_kernel_init(rngs.params(), (*self.kernel_size, in_features, out_features)))
        self.bias = nnx.Param(default_bias_init(rngs.params(), (out_features,))) if use_bias else nnx.data(None)

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4 or x.shape[-1] != self.in_features:
            raise ValueError(f"FastConv takes NHWC inputs (N, H, W, {self.in_features}); got shape {x.shape}.")
        y = strided_conv_gemm(x, self.kernel[...], self.strides, self.precision)
        if self.bias is not None:
            y = y + self.bias[...].astype(y.dtype)
        return y
