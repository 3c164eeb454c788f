"""Inception FID and IS of image sets with the FID InceptionV3, preprocessed as pytorch-fid does:
grayscale repeated to RGB, bilinear resize to 299×299 (half-pixel centers, torch's
align_corners=False, no antialiasing), pixels mapped to [−1, 1]. FID (Heusel et al. 2017) uses
the 2048-d pool3 features, IS (Salimans et al. 2016) the softmax of the 1008 logits."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..batching import apply_in_batches
from ..fid import fid_from_features
from ..inception_score import inception_score_from_probs, probs_from_logits
from ..pixels import to_unit_nhwc
from .network import INPUT_SIZE
from .weights import resolve_inception

__all__ = ["preprocess", "inception_outputs", "inception_fid", "inception_score"]


def preprocess(images, scale: str = "unit") -> jax.Array:
    """(N, H, W[, C]) images in [0, 1] ("unit") or [−1, 1] ("symmetric"), C ∈ {1, 3} →
    (N, 299, 299, 3) in [−1, 1], resized bilinearly (half-pixel centers, no antialiasing)."""
    x = to_unit_nhwc(jnp.asarray(images, jnp.float32), scale)
    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    x = jax.image.resize(x, (x.shape[0], INPUT_SIZE, INPUT_SIZE, 3), method="bilinear", antialias=False)
    return 2.0 * x - 1.0


@functools.partial(jax.jit, static_argnums=(0, 3))
def _forward(graphdef, state, images, scale):
    return nnx.merge(graphdef, state)(preprocess(images, scale))


def inception_outputs(images, weights_path=None, scale: str = "unit", batch_size: int = 50, model=None):
    """(pool3 features (N, 2048), logits (N, 1008)) as float32 numpy arrays.

    model: an already loaded (graphdef, state) from `load_inception`, to skip reading the file.
    Batches of exactly `batch_size` images (`apply_in_batches`): one compilation serves any N.
    """
    graphdef, state = resolve_inception(weights_path, model)
    return apply_in_batches(lambda xb: _forward(graphdef, state, xb, scale), np.asarray(images), batch_size)


def inception_fid(images_a, images_b, weights_path=None, scale: str = "unit", batch_size: int = 50, model=None) -> float:
    """Inception FID (pool3, 2048-d) between two image sets, with user-supplied weights."""
    model = resolve_inception(weights_path, model)
    fa = inception_outputs(images_a, scale=scale, batch_size=batch_size, model=model)[0]
    fb = inception_outputs(images_b, scale=scale, batch_size=batch_size, model=model)[0]
    return fid_from_features(fa, fb)


def inception_score(images, weights_path=None, splits: int = 10, scale: str = "unit", batch_size: int = 50, model=None):
    """Inception score (mean, std over `splits`) from the softmax of the 1008 logits."""
    logits = inception_outputs(images, weights_path, scale, batch_size, model)[1]
    return inception_score_from_probs(probs_from_logits(logits), splits)
