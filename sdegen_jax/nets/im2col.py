"""Patch extraction (im2col) and its adjoint (col2im) for strided 'VALID' 2-D windows.

These turn convolutions into GEMMs (see `conv_transpose.py`, `strided_conv.py`):

  im2col(x, K, s)[n, i, j, r_h, r_w, c] = x[n, s_h·i + r_h, s_w·j + r_w, c]
  col2im(cols, s, L)[n, s_h·i + r_h, s_w·j + r_w, c] += cols[n, i, j, r_h, r_w, c]

`col2im` is the transpose (adjoint) of `im2col`.  Layout NHWC.  Both are plain JAX, built
only from ops whose autodiff transposes are as cheap as the ops themselves, so that
reverse-mode autodiff of a GEMM convolution written with them needs no custom rule:

- `im2col` views x as its s_h·s_w phases, x.reshape(N, H/s_h, s_h, W/s_w, s_w, C) (free),
  separated by `lax.split` (its transpose is a concatenation), where tap r is the
  unit-stride slice [r // s : r // s + H_o] of phase r % s of each axis, and stacks the
  K_h·K_w slices.  Its transpose, which autodiff derives, is col2im's arithmetic: each
  tap's cotangent is zero-padded into its own phase only and summed there.  (A gather with
  constant indices, an earlier version, was emitted as a scalar loop that also recomputed
  its fused producers for every tap: in the ScoreNet train step at batch 64 the 12×12→26×26
  layer's im2col took 6.7 ms that way against 1.9 ms as slices.)
- `col2im` takes the K_h·K_w taps apart with one `lax.split` (transpose: one
  concatenation, i.e. im2col of the cotangent), sums per output phase (pixels s·m + φ
  receive the taps r = φ + s·q, shifted by q with `lax.pad`, whose transpose is a slice)
  and interleaves the phases at the end (≈9 separate full-size passes otherwise).

Indexing a tap out of a stacked array (`cols[..., r, :]`) instead of `lax.split` would
transpose into one zero-padded full-size array per tap, summed: about 2× slower reverse
mode for ScoreNet's transposed convolutions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["as_pair", "check_nhwc", "im2col", "col2im"]


def as_pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(u) for u in v)


def check_nhwc(x: jax.Array, kernel: jax.Array, what: str) -> None:
    """x (N, H, W, C_in) and an HWIO kernel (K_h, K_w, C_in, C_out), or a ValueError."""
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[-1] != kernel.shape[2]:
        raise ValueError(
            f"{what} takes x (N, H, W, C_in) and a kernel (K_h, K_w, C_in, C_out); got x {x.shape}, "
            f"kernel {kernel.shape}."
        )


def _split(x: jax.Array, axis: int) -> list[jax.Array]:
    """x split into its size-1 slices along `axis` (kept), by one `lax.split`."""
    n = x.shape[axis]
    return list(lax.split(x, (1,) * n, axis=axis)) if n > 1 else [x]


def im2col(x: jax.Array, kernel_size, strides, out_hw=None) -> jax.Array:
    """x (N, H, W, C) -> (N, H_o, W_o, K_h, K_w, C); H_o defaults to the 'VALID' size."""
    N, H, W, C = x.shape
    (Kh, Kw), (sh, sw) = as_pair(kernel_size), as_pair(strides)
    Ho, Wo = out_hw if out_hw is not None else ((H - Kh) // sh + 1, (W - Kw) // sw + 1)
    if Ho < 1 or Wo < 1 or sh * (Ho - 1) + Kh > H or sw * (Wo - 1) + Kw > W:
        raise ValueError(f"im2col: {Ho}×{Wo} windows of {Kh}×{Kw} at stride {(sh, sw)} do not fit in {H}×{W}.")
    Mh, Mw = Ho + (Kh - 1) // sh, Wo + (Kw - 1) // sw  # positions per phase that taps reach
    Hp, Wp = Mh * sh, Mw * sw
    # Crop (rows no window reads) or zero-pad (rows past the end that only padding taps reach)
    # to whole phases, then split each axis into (position, phase): a free reshape.
    x = jnp.pad(x[:, :Hp, :Wp], ((0, 0), (0, max(0, Hp - H)), (0, max(0, Wp - W)), (0, 0)))
    x = x.reshape(N, Mh, sh, Mw, sw, C)
    phases = [[p.reshape(N, Mh, Mw, C) for p in _split(row, 4)] for row in _split(x, 2)]
    taps = [
        phases[rh % sh][rw % sw][:, rh // sh : rh // sh + Ho, rw // sw : rw // sw + Wo]
        for rh in range(Kh)
        for rw in range(Kw)
    ]
    return jnp.stack(taps, axis=3).reshape(N, Ho, Wo, Kh, Kw, C)


def col2im(cols: jax.Array, strides, out_hw) -> jax.Array:
    """cols (N, H, W, K_h, K_w, C) -> y (N, L_h, L_w, C), the adjoint of `im2col`."""
    N, H, W, Kh, Kw, C = cols.shape
    (sh, sw), (Lh, Lw) = as_pair(strides), tuple(out_hw)
    Mh, Mw = -(-Lh // sh), -(-Lw // sw)  # positions per phase
    if Mh < H + (Kh - 1) // sh or Mw < W + (Kw - 1) // sw:
        raise ValueError(f"col2im: {H}×{W} windows of {Kh}×{Kw} at stride {(sh, sw)} do not fit in {Lh}×{Lw}.")
    taps = _split(cols.reshape(N, H, W, Kh * Kw, C), 3)
    zero = jnp.zeros((), cols.dtype)
    rows = []
    for ph in range(sh):
        row = []
        for pw in range(sw):
            acc = None
            for qh in range(max(0, -(-(Kh - ph) // sh))):
                for qw in range(max(0, -(-(Kw - pw) // sw))):
                    t = taps[(ph + sh * qh) * Kw + pw + sw * qw].reshape(N, H, W, C)
                    t = lax.pad(t, zero, ((0, 0, 0), (qh, Mh - H - qh, 0), (qw, Mw - W - qw, 0), (0, 0, 0)))
                    acc = t if acc is None else acc + t
            row.append(jnp.zeros((N, Mh, Mw, C), cols.dtype) if acc is None else acc)  # stride > kernel
        rows.append(jnp.stack(row, axis=3))  # (N, Mh, Mw, sw, C)
    y = jnp.stack(rows, axis=2)  # (N, Mh, sh, Mw, sw, C)
    return y.reshape(N, Mh * sh, Mw * sw, C)[:, :Lh, :Lw, :]
