"""Training objectives: pure functions of (key, model or score function, sde, data)."""

from .denoising import (
    WEIGHTINGS,
    denoising_score_matching,
    eps_prediction_loss,
    perturb,
    x0_prediction_loss,
)
from .bsde_mmd import bsde_mmd_loss
from .fourier_x0 import fourier_x0_loss
from .mmd import mmd2, multiscale_kernel, rbf_kernel, rbf_mmd2_gaussians, squared_distances
from .parametrisations import (
    PARAMETRISATIONS,
    eps_to_score,
    eps_to_x0,
    score_to_eps,
    score_to_x0,
    to_score,
    x0_to_eps,
    x0_to_score,
)
from .score_matching import exact_score_matching, sliced_score_matching
from .time_sampling import TIME_SAMPLINGS, sample_times

__all__ = [
    "denoising_score_matching",
    "eps_prediction_loss",
    "x0_prediction_loss",
    "fourier_x0_loss",
    "bsde_mmd_loss",
    "mmd2",
    "multiscale_kernel",
    "rbf_kernel",
    "rbf_mmd2_gaussians",
    "squared_distances",
    "perturb",
    "exact_score_matching",
    "sliced_score_matching",
    "sample_times",
    "eps_to_score",
    "score_to_eps",
    "x0_to_score",
    "score_to_x0",
    "eps_to_x0",
    "x0_to_eps",
    "to_score",
    "WEIGHTINGS",
    "PARAMETRISATIONS",
    "TIME_SAMPLINGS",
]
