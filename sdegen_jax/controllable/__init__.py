"""Controllable generation with an unconditional score (seed 000 §4.1): class-conditional
guidance, imputation/inpainting, and colorization by decoupled imputation.  Pure functions of
a per-sample `score_fn(x, t)`; no Flax."""

from .colorization import colorize, couple, decouple, decoupling_matrix, gray_to_decoupled
from .guidance import GuidedScore, class_conditional_score, mixture_class_log_probs
from .imputation import Imputation, impute

__all__ = [
    "impute",
    "Imputation",
    "class_conditional_score",
    "GuidedScore",
    "mixture_class_log_probs",
    "colorize",
    "decouple",
    "couple",
    "decoupling_matrix",
    "gray_to_decoupled",
]
