"""Stationary Gaussian random fields: the exact target of the functional SDEs.

A zero-mean field with spectrum P (E|F(x)_k|² = P_k per mode, the half-spectrum grid) pushed
through any Fourier-diagonal linear SDE stays Gaussian with per-mode variance a_k² P_k + s_k²;
its score and its posterior mean are then per-mode linear maps, the latter a Wiener filter:

    E[X_0 | x_t = x]^k = a_k P_k / (a_k² P_k + s_k²) x^k   (driftless: P_k / (P_k + t r_k) x^k).

So every functional sampler can be checked against exact spectra without training anything.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .diagonal import check_shape, eigenvalues
from .spectral import colored_noise, hartley2

__all__ = ["GaussianField", "FieldScore", "FieldDenoiser"]


class GaussianField(eqx.Module):
    """N(0, F⁻¹ diag(P) F) on samples of `shape` (H, W[, C]); `spectrum` on the half-spectrum grid."""

    spectrum: jax.Array
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, spectrum, shape):
        self.shape = check_shape(shape)
        self.spectrum = jnp.asarray(spectrum, jnp.float32)
        eigenvalues(self.spectrum, self.shape, validate=True)

    def _p(self):
        return jnp.broadcast_to(eigenvalues(self.spectrum, self.shape), self.shape)

    def sample(self, key, n: int) -> jax.Array:
        """n samples (n, *shape), drawn in Fourier space."""
        return jax.vmap(lambda k: colored_noise(k, self.spectrum, self.shape))(jax.random.split(key, n))

    def _state_variance(self, sde, t):
        a, s = sde.marginal_coeffs(t)
        return a, a**2 * self._p() + s**2

    def score_fn(self, sde) -> "FieldScore":
        """The exact per-sample ∇ log p_t(x) under `sde` (pixel space)."""
        return FieldScore(self, sde)

    def denoiser(self, sde) -> "FieldDenoiser":
        """The exact E[X_0 | X_t = x] (the per-mode Wiener filter) under `sde`."""
        return FieldDenoiser(self, sde)

    def empirical_spectrum(self, samples) -> jax.Array:
        """Mean |F(x)|² of (n, *shape) samples per half-spectrum mode (no mean removed)."""
        from .spectral import rfft2

        return jnp.mean(jnp.abs(jax.vmap(rfft2)(jnp.asarray(samples))) ** 2, axis=0)


class FieldScore(eqx.Module):
    field: GaussianField
    sde: eqx.Module

    def __call__(self, x, t):
        _, var = self.field._state_variance(self.sde, t)
        return hartley2(-hartley2(x) / var)


class FieldDenoiser(eqx.Module):
    field: GaussianField
    sde: eqx.Module

    def __call__(self, x, t):
        a, var = self.field._state_variance(self.sde, t)
        return hartley2(a * self.field._p() / var * hartley2(x))
