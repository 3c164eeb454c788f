"""Inception score IS = exp E_x KL(p(y|x) ‖ p(y)) (Salimans et al. 2016), here with the
project's MNIST classifier in place of Inception.

For MNIST the classifier-IS lies in [1, 10]: ≈ 10 when samples are confidently classified and
the 10 digits are equally frequent, 1 when every sample gets the same class distribution. It is
NOT comparable to published Inception scores (a different network with 1008 ImageNet classes);
`sdegen_jax.metrics.inception.inception_score` computes the true Inception score from
user-supplied weights.
"""

from __future__ import annotations

import numpy as np

__all__ = ["probs_from_logits", "inception_score_from_probs", "classifier_inception_score"]


def probs_from_logits(logits) -> np.ndarray:
    """Softmax p(y|x) of logits (N, K) in float64, shifted by each row's maximum (no overflow)."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def inception_score_from_probs(probs, splits: int = 1) -> tuple[float, float]:
    """(mean, std over `splits` equal parts) of exp E KL(p(y|x) ‖ p(y)) from probs (N, K).

    p(y) is the mean of p(y|x) within each part (the usual convention); std is 0 for splits=1.
    """
    p = np.asarray(probs, np.float64)
    if p.ndim != 2:
        raise ValueError(f"expected class probabilities of shape (N, K), got {p.shape}.")
    if not 1 <= splits <= p.shape[0]:
        raise ValueError(f"splits must be between 1 and the number of samples {p.shape[0]}, got {splits}.")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        # p log p with the convention 0 log 0 = 0.
        kl = np.sum(part * (np.log(np.where(part > 0, part, 1.0)) - np.log(np.where(part > 0, py, 1.0))), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def classifier_inception_score(
    images, classifier=None, splits: int = 1, scale: str = "unit", batch_size: int = 500
) -> float:
    """Classifier-IS of MNIST images (mean over `splits` parts); in [1, 10].

    images: (N, 28, 28[, 1]) or (N, 32, 32[, 1]) in [0, 1] (`scale="unit"`) or [−1, 1]
    (`scale="symmetric"`). classifier: an `MNISTClassifier`, a weights directory, or None for
    the packaged weights. For the spread over splits use `inception_score_from_probs`.
    """
    from .classifier import _resolve

    return inception_score_from_probs(_resolve(classifier).probs(images, scale, batch_size), splits)[0]
