"""Pixel transforms on NHWC arrays: zero padding, scaling, uniform dequantisation (pure numpy).

Scales: "unit" maps pixel p ∈ {0..255} to p/255 ∈ [0, 1]; "symmetric" to 2p/255 − 1 ∈ [−1, 1].
Dequantisation replaces p by (p + u)/256 with u ~ U[0, 1) (i.e. (x·255 + u)/256 for x in unit
scale), so values lie in [0, 1) ("unit") or [−1, 1) ("symmetric").
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCALES", "pad_to", "scale_pixels", "to_pixels", "dequantize"]

SCALES = ("unit", "symmetric")


def _check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; expected one of {SCALES}.")


def pad_to(images: np.ndarray, size: int) -> np.ndarray:
    """Zero-pads (N, H, W, C) images symmetrically to (N, size, size, C); 28 → 32 adds 2 px a side.

    Padding happens on raw pixels, so the border is background (0) in either scale.
    """
    n, h, w, c = images.shape
    if size < h or size < w:
        raise ValueError(f"resize={size} is smaller than the images ({h}×{w}); only padding is supported.")
    top, left = (size - h) // 2, (size - w) // 2
    pad = ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0))
    return np.pad(images, pad)


def scale_pixels(pixels: np.ndarray, scale: str = "unit") -> np.ndarray:
    """uint8-valued pixels → float32 in [0, 1] ("unit") or [−1, 1] ("symmetric")."""
    _check_scale(scale)
    x = np.asarray(pixels, np.float32) / np.float32(255.0)
    return x if scale == "unit" else 2.0 * x - 1.0


def to_pixels(x: np.ndarray, scale: str = "unit") -> np.ndarray:
    """Inverse of `scale_pixels`: float images → integer-valued pixels in {0..255} (float32)."""
    _check_scale(scale)
    unit = x if scale == "unit" else (np.asarray(x) + 1.0) / 2.0
    return np.clip(np.rint(np.asarray(unit, np.float32) * 255.0), 0, 255)


def dequantize(x: np.ndarray, rng: np.random.Generator, scale: str = "unit") -> np.ndarray:
    """Uniform dequantisation of scaled images: (pixel + U[0,1)) / 256, back in `scale`."""
    u = rng.random(np.shape(x), dtype=np.float32)
    unit = (to_pixels(x, scale) + u) / np.float32(256.0)
    # float32 rounds 255 + u up to 256 for u within 2^-17 of 1: keep the interval half-open.
    unit = np.minimum(unit, np.nextafter(np.float32(1.0), np.float32(0.0)))
    return (unit if scale == "unit" else 2.0 * unit - 1.0).astype(np.float32)
