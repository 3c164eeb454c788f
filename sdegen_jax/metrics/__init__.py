"""Distances between samples and exact distributions; MNIST sample-quality metrics.

- Wasserstein distances to exact mixtures (wasserstein.py).
- classifier-FID / classifier-IS with the project's MNIST classifier (classifier.py, fid.py,
  inception_score.py). NOT comparable to published Inception FID/IS (docs/metrics.md).
- True Inception FID/IS from a user-supplied weights file (the inception/ package; exported
  here as `inception_fid` and `inception_is`).
- Reconstruction error, defined once for every model (reconstruction.py).
- Samplers measured against exact Gaussian-mixture targets (sampler_suite.py).
- Shared by the image metrics: pixel scales (pixels.py), fixed-size batching (batching.py).

Figures (image grids, curves) live in `sdegen_jax.plots`. The Flax-based parts (classifier,
inception) are imported on first use, so `import sdegen_jax.metrics` does not load Flax.
"""

import importlib

from .fid import classifier_fid, feature_statistics, fid_from_features, frechet_distance
from .inception_score import classifier_inception_score, inception_score_from_probs, probs_from_logits
from .reconstruction import (
    ODEReconstruction,
    nearest_sample_error,
    ode_encode,
    ode_reconstruction,
    reconstruction_error,
)
from .sampler_suite import Evaluation, evaluate_sampler, exact_sample_w1, exact_w1_1d, prior_mixture
from .wasserstein import (
    expected_w1_noise_floor,
    sliced_wasserstein1_to_mixture,
    wasserstein1_to_cdf,
    wasserstein1_to_mixture,
)

_LAZY = {
    "MNISTClassifier": "classifier",
    "load_classifier": "classifier",
    "classifier_features": ("classifier", "features"),
    "classifier_probs": ("classifier", "probs"),
    "inception_fid": "inception",
    # The package attribute `inception_score` is the classifier-IS submodule, so the Inception
    # score from user-supplied weights is exported as `inception_is`.
    "inception_is": ("inception", "inception_score"),
    "load_inception": "inception",
}

__all__ = [
    "evaluate_sampler",
    "nearest_sample_error",
    "Evaluation",
    "exact_sample_w1",
    "exact_w1_1d",
    "prior_mixture",
    "wasserstein1_to_cdf",
    "wasserstein1_to_mixture",
    "sliced_wasserstein1_to_mixture",
    "expected_w1_noise_floor",
    "frechet_distance",
    "feature_statistics",
    "fid_from_features",
    "classifier_fid",
    "classifier_inception_score",
    "inception_score_from_probs",
    "probs_from_logits",
    "reconstruction_error",
    "ode_encode",
    "ode_reconstruction",
    "ODEReconstruction",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name] if isinstance(_LAZY[name], tuple) else (_LAZY[name], name)
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
