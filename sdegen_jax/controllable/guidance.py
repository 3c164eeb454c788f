"""Conditional generation by guidance (seed 000 eq. 4.4; Song et al. 2021 §5, App. I.1):

    ∇ log p_t(x | y) = ∇ log p_t(x) + ∇ log p_t(y | x),

with p_t(y | x) the likelihood of the condition y given the noised sample: a time-dependent
classifier for class-conditional generation, or the likelihood of observed coordinates
p(x_0[known] = y | x_t) for inpainting (exact for the Gaussian mixtures of `sg.toy`, where it
makes imputation exact, unlike the replacement method of `impute`).  `scale` multiplies the
likelihood term (1: the conditional score of eq. 4.4; > 1 sharpens it).  The result is an
ordinary per-sample `score_fn(x, t)`, so every sampler of `sg.sample` runs it.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = [
    "GuidedScore",
    "ClassLogLikelihood",
    "class_conditional_score",
    "mixture_class_log_probs",
]


class GuidedScore(eqx.Module):
    """score_fn(x, t) + scale · ∇_x log_likelihood(x, t), where `log_likelihood(x, t)` is the
    scalar log p_t(y | x) of the fixed condition y for ONE sample x."""

    score_fn: Callable
    log_likelihood: Callable
    scale: float = 1.0

    def __call__(self, x, t):
        return self.score_fn(x, t) + self.scale * jax.grad(self.log_likelihood)(x, t)


class ClassLogLikelihood(eqx.Module):
    """log p_t(label | x) from a classifier `class_log_probs(x, t)` over the classes."""

    class_log_probs: Callable
    label: jax.Array

    def __call__(self, x, t):
        return self.class_log_probs(x, t)[self.label]


def class_conditional_score(score_fn, class_log_probs, label, scale: float = 1.0) -> GuidedScore:
    """The guided per-sample score for class `label` (eq. 4.4), where `class_log_probs(x, t)`
    returns log p_t(· | x) over the classes for ONE sample."""
    return GuidedScore(score_fn, ClassLogLikelihood(class_log_probs, jnp.asarray(label, jnp.int32)), scale)


def mixture_class_log_probs(gmm, sde):
    """The exact p_t(component | x) of a Gaussian mixture under a linear SDE: the classifier
    for which guidance at scale 1 samples exactly one component (tests, demonstrations)."""
    def log_probs(x, t):
        logits = gmm.marginal(sde, t).component_log_probs(x)
        return logits - jax.scipy.special.logsumexp(logits)

    return log_probs
