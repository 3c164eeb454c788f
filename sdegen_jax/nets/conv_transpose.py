"""Exact, faster formulations of strided transposed convolutions (ConvTranspose).

`nn.ConvTranspose` with stride s lowers to a convolution over the input dilated by s
(`lhs_dilation`).  On the XLA CPU backend that lowering, and above all the gradient with
respect to its kernel, runs at a few GFLOP/s (DESIGN.md §4; per-layer numbers in
`results/bench_train_throughput.json`, section "layers").  The same linear map can be
computed without any dilation:

`conv_transpose_gemm` (default in ScoreNet)
    forward   one GEMM  cols = x · W,  W = (C_in, K_h·K_w·C_out), then col2im: tap (r_h, r_w)
              of input pixel (i, j) is added at output pixel (s·i + r_h, s·j + r_w).
    backward  (a `jax.custom_vjp`, instead of the dilated convolutions plain autodiff
              produces) G = im2col(g) gathers, for every input pixel, the K_h·K_w output
              pixels it wrote to; then dx = G · Wᵀ and dW = xᵀ · G are two GEMMs.
    Exactly the useful FLOPs in all three products; im2col/col2im are single fused loops
    (`im2col.py`).

`conv_transpose_subpixel` (the sub-pixel rewrite, Shi et al. 2016)
    output row s·m + φ (phase φ) only sees input rows m − j with s·j + φ < K, i.e.
    T = ⌈K/s⌉ taps, so one stride-1 T×T convolution of the zero-padded input to s²·C_out
    channels computes every phase; depth-to-space interleaves them and a crop removes the
    rows past the true output size.  Plain autodiff, no dilation anywhere, but for K=3, s=2
    it multiplies 16 kernel taps where 9 are non-zero, and more on small maps.

Both keep `nn.ConvTranspose`'s kernel (K_h, K_w, C_in, C_out), so parameters, initialisation
and outputs are the same.  Convention: flax's `nn.ConvTranspose` with
`transpose_kernel=False` (the default) and 'VALID' padding, plus an optional
`output_padding` (extra rows/cols at the end, as PyTorch's `ConvTranspose2d`).  Output size
(H − 1)·s + K + output_padding.  Layout NHWC.

Limitation of the custom-VJP path: forward-mode autodiff (`jax.jvp`, `jax.jacfwd`) is not
defined for `jax.custom_vjp` functions; use `impl="plain"` (same parameters) for that.
Reverse mode of any order and `vmap` work.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from .im2col import as_pair, col2im, im2col, matmul_tn

DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
IMPLS = ("gemm", "subpixel", "plain")


def conv_transpose_padding(kernel_size, output_padding=0) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit `nn.ConvTranspose` padding equal to 'VALID' plus `output_padding` at the end."""
    (Kh, Kw), (ph, pw) = as_pair(kernel_size), as_pair(output_padding)
    return ((Kh - 1, Kh - 1 + ph), (Kw - 1, Kw - 1 + pw))


def _output_size(x_shape, k_shape, strides, output_padding):
    (sh, sw), (ph, pw) = as_pair(strides), as_pair(output_padding)
    if not (0 <= ph < sh and 0 <= pw < sw):
        raise ValueError(f"output_padding must lie in [0, stride), got {(ph, pw)} for strides {(sh, sw)}.")
    return (x_shape[1] - 1) * sh + k_shape[0] + ph, (x_shape[2] - 1) * sw + k_shape[1] + pw


def conv_transpose_plain(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None):
    """Reference: `lax.conv_transpose`, exactly what `nn.ConvTranspose` runs."""
    _output_size(x.shape, kernel.shape, strides, output_padding)
    pad = conv_transpose_padding(kernel.shape[:2], output_padding)
    return lax.conv_transpose(x, kernel, as_pair(strides), pad, dimension_numbers=DIMENSION_NUMBERS, precision=precision)


# ----------------------------------------------------------------------------- GEMM + col2im


def _kernel_matrix(kernel):
    """(K_h, K_w, C_in, C_out) -> (C_in, K_h·K_w·C_out), tap r holding kernel[K − 1 − r]."""
    Kh, Kw, Cin, Cout = kernel.shape
    # Input pixel i adds x[i] · kernel[K − 1 − r] at output s·i + r (flax's unflipped convention).
    return jnp.flip(kernel, (0, 1)).transpose(2, 0, 1, 3).reshape(Cin, Kh * Kw * Cout)


def _tconv_gemm_forward(x, kernel, strides, output_padding, precision):
    N, H, W, Cin = x.shape
    Kh, Kw, _, Cout = kernel.shape
    cols = jnp.dot(x.reshape(N * H * W, Cin), _kernel_matrix(kernel), precision=precision)
    return col2im(cols.reshape(N, H, W, Kh, Kw, Cout), strides, _output_size(x.shape, kernel.shape, strides, output_padding))


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_transpose_gemm(x, kernel, strides, output_padding, precision):
    return _tconv_gemm_forward(x, kernel, strides, output_padding, precision)


def _conv_transpose_gemm_fwd(x, kernel, strides, output_padding, precision):
    return _tconv_gemm_forward(x, kernel, strides, output_padding, precision), (x, kernel)


def _conv_transpose_gemm_bwd(strides, output_padding, precision, res, g):
    x, kernel = res
    N, H, W, Cin = x.shape
    Kh, Kw, _, Cout = kernel.shape
    # Output s·i + r received x[i]·kernel[K−1−r], so both gradients read G[i, r] = g[s·i + r]
    # (output-padding rows are never read): dx = G · Wᵀ and dW = xᵀ · G, two GEMMs.
    G = im2col(g, (Kh, Kw), strides, (H, W)).reshape(N * H * W, Kh * Kw * Cout)
    dx = jnp.dot(G, _kernel_matrix(kernel).T, precision=precision).reshape(x.shape)
    dw = matmul_tn(x.reshape(N * H * W, Cin), G, precision)  # (C_in, K_h·K_w·C_out)
    dkernel = jnp.flip(dw.reshape(Cin, Kh, Kw, Cout).transpose(1, 2, 0, 3), (0, 1))
    return dx, dkernel


_conv_transpose_gemm.defvjp(_conv_transpose_gemm_fwd, _conv_transpose_gemm_bwd)


def conv_transpose_gemm(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None):
    """Exactly `conv_transpose_plain(x, kernel, strides, output_padding)`, as GEMMs + col2im /
    im2col in both directions (see module docstring)."""
    return _conv_transpose_gemm(x, kernel.astype(x.dtype), as_pair(strides), as_pair(output_padding), precision)


# ----------------------------------------------------------------------------- sub-pixel


def subpixel_kernel(kernel: jax.Array, strides=(2, 2)) -> jax.Array:
    """(K_h, K_w, C_in, C_out) transposed-conv kernel -> (T_h, T_w, C_in, s_h·s_w·C_out)."""
    # Tap a of phase φ uses kernel index K − 1 − s(T − 1 − a) − φ (zero when negative): flip
    # the kernel, zero-pad it to s·T, split each axis into (T, s) and flip the T axis back.
    Kh, Kw, Cin, Cout = kernel.shape
    sh, sw = as_pair(strides)
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    kf = jnp.pad(jnp.flip(kernel, (0, 1)), ((0, Th * sh - Kh), (0, Tw * sw - Kw), (0, 0), (0, 0)))
    w = jnp.flip(kf.reshape(Th, sh, Tw, sw, Cin, Cout), (0, 2))  # (Th, sh, Tw, sw, Cin, Cout)
    return w.transpose(0, 2, 4, 1, 3, 5).reshape(Th, Tw, Cin, sh * sw * Cout)


def depth_to_space(y: jax.Array, strides=(2, 2)) -> jax.Array:
    """(N, M_h, M_w, s_h·s_w·C) -> (N, M_h·s_h, M_w·s_w, C), channel order (φ_h, φ_w, c)."""
    N, Mh, Mw, C4 = y.shape
    sh, sw = as_pair(strides)
    C = C4 // (sh * sw)
    y = y.reshape(N, Mh, Mw, sh, sw, C).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(N, Mh * sh, Mw * sw, C)


def conv_transpose_subpixel(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None):
    """Exactly `conv_transpose_plain(x, kernel, strides, output_padding)` as a stride-1
    convolution to s²·C_out channels + depth-to-space + crop."""
    N, H, W, _ = x.shape
    Kh, Kw, _, _ = kernel.shape
    sh, sw = as_pair(strides)
    Lh, Lw = _output_size(x.shape, kernel.shape, strides, output_padding)
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    Mh, Mw = -(-Lh // sh), -(-Lw // sw)  # positions per phase
    xp = jnp.pad(x, ((0, 0), (Th - 1, Mh - H), (Tw - 1, Mw - W), (0, 0)))
    w = subpixel_kernel(kernel, (sh, sw)).astype(x.dtype)
    y = lax.conv_general_dilated(xp, w, (1, 1), "VALID", dimension_numbers=DIMENSION_NUMBERS, precision=precision)
    return depth_to_space(y, (sh, sw))[:, :Lh, :Lw, :]


_FUNCTIONS = {"gemm": conv_transpose_gemm, "subpixel": conv_transpose_subpixel, "plain": conv_transpose_plain}


def conv_transpose(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None, impl: str = "gemm"):
    """Transposed convolution ('VALID' + output padding) by the chosen exact implementation."""
    if impl not in _FUNCTIONS:
        raise ValueError(f"unknown ConvTranspose impl {impl!r}; choose one of {IMPLS}.")
    return _FUNCTIONS[impl](x, kernel, strides, output_padding, precision)


class FastConvTranspose(nn.Module):
    """Drop-in for `nn.ConvTranspose(features, kernel_size, strides, padding=VALID+output_padding)`.

    Same parameters ("kernel" (K_h, K_w, C_in, features), "bias"), initialisers and output;
    `impl` picks the arithmetic: "gemm" (default), "subpixel" or "plain" (`lax.conv_transpose`).
    Inputs (N, H, W, C_in).
    """

    features: int
    kernel_size: Sequence[int] = (3, 3)
    strides: Sequence[int] = (2, 2)
    output_padding: int | Sequence[int] = 0
    use_bias: bool = True
    impl: str = "gemm"
    precision: Any = None
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"FastConvTranspose takes NHWC inputs (N, H, W, C); got shape {x.shape}.")
        kernel = self.param("kernel", self.kernel_init, (*as_pair(self.kernel_size), x.shape[-1], self.features))
        y = conv_transpose(x, kernel, as_pair(self.strides), as_pair(self.output_padding), self.precision, self.impl)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,))
        return y
