"""Distances between samples and exact distributions."""

from .wasserstein import (
    expected_w1_noise_floor,
    sliced_wasserstein1_to_mixture,
    wasserstein1_to_cdf,
    wasserstein1_to_mixture,
)

__all__ = [
    "wasserstein1_to_cdf",
    "wasserstein1_to_mixture",
    "sliced_wasserstein1_to_mixture",
    "expected_w1_noise_floor",
]
