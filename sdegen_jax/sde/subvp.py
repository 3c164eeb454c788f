"""Sub-VP SDE (Song et al. 2021, eq. 29): variance bounded by the VP SDE's.

dx = −½ β(t) x dt + sqrt(β(t)(1 − e^{−2B(t)})) dw;  kernel N(x_0 e^{−½B}, (1 − e^{−B})²).
"""

from __future__ import annotations

import jax.numpy as jnp

from .beta_schedule import LinearBetaSDE

__all__ = ["SubVPSDE"]


class SubVPSDE(LinearBetaSDE):
    def diffusion_coeff(self, t):
        return jnp.sqrt(self.beta(t) * -jnp.expm1(-2.0 * self.integrated_beta(t)))

    def marginal_coeffs(self, t):
        B = self.integrated_beta(t)
        return jnp.exp(-0.5 * B), -jnp.expm1(-B)
