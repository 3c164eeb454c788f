"""Fréchet distance between Gaussians fitted to features, and the MNIST classifier-FID.

    FD = ‖μ₁ − μ₂‖² + tr(C₁) + tr(C₂) − 2 tr((C₁^{1/2} C₂ C₁^{1/2})^{1/2})

(Heusel et al. 2017; tr((C₁C₂)^{1/2}) equals the last trace because C₁C₂ is similar to the
symmetric PSD matrix C₁^{1/2} C₂ C₁^{1/2}.) Computed in float64 with two symmetric
eigendecompositions — no scipy, no complex round-off from a non-symmetric `sqrtm`.

`classifier_fid` uses the 84-d penultimate features of the project's MNIST classifier. It is
NOT comparable to published (Inception) FID numbers: different network, feature dimension and
training data. Like every FID it is biased upwards for finite samples, so compare only values
computed with the same number of samples. True Inception FID needs user-supplied weights:
`sdegen_jax.metrics.inception.inception_fid` (docs/metrics.md).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "trace_sqrt_product",
    "frechet_distance",
    "feature_statistics",
    "fid_from_features",
    "classifier_fid",
]


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues → 0)."""
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(cov1, cov2) -> float:
    """tr((C₁ C₂)^{1/2}) = Σ sqrt(eig(C₁^{1/2} C₂ C₁^{1/2})) for symmetric PSD C₁, C₂."""
    s1 = _psd_sqrt(np.asarray(cov1, np.float64))
    m = s1 @ np.asarray(cov2, np.float64) @ s1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sum(np.sqrt(np.clip(w, 0.0, None))))


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Squared 2-Wasserstein distance between N(mu1, cov1) and N(mu2, cov2) (≥ 0, float64)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(
            f"inconsistent shapes: mu1 {mu1.shape}, cov1 {cov1.shape}, mu2 {mu2.shape}, cov2 {cov2.shape}; "
            "expected (d,), (d, d), (d,), (d, d)."
        )
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt_product(cov1, cov2)
    # The exact value is ≥ 0; tiny negative values are round-off.
    return float(max(fd, 0.0))


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), unbiased covariance (d, d)) of features (N, d), in float64."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"expected features of shape (N, d) with N ≥ 2, got {f.shape}.")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def fid_from_features(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets."""
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def classifier_fid(images_a, images_b, classifier=None, scale: str = "unit", batch_size: int = 500) -> float:
    """FID in the penultimate (84-d) feature space of the MNIST classifier.

    images_*: (N, 28, 28[, 1]) or (N, 32, 32[, 1]) in [0, 1] (`scale="unit"`) or [−1, 1]
    (`scale="symmetric"`). classifier: an `MNISTClassifier`, a weights directory, or None for
    the packaged weights. Not comparable to Inception FID (module docstring).
    """
    from .classifier import _resolve

    clf = _resolve(classifier)
    return fid_from_features(clf.features(images_a, scale, batch_size), clf.features(images_b, scale, batch_size))
