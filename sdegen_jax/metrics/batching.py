"""Evaluating a network over N images in batches of one fixed size, so that a jit-compiled
`fn` compiles once for every N (the classifier and Inception metrics)."""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["apply_in_batches"]


def apply_in_batches(fn: Callable, images, batch_size: int) -> tuple[np.ndarray, ...]:
    """Concatenated `fn(batch)` over `images` (N, ...) in batches of exactly `batch_size` rows.

    fn: maps a (batch_size, ...) array to a tuple of arrays with batch_size rows each.
    images: a NumPy or JAX array; the last batch is filled up by repeating the last image and
    the filler rows are dropped. Returns a tuple of NumPy arrays with N rows each.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    n = images.shape[0]
    if n == 0:
        raise ValueError("no images given: pass an array of shape (N, ...) with N >= 1.")
    parts = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        idx = np.minimum(np.arange(start, start + batch_size), n - 1)
        parts.append(tuple(np.asarray(out[:m]) for out in fn(images[idx])))
    return tuple(np.concatenate(column) for column in zip(*parts))
