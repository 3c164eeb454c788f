"""Samplers for reverse-time SDEs, the probability-flow ODE and Langevin dynamics."""

from .api import METHODS, SampleInfo, sample, sample_with_info
from .diffrax_sde import SDE_SOLVERS, solve_sde
from .langevin import annealed_langevin, langevin
from .ode import integrate_flow, probability_flow_ode
from .predictor_corrector import predictor_corrector
from .predictors import ancestral_predictor, euler_maruyama_predictor, langevin_corrector, reverse_diffusion_predictor

__all__ = [
    "METHODS",
    "SampleInfo",
    "sample",
    "sample_with_info",
    "solve_sde",
    "SDE_SOLVERS",
    "langevin",
    "annealed_langevin",
    "integrate_flow",
    "probability_flow_ode",
    "predictor_corrector",
    "euler_maruyama_predictor",
    "reverse_diffusion_predictor",
    "ancestral_predictor",
    "langevin_corrector",
]
