"""The driftless functional SDE of seed 003 §4.2.1: dX = dW, Cov(W_t) = t R (eq. 4.13).

R is diagonal in the Fourier basis: identity (R = I, a VE SDE with σ²(t) = t) or estimated
from data, R̂ = E|F(x − x̄)|² per mode (eq. 4.28, `estimate_covariance`).  The kernel is
N(x_0, t R) (eq. 4.17): a(t) = 1 and s_k(t)² = t r_k per mode.  The reverse drift R ∇ log p_t
= −(x − E[X_0 | x])/t (eq. 4.25–4.26) follows from the generic reverse SDE, since g² = R.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_positive
from .diagonal import FourierDiagonalSDE, eigenvalues

__all__ = ["DriftlessSDE"]


class DriftlessSDE(FourierDiagonalSDE):
    """`DriftlessSDE(shape, covariance=None, prior_mean=None, T=1.0)`.

    Args:
      shape: one sample's (H, W) or (H, W, C).
      covariance: R's per-mode variances on the half-spectrum grid of `jnp.fft.rfft2(x,
        norm="ortho")`, shape (H, W//2 + 1[, C]); None means R = I.
      prior_mean: the pixel-space mean of the prior N(prior_mean, T R): give the data mean
        x̄ (with `estimate_covariance(..., remove_mean=True)`, the default), since p_T is the
        data pushed by noise N(0, T R) and keeps its mean; None means 0 (eq. 4.27's
        T → ∞ view, which ignores the mean).
      T: the time horizon (keyword only).  `with_horizon(1.5 * T)` samples from a longer
        horizon (the thesis's ×1.5 at inference).
    """

    covariance: jax.Array | None = None
    prior_mean: jax.Array | None = None
    T: float = eqx.field(default=1.0, kw_only=True)

    def __init__(self, shape, covariance=None, prior_mean=None, *, T: float = 1.0):
        self._set_common(shape, prior_mean, T)
        self.covariance = None if covariance is None else jnp.asarray(covariance, jnp.float32)
        if self.covariance is not None:
            eigenvalues(self.covariance, self.shape, validate=True)

    @property
    def default_eps(self):
        return 1e-3

    @property
    def default_snr(self):
        return 0.16  # a VE-type SDE

    def with_horizon(self, T: float) -> "DriftlessSDE":
        """The same SDE run to another horizon (e.g. 1.5 T at inference, seed 003 §5.3)."""
        check_positive("T", T)
        return DriftlessSDE(self.shape, self.covariance, self.prior_mean, T=T)

    def _r(self):
        return eigenvalues(self.covariance, self.shape)

    def drift_coeff(self, t):
        return jnp.zeros_like(jnp.asarray(t, dtype=float))

    def diffusion_coeff(self, t):
        return jnp.broadcast_to(jnp.sqrt(self._r()), self.shape) * jnp.ones_like(jnp.asarray(t, dtype=float))

    def marginal_coeffs(self, t):
        t = jnp.asarray(t, dtype=float)
        return jnp.ones_like(t), jnp.sqrt(t * jnp.broadcast_to(self._r(), self.shape))

    def transition_coeffs(self, s, t):
        dt = jnp.asarray(t - s, dtype=float)
        return jnp.ones_like(dt), jnp.sqrt(dt * jnp.broadcast_to(self._r(), self.shape))

    @property
    def prior_std(self):
        return jnp.sqrt(self.T * jnp.broadcast_to(self._r(), self.shape))
