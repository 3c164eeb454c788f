"""Exact distributions: Gaussian mixtures with closed-form marginals and scores."""

from .gaussian_mixture import GaussianMixture, MixtureScore
from .targets import grid_mixture, ring_mixture, seed002_mixture

__all__ = ["GaussianMixture", "MixtureScore", "seed002_mixture", "ring_mixture", "grid_mixture"]
