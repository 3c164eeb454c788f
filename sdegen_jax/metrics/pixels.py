"""Images in either pixel scale of `sdegen_jax.data` ("unit" [0, 1], "symmetric" [−1, 1]) →
NHWC in [0, 1], the input every image metric and the image grid start from."""

from __future__ import annotations

from ..data.transforms import SCALES

__all__ = ["to_unit_nhwc"]


def to_unit_nhwc(x, scale: str = "unit", channels: tuple[int, ...] = (1, 3), clip: bool = True):
    """(N, H, W) or (N, H, W, C) images with C in `channels` → (N, H, W, C) in [0, 1].

    x: a NumPy or JAX array (also a traced one: works under jit); the result has its type.
    Values outside the scale's range are clipped unless `clip=False`.
    """
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; expected one of {SCALES} ([0, 1] or [−1, 1] pixels).")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in channels:
        shapes = " or ".join(f"(N, H, W, {c})" for c in channels)
        raise ValueError(f"expected images (N, H, W) or {shapes}, got shape {tuple(x.shape)}.")
    if scale == "symmetric":
        x = (x + 1.0) / 2.0
    return x.clip(0.0, 1.0) if clip else x
