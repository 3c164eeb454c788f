"""Class-conditional generation by guidance (seed 000 eq. 4.4; Song et al. 2021 §5, App. I.1):

    ∇ log p_t(x | y) = ∇ log p_t(x) + ∇ log p_t(y | x),

with p_t(y | x) a time-dependent classifier of noised data.  `scale` multiplies the classifier
term (1: the conditional score of eq. 4.4; > 1 sharpens it).  The result is an ordinary
per-sample `score_fn(x, t)`, so every sampler of `sg.sample` runs it.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp


class GuidedScore(eqx.Module):
    """score_fn(x, t) + scale · ∇_x log p_t(y | x) for the fixed class `label`, where
    `class_log_probs(x, t)` returns log p_t(· | x) over the classes for ONE sample."""

    score_fn: Callable
    class_log_probs: Callable
    label: jax.Array
    scale: float = 1.0

    def __call__(self, x, t):
        grad = jax.grad(lambda z: self.class_log_probs(z, t)[self.label])(x)
        return self.score_fn(x, t) + self.scale * grad


def class_conditional_score(score_fn, class_log_probs, label, scale: float = 1.0) -> GuidedScore:
    """The guided per-sample score for class `label` (eq. 4.4)."""
    return GuidedScore(score_fn, class_log_probs, jnp.asarray(label, jnp.int32), scale)


def mixture_class_log_probs(gmm, sde):
    """The exact p_t(component | x) of a Gaussian mixture under a linear SDE: the classifier
    for which guidance at scale 1 samples exactly one component (tests, demonstrations)."""
    def log_probs(x, t):
        logits = gmm.marginal(sde, t).component_log_probs(x)
        return logits - jax.scipy.special.logsumexp(logits)

    return log_probs
