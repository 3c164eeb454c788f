"""Colorization by decoupled imputation (seed 000 §4.1; Song et al. 2021, App. I.3).

An orthogonal map M on the channel axis sends (r, g, b) to (gray, c1, c2) with gray =
(r + g + b)/√3; imputing the gray channel in the decoupled space and mapping back colours a
gray image.  M is orthogonal, so the VE/VP noise stays isotropic in the decoupled space and the
score transforms as s' = M s.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

__all__ = ["decoupling_matrix", "decouple", "couple", "gray_to_decoupled", "colorize"]


def decoupling_matrix() -> np.ndarray:
    """The 3×3 orthogonal M with rows gray = (1, 1, 1)/√3, c1 = (1, −1, 0)/√2, c2 = (1, 1, −2)/√6."""
    return np.array([[1, 1, 1] / np.sqrt(3), [1, -1, 0] / np.sqrt(2), [1, 1, -2] / np.sqrt(6)], np.float32)


def decouple(x):
    """RGB images (..., 3) → (gray·√3, c1, c2) coordinates (..., 3)."""
    return jnp.einsum("ij,...j->...i", decoupling_matrix(), x)


def couple(y):
    """The inverse of `decouple` (Mᵀ, since M is orthogonal)."""
    return jnp.einsum("ji,...j->...i", decoupling_matrix(), y)


def gray_to_decoupled(gray):
    """A gray image (..., 1) with values v = (r + g + b)/3 → its known first decoupled channel √3·v."""
    return math.sqrt(3.0) * jnp.asarray(gray)


def colorize(key, sde, score_fn, gray, **impute_kwargs):
    """Colour gray images (n, H, W, 1) under an RGB score `score_fn(x (H, W, 3), t)`: imputation
    of the gray channel in the decoupled space (`impute` keyword arguments pass through).
    Returns (RGB images (n, H, W, 3), SampleInfo)."""
    from .imputation import impute

    gray = jnp.asarray(gray, jnp.float32)
    known = jnp.concatenate([gray_to_decoupled(gray), jnp.zeros(gray.shape[:-1] + (2,), gray.dtype)], axis=-1)
    mask = jnp.concatenate([jnp.ones_like(gray), jnp.zeros(gray.shape[:-1] + (2,), gray.dtype)], axis=-1)
    decoupled_score = lambda y, t: decouple(score_fn(couple(y), t))
    y, info = impute(key, sde, decoupled_score, known, mask, **impute_kwargs)
    return couple(y), info
