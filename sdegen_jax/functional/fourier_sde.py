"""The general linear functional SDE of Franzese et al. (seed 003 eq. 3.58, §4.2 eq. 4.4–4.8):
per Fourier mode k, with a time schedule β(t),

    dX^k = −β(t) b_k X^k dt + sqrt(2 β(t) r_k) dW^k,

so that, with B(t) = ∫_0^t β, each mode decays as a_k(t) = e^{−b_k B(t)} and its kernel has
variance s_k(t)² = (r_k / b_k)(1 − e^{−2 b_k B(t)}) (the FDP reference code's
"(r/b)(1 − k_t²)"; stationary law N(0, r_k / b_k)).

`reference_coefficients` gives the reference code's b and r; `ExponentialBeta` its schedule.
Two differences from that code, both deliberate: the prior keeps the mean that remains at T,
N(a(T) x̄, s(T)²) with `prior_mean = x̄` (the reference samples N(0, s(T)²) and ignores it),
and sampling reaches eps (the reference sampler stops one step short).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_less, check_positive
from .diagonal import FourierDiagonalSDE, eigenvalues
from .spectral import frequency_grid, resample, resample_covariance

__all__ = ["ExponentialBeta", "reference_coefficients", "FourierSDE"]


class ExponentialBeta(eqx.Module):
    """β(t) = c0 · c · e^{c t}, B(t) = c0 (e^{c t} − 1), with c = log((β_min + (β_max − β_min)/2)/c0 + 1)
    (the FDP reference code's schedule, `const` = c0): B(1) equals the integral of the linear
    schedule β_min → β_max."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    const: float = 0.02

    def __check_init__(self):
        check_positive("const", self.const)
        check_less("beta_min", self.beta_min, "beta_max", self.beta_max)

    @property
    def c(self):
        return math.log((self.beta_min + (self.beta_max - self.beta_min) / 2) / self.const + 1.0)

    def beta(self, t):
        return self.const * self.c * jnp.exp(self.c * t)

    def integral(self, t):
        return self.const * jnp.expm1(self.c * t)

    def integral_between(self, s, t):
        """B(t) − B(s) = c0 e^{c s} (e^{c (t − s)} − 1), without cancellation."""
        return self.const * jnp.exp(self.c * s) * jnp.expm1(self.c * (t - s))


def reference_coefficients(h: int, w: int, *, freq_scale: float = 1.0, energy_norm: float = 1.0):
    """(b, r) of the FDP reference code on the half-spectrum grid (H, W//2 + 1):

        r_k = 64² / 23.27 / energy_norm / (|κ|² + 2),    b_k = 1/(|κ|² + 0.3) + ((|κ|² + 2)/33²)^{1/4},

    with κ = freq_scale · k (the reference's x_norm / n_rows).  b is largest on the lowest
    modes (they decay fastest) and r falls as 1/|k|²: smooth, coloured noise."""
    K2 = frequency_grid(h, w) * freq_scale**2
    r = 1.0 / (K2 + 2.0) * 64.0**2 / 23.27 / energy_norm
    b = 1.0 / (K2 + 0.3) + ((K2 + 2.0) / 33.0**2) ** 0.25
    return jnp.asarray(b, jnp.float32), jnp.asarray(r, jnp.float32)


class FourierSDE(FourierDiagonalSDE):
    """`FourierSDE(shape, b, r, schedule=ExponentialBeta(), prior_mean=None, T=1.0)`.

    b, r: per-mode drift rates (> 0) and noise variances (> 0) on the half-spectrum grid
    (H, W//2 + 1[, C]) (see `reference_coefficients`); the exact transition is per mode.
    prior_mean: the data mean x̄ (pixel space): the prior is then N(a(T) x̄, s(T)²), the exact
    mean of p_T (None: a zero-mean prior, as the reference code).
    """

    b: jax.Array
    r: jax.Array
    schedule: ExponentialBeta
    prior_mean: jax.Array | None = None
    T: float = eqx.field(default=1.0, kw_only=True)

    def __init__(self, shape, b, r, schedule=None, prior_mean=None, *, T: float = 1.0):
        self._set_common(shape, prior_mean, T)
        self.b, self.r = jnp.asarray(b, jnp.float32), jnp.asarray(r, jnp.float32)
        eigenvalues(self.b, self.shape, validate=True)
        eigenvalues(self.r, self.shape, validate=True)
        self.schedule = ExponentialBeta() if schedule is None else schedule

    @property
    def default_eps(self):
        return 1e-3

    @property
    def default_snr(self):
        return 0.01  # a VP-type SDE

    def _b(self):
        return jnp.broadcast_to(eigenvalues(self.b, self.shape), self.shape)

    def _r(self):
        return jnp.broadcast_to(eigenvalues(self.r, self.shape), self.shape)

    def drift_coeff(self, t):
        return -self.schedule.beta(t) * self._b()

    def diffusion_coeff(self, t):
        return jnp.sqrt(2.0 * self.schedule.beta(t) * self._r())

    def marginal_coeffs(self, t):
        B = self.schedule.integral(jnp.asarray(t, dtype=float))
        b = self._b()
        return jnp.exp(-b * B), jnp.sqrt(self._r() / b * -jnp.expm1(-2.0 * b * B))

    def transition_coeffs(self, s, t):
        dB = self.schedule.integral_between(s, t)
        b = self._b()
        return jnp.exp(-b * dB), jnp.sqrt(self._r() / b * -jnp.expm1(-2.0 * b * dB))

    def langevin_step_scale(self, t, dt):
        return 1.0

    def on_grid(self, hw: tuple[int, int], b, r_beyond) -> "FourierSDE":
        """This SDE on another (H', W') grid, to sample a resolution-free denoiser there (seed 003
        §3.8, §4.1): r carried by `resample_covariance` (so the modes both grids share see the
        noise they saw in training), the modes beyond the old band getting `r_beyond` (a
        half-spectrum array on hw, e.g. (H' W' / H W) · the reference spectrum there); b given on
        hw (per-frequency rates: `reference_coefficients(H', W')[0]`); the prior mean resampled."""
        shape = tuple(hw) + self.shape[2:]
        r = resample_covariance(self.r, self.shape[:2], hw, floor=r_beyond)
        mean = None if self.prior_mean is None else resample(self.prior_mean, hw)
        return FourierSDE(shape, b, r, self.schedule, mean, T=self.T)

    @property
    def prior_std(self):
        return self.marginal_coeffs(self.T)[1]
