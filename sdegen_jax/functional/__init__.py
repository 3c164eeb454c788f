"""Functional diffusion processes in a Fourier basis (seed 003), on `jnp.fft`.

- `spectral`: orthonormal `rfft2`/`irfft2`, the Hartley transform, frequency grids, noise
  drawn in Fourier space, spectral resampling of samples and covariances, `estimate_covariance`.
- `DriftlessSDE` (eq. 4.13, covariance from data) and `FourierSDE` (eq. 3.58, Franzese et al.'s
  parametrisation): linear SDEs diagonal in the Fourier basis, written in Hartley coordinates
  so that every sampler of `sg.samplers` runs them unchanged (`sg.sample` maps pixels in and
  out: scores, denoisers and results stay in pixel space).
- `score_from_denoiser`: the score implied by an x0-denoiser.
- `GaussianField`: stationary Gaussian fields, whose scores and posterior means are exact.
- `DriftlessEuler`: seed 003's Algorithm 3.
"""

from .algorithm3 import DriftlessEuler
from .denoiser import DenoiserScore, score_from_denoiser
from .diagonal import FourierDiagonalSDE
from .driftless import DriftlessSDE
from .fourier_sde import ExponentialBeta, FourierSDE, reference_coefficients
from .gaussian_field import GaussianField
from .spectral import (
    band_mask,
    colored_noise,
    estimate_covariance,
    fourier_noise,
    frequency_grid,
    full_spectrum,
    half_spectrum,
    hartley2,
    irfft2,
    resample,
    resample_covariance,
    rfft2,
    rfft_multiplicity,
    white_noise,
)

__all__ = [
    "rfft2",
    "band_mask",
    "irfft2",
    "hartley2",
    "frequency_grid",
    "rfft_multiplicity",
    "full_spectrum",
    "half_spectrum",
    "colored_noise",
    "white_noise",
    "fourier_noise",
    "resample",
    "resample_covariance",
    "estimate_covariance",
    "FourierDiagonalSDE",
    "DriftlessSDE",
    "FourierSDE",
    "ExponentialBeta",
    "reference_coefficients",
    "score_from_denoiser",
    "DenoiserScore",
    "GaussianField",
    "DriftlessEuler",
]
