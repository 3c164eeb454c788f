"""The machinery shared by SDEs that are diagonal in the Fourier basis of a pixel grid.

Such an SDE is written in Hartley coordinates y = `hartley2`(x) (orthonormal, real,
self-inverse), where a covariance r_k = r_{−k} is diagonal with eigenvalue r_k on coordinate
k: every mode is then an independent scalar linear SDE, and `LinearSDE`'s per-coordinate
formulas (a(t), s(t), exact transitions, Tweedie, ancestral steps) hold with array
coefficients.  `to_state` / `from_state` carry pixel-space samples in and out; `sample()`
and the losses call them, so scores, denoisers and results stay in pixel space.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_time_horizon
from ..sde.base import LinearSDE
from .spectral import check_covariance, full_spectrum, hartley2

__all__ = ["check_shape", "eigenvalues", "FourierDiagonalSDE"]


def check_shape(shape) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or min(shape[:2]) < 2:
        raise ValueError(f"shape must be one sample's (H, W) or (H, W, C) with H, W >= 2, got {shape}.")
    return shape


def eigenvalues(covariance, shape, validate: bool = False) -> jax.Array:
    """Per-coordinate variances in Hartley coordinates, broadcastable to `shape`, from a
    half-spectrum covariance (H, W//2 + 1[, C]); None (R = I) gives 1.  `validate` checks the
    shape and positivity (the constructors do; methods under jit skip it)."""
    if covariance is None:
        return jnp.ones(())
    if validate:
        check_covariance(covariance, shape[:2])
    lam = full_spectrum(jnp.asarray(covariance, jnp.float32), shape[:2])
    if len(shape) == 3 and lam.ndim == 2:
        lam = lam[..., None]
    return lam


class FourierDiagonalSDE(LinearSDE):
    """A `LinearSDE` in the Hartley coordinates of samples of `shape`; subclasses give the
    per-coordinate coefficients.  The prior N(m_T, diag(s(T)²)) is sampled and scored in pixel
    space, with m_T = a(T) · `prior_mean` in state coordinates."""

    shape: tuple[int, ...] = eqx.field(static=True)

    def _set_common(self, shape, prior_mean, T):
        """Validate and set the fields every Fourier-diagonal SDE has (shape, prior_mean, T)."""
        self.shape = check_shape(shape)
        if prior_mean is not None and jnp.shape(prior_mean) != self.shape:
            raise ValueError(f"prior_mean must be one sample of shape {self.shape}, got {jnp.shape(prior_mean)}.")
        self.prior_mean = None if prior_mean is None else jnp.asarray(prior_mean, jnp.float32)
        check_time_horizon(T)
        self.T = T

    def to_state(self, x):
        return hartley2(x)

    def from_state(self, y):
        return hartley2(y)

    def _prior_mean_state(self):
        mean = getattr(self, "prior_mean", None)
        if mean is None:
            return 0.0
        return self.marginal_coeffs(self.T)[0] * self.to_state(jnp.asarray(mean, jnp.float32))

    def prior_sample(self, key, shape):
        if tuple(shape[-len(self.shape):]) != self.shape:
            raise ValueError(f"this SDE is defined on samples of shape {self.shape}; asked for {tuple(shape)}.")
        z = jax.random.normal(key, tuple(shape))
        y = self._prior_mean_state() + jnp.broadcast_to(self.prior_std, self.shape) * z
        batch = len(shape) - len(self.shape)
        f = self.from_state
        for _ in range(batch):
            f = jax.vmap(f)
        return f(y)

    def prior_logp(self, x):
        y = self.to_state(x) - self._prior_mean_state()
        var = jnp.broadcast_to(self.prior_std, self.shape) ** 2
        return -0.5 * jnp.sum(y**2 / var) - 0.5 * jnp.sum(jnp.log(2 * jnp.pi * var))
