"""The linear β schedule shared by the VP and sub-VP SDEs (seed 002 eq. 4.2.25).

β(t) = β_min + (t/T)(β_max − β_min),  B(t) = ∫_0^t β(u) du,  drift −½ β(t) x.
Subclasses give the diffusion coefficient and the marginal coefficients.
"""

from __future__ import annotations

import equinox as eqx

from .._checks import check_less, check_nonnegative, check_time_horizon
from .base import LinearSDE

__all__ = ["check_betas", "LinearBetaSDE"]


def check_betas(beta_min, beta_max):
    check_nonnegative("beta_min", beta_min, "β(t) is a rate; Song et al. use beta_min=0.1.")
    check_less("beta_min", beta_min, "beta_max", beta_max, "The β schedule must increase; try 0.1 and 20.")


class LinearBetaSDE(LinearSDE):
    """Base of the VP-type SDEs: `VPSDE(beta_min, beta_max, T=...)`; drift −½ β(t) x; prior N(0, I)."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    T: float = eqx.field(default=1.0, kw_only=True)

    def __check_init__(self):
        check_betas(self.beta_min, self.beta_max)
        check_time_horizon(self.T)

    @property
    def default_eps(self):
        return 1e-3

    def beta(self, t):
        return self.beta_min + t / self.T * (self.beta_max - self.beta_min)

    def integrated_beta(self, t):
        """B(t) = ∫_0^t β(u) du."""
        return self.beta_min * t + 0.5 * t**2 / self.T * (self.beta_max - self.beta_min)

    def integrated_beta_between(self, s, t):
        """B(t) − B(s) = (t − s)(β_min + ½ (t + s)/T (β_max − β_min)), without cancellation."""
        return (t - s) * (self.beta_min + 0.5 * (t + s) / self.T * (self.beta_max - self.beta_min))

    @property
    def default_snr(self):
        return 0.01

    def langevin_step_scale(self, t, dt):
        return 1.0 - self.beta(t) * dt

    def drift_coeff(self, t):
        return -0.5 * self.beta(t)

    @property
    def prior_std(self):
        return 1.0
