"""Toy distributions: Gaussian mixtures with closed-form marginals and scores under any linear
SDE (the exact targets every sampler is checked against), and 2-D samplers without them."""

from .gaussian_mixture import GaussianMixture, MixtureScore, ObservationLogLikelihood, StaticScore
from .sampled2d import TOY2D, checkerboard, swiss_roll, two_moons
from .targets import grid_mixture, ring_mixture, seed002_mixture

__all__ = [
    "GaussianMixture",
    "MixtureScore",
    "StaticScore",
    "ObservationLogLikelihood",
    "seed002_mixture",
    "ring_mixture",
    "grid_mixture",
    "two_moons",
    "checkerboard",
    "swiss_roll",
    "TOY2D",
]
