"""Variance-preserving SDE (DDPM) with a linear β schedule.

dx = −½ β(t) x dt + sqrt(β(t)) dw,  β(t) = β_min + (t/T)(β_max − β_min)   (seed 002 eq. 4.2.25).
Kernel N(x_0 e^{−½B(t)}, 1 − e^{−B(t)}),  B(t) = ∫_0^t β   (seed 002 eq. 4.2.54).
"""

from __future__ import annotations

import jax.numpy as jnp

from .beta_schedule import LinearBetaSDE

__all__ = ["VPSDE"]


class VPSDE(LinearBetaSDE):
    """VP SDE; `discretize` is DDPM's x_k = sqrt(1 − β_k) x_{k−1} + sqrt(β_k) z."""

    def diffusion_coeff(self, t):
        return jnp.sqrt(self.beta(t))

    def marginal_coeffs(self, t):
        B = self.integrated_beta(t)
        return jnp.exp(-0.5 * B), jnp.sqrt(-jnp.expm1(-B))

    def transition_coeffs(self, s, t):
        """(e^{−½ΔB}, sqrt(1 − e^{−ΔB})) with ΔB = B(t) − B(s): exact and well-conditioned."""
        dB = self.integrated_beta_between(s, t)
        return jnp.exp(-0.5 * dB), jnp.sqrt(-jnp.expm1(-dB))

    def discretize(self, x, t, dt):
        """DDPM step with β_k = β(t) dt (seed 002 eq. 4.2.30; Ho et al. 2020)."""
        beta_k = self.beta(t) * dt
        return (jnp.sqrt(1.0 - beta_k) - 1.0) * x, jnp.broadcast_to(jnp.sqrt(beta_k), jnp.shape(x))
