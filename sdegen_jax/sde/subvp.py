"""Sub-VP SDE (Song et al. 2021, eq. 29): variance bounded by the VP SDE's.

dx = −½ β(t) x dt + sqrt(β(t)(1 − e^{−2B(t)})) dw;  kernel N(x_0 e^{−½B}, (1 − e^{−B})²).
"""

from __future__ import annotations

import jax.numpy as jnp

from .base import LinearSDE, check_time_horizon
from .vp import _check_betas


class SubVPSDE(LinearSDE):
    beta_min: float = 0.1
    beta_max: float = 20.0
    T: float = 1.0

    def __check_init__(self):
        _check_betas(self.beta_min, self.beta_max)
        check_time_horizon(self.T)

    @property
    def default_eps(self):
        return 1e-3

    def beta(self, t):
        return self.beta_min + t / self.T * (self.beta_max - self.beta_min)

    def integrated_beta(self, t):
        return self.beta_min * t + 0.5 * t**2 / self.T * (self.beta_max - self.beta_min)

    def langevin_step_scale(self, t, dt):
        return 1.0 - self.beta(t) * dt

    def drift_coeff(self, t):
        return -0.5 * self.beta(t)

    def diffusion_coeff(self, t):
        return jnp.sqrt(self.beta(t) * -jnp.expm1(-2.0 * self.integrated_beta(t)))

    def marginal_coeffs(self, t):
        B = self.integrated_beta(t)
        return jnp.exp(-0.5 * B), -jnp.expm1(-B)

    @property
    def prior_std(self):
        return 1.0
