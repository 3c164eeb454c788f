"""Pluggable coefficients of the FBSDE (seed 000 eq. 3.8 / 4.5), as pure per-sample functions.

Forward process dx = b(t, x) dt + σ(t, x) dw:  `drift(t, x) -> (dim_x,)`,
`diffusion(t, x) -> (dim_x, dim_w)` (`ou_diffusion(dim_w)` / `brownian_diffusion(dim_w)` build them).  Backward generator `generator(t, x, y, z) -> (dim_y,)`
with z of shape (dim_y, dim_w).  The defaults are those of the BSDE-Gen reference code
(Xu 2023): an OU forward process b = −x, σ = √2·I, and f = −y + Σ_j |z_{·,j}|.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

__all__ = [
    "ou_drift",
    "ScaledIdentity",
    "ou_diffusion",
    "brownian_drift",
    "brownian_diffusion",
    "generator_linear_abs_z",
    "generator_neg_abs_y",
    "generator_linear",
    "GENERATORS",
]


def ou_drift(t, x):
    """b(t, x) = −x (Ornstein–Uhlenbeck; with σ = √2·I its stationary law is N(0, I))."""
    return -x


@dataclasses.dataclass(frozen=True)
class ScaledIdentity:
    """σ(t, x) = scale·I of shape (dim_x, dim_w) (a rectangular identity when dim_x ≠ dim_w).
    A frozen dataclass, equal by value, so equal FBSDEs share their compiled code."""

    scale: float
    dim_w: int

    def __call__(self, t, x):
        return self.scale * jnp.eye(x.shape[-1], self.dim_w, dtype=x.dtype)


def ou_diffusion(dim_w: int) -> ScaledIdentity:
    """σ = √2·I, the OU forward process's diffusion (with b = −x its stationary law is N(0, I))."""
    return ScaledIdentity(math.sqrt(2.0), dim_w)


def brownian_drift(t, x):
    """b = 0 (Brownian forward process)."""
    return jnp.zeros_like(x)


def brownian_diffusion(dim_w: int) -> ScaledIdentity:
    """σ = I (dim_x × dim_w)."""
    return ScaledIdentity(1.0, dim_w)


def generator_linear_abs_z(t, x, y, z):
    """f(t, x, y, z) = −y + Σ_j |z_{·,j}| (the reference generator)."""
    return -y + jnp.sum(jnp.abs(z), axis=-1)


def generator_neg_abs_y(t, x, y, z):
    """f = −|y|."""
    return -jnp.abs(y)


def generator_linear(t, x, y, z):
    """f = −y: with z ≡ 0 the Euler scheme gives y_N = y_0 (1 + Δt)^N exactly (→ y_0 e^T)."""
    return -y


GENERATORS = {
    "linear_abs_z": generator_linear_abs_z,
    "neg_abs_y": generator_neg_abs_y,
    "linear": generator_linear,
}
