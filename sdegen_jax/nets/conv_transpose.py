"""Exact, faster formulation of strided transposed convolutions (ConvTranspose).

`nnx.ConvTranspose` with stride s lowers to a convolution over the input dilated by s
(`lhs_dilation`).  On the XLA CPU backend that lowering, and above all its gradients, runs
at a few GFLOP/s (DESIGN.md §4; per-layer figures in `results/bench_layers.json`).  The
same linear map can be computed without any dilation:

`conv_transpose_gemm` (ScoreNet's `layers="fast"`)
    forward   one GEMM  cols = x · W,  W = (C_in, K_h·K_w·C_out), then col2im: tap (r_h, r_w)
              of input pixel (i, j) is added at output pixel (s·i + r_h, s·j + r_w).
    reverse   plain autodiff, which transposes col2im into im2col (a concatenation of
              slices, `im2col.py`) and the GEMM into two GEMMs: G = im2col(g) gathers, for
              every input pixel, the K_h·K_w output pixels it wrote to; dx = G · Wᵀ and
              dW = xᵀ · G.
    forward   plain autodiff too (`jax.jvp`, `jax.jacfwd`): the tangent is
    mode      dx · W + x · dW through the same GEMM + col2im.
    Exactly the useful FLOPs in all products, no custom derivative rule, so every autodiff
    order and `vmap` work and stay fast (under `vmap` the kernel gradient is still one GEMM
    over the whole batch, which a custom VJP cannot give: see `strided_conv.py`).

It keeps `nnx.ConvTranspose`'s kernel (K_h, K_w, C_in, C_out), so parameters,
initialisation and outputs are the same.  Convention: `nnx.ConvTranspose` with
`transpose_kernel=False` (the default) and 'VALID' padding, plus an optional
`output_padding` (extra rows/cols at the end, as PyTorch's `ConvTranspose2d`).  Output size
(H − 1)·s + K + output_padding.  Layout NHWC.  The sub-pixel rewrite (stride-1 convolution
to s²·C_out channels + depth-to-space), slower on this CPU, lives in
`benchmarks/layer_study.py`.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
from flax import nnx
from jax import lax

from .im2col import as_pair, check_nhwc, col2im
from .initializers import lecun_normal

__all__ = [
    "DIMENSION_NUMBERS",
    "default_kernel_init",
    "default_bias_init",
    "conv_transpose_padding",
    "check_output_padding",
    "conv_transpose_output_size",
    "conv_transpose_plain",
    "kernel_matrix",
    "conv_transpose_gemm",
    "FastConvTranspose",
]

DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
default_kernel_init = lecun_normal  # Flax's lecun-normal, compiled once per shape at -O0 (initializers.py)
default_bias_init = nnx.initializers.zeros_init()


def conv_transpose_padding(kernel_size, output_padding=0) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit `nnx.ConvTranspose` padding equal to 'VALID' plus `output_padding` at the end."""
    (Kh, Kw), (ph, pw) = as_pair(kernel_size), as_pair(output_padding)
    return ((Kh - 1, Kh - 1 + ph), (Kw - 1, Kw - 1 + pw))


def check_output_padding(strides, output_padding) -> None:
    """0 ≤ output_padding < stride per axis, or a ValueError."""
    (sh, sw), (ph, pw) = as_pair(strides), as_pair(output_padding)
    if not (0 <= ph < sh and 0 <= pw < sw):
        raise ValueError(
            f"output_padding must lie in [0, stride), got {(ph, pw)} for strides {(sh, sw)}: pass a smaller "
            "output_padding (it only adds the rows/cols the stride leaves out)."
        )


def conv_transpose_output_size(x_shape, k_shape, strides, output_padding) -> tuple[int, int]:
    """(H − 1)·s + K + output_padding per spatial axis of NHWC `x_shape` and an HWIO kernel."""
    check_output_padding(strides, output_padding)
    (sh, sw), (ph, pw) = as_pair(strides), as_pair(output_padding)
    return (x_shape[1] - 1) * sh + k_shape[0] + ph, (x_shape[2] - 1) * sw + k_shape[1] + pw


def conv_transpose_plain(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None):
    """Reference: `lax.conv_transpose`, exactly what `nnx.ConvTranspose` runs."""
    check_nhwc(x, kernel, "conv_transpose_plain")
    conv_transpose_output_size(x.shape, kernel.shape, strides, output_padding)
    pad = conv_transpose_padding(kernel.shape[:2], output_padding)
    return lax.conv_transpose(x, kernel, as_pair(strides), pad, dimension_numbers=DIMENSION_NUMBERS, precision=precision)


def kernel_matrix(kernel: jax.Array) -> jax.Array:
    """(K_h, K_w, C_in, C_out) -> (C_in, K_h·K_w·C_out), tap r holding kernel[K − 1 − r]."""
    Kh, Kw, Cin, Cout = kernel.shape
    # Input pixel i adds x[i] · kernel[K − 1 − r] at output s·i + r (flax's unflipped convention).
    return jnp.flip(kernel, (0, 1)).transpose(2, 0, 1, 3).reshape(Cin, Kh * Kw * Cout)


def conv_transpose_gemm(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None):
    """Exactly `conv_transpose_plain(x, kernel, strides, output_padding)`, as one GEMM +
    col2im; its derivatives of every order are GEMMs + im2col/col2im (see module docstring)."""
    check_nhwc(x, kernel, "conv_transpose_gemm")
    strides, output_padding = as_pair(strides), as_pair(output_padding)
    out_hw = conv_transpose_output_size(x.shape, kernel.shape, strides, output_padding)
    N, H, W, Cin = x.shape
    Kh, Kw, _, Cout = kernel.shape
    cols = jnp.dot(x.reshape(N * H * W, Cin), kernel_matrix(kernel.astype(x.dtype)), precision=precision)
    return col2im(cols.reshape(N, H, W, Kh, Kw, Cout), strides, out_hw)


class FastConvTranspose(nnx.Module):
    """Drop-in for `nnx.ConvTranspose(in_features, out_features, kernel_size, strides,
    padding=VALID + output_padding)`, computed by `conv_transpose_gemm`.

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
        output_padding: int | Sequence[int] = 0,
        use_bias: bool = True,
        precision: Any = None,
        *,
        rngs: nnx.Rngs,
    ):
        self.in_features, self.out_features = in_features, out_features
        self.kernel_size, self.strides = as_pair(kernel_size), as_pair(strides)
        self.output_padding = as_pair(output_padding)
        check_output_padding(self.strides, self.output_padding)
        self.use_bias, self.precision = use_bias, precision
        self.kernel = nnx.Param(default_kernel_init(rngs.params(), (*self.kernel_size, in_features, out_features)))
        self.bias = nnx.Param(default_bias_init(rngs.params(), (out_features,))) if use_bias else nnx.data(None)

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"FastConvTranspose takes NHWC inputs (N, H, W, {self.in_features}); got shape {x.shape}."
            )
        y = conv_transpose_gemm(x, self.kernel[...], self.strides, self.output_padding, self.precision)
        if self.bias is not None:
            y = y + self.bias[...].astype(y.dtype)
        return y
