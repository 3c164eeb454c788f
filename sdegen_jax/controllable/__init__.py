"""Controllable generation with an unconditional score (seed 000 §4.1): guidance by a
likelihood p_t(y | x) (class-conditional, or exact inpainting of the toy mixtures), imputation
by replacement, and colorization by decoupled imputation.  Pure functions of
a per-sample `score_fn(x, t)`; no Flax."""

from .colorization import colorize, couple, decouple, decoupling_matrix, gray_to_decoupled
from .guidance import ClassLogLikelihood, GuidedScore, class_conditional_score, mixture_class_log_probs
from .imputation import Imputation, impute

__all__ = [
    "impute",
    "Imputation",
    "class_conditional_score",
    "GuidedScore",
    "ClassLogLikelihood",
    "mixture_class_log_probs",
    "colorize",
    "decouple",
    "couple",
    "decoupling_matrix",
    "gray_to_decoupled",
]
