"""From an x0-denoiser to a score, for any linear SDE (seed 003 eq. 3.63–3.64, 4.18, 4.33).

With x_t = a(t) x_0 + s(t) z per coordinate of the SDE's state, the score of p_t is
∇ log p_t(x) = −(x − a(t) E[X_0 | x_t = x]) / s(t)²; for the driftless SDE (a = 1,
s² = t R) the reverse drift R ∇ log p_t is −(x − E[X_0 | x])/t (eq. 4.26).
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax

__all__ = ["Denoiser", "DenoiserScore", "score_from_denoiser"]

Denoiser = Callable[[jax.Array, jax.Array], jax.Array]


class DenoiserScore(eqx.Module):
    """score_fn(x, t) of one pixel-space sample from `denoiser(x, t) ≈ E[X_0 | X_t = x]`.

    Computed in the SDE's state coordinates and returned in pixel space, so it plugs into
    `sg.sample` like any score.  A pytree: the SDE and the denoiser are its fields."""

    sde: eqx.Module
    denoiser: Denoiser

    def __call__(self, x, t):
        a, s = self.sde.marginal_coeffs(t)
        y, y0 = self.sde.to_state(x), self.sde.to_state(self.denoiser(x, t))
        return self.sde.from_state(-(y - a * y0) / s**2)


def score_from_denoiser(sde, denoiser: Denoiser) -> DenoiserScore:
    """The score of `sde`'s marginals implied by an x0-denoiser (Tweedie's formula inverted)."""
    if not hasattr(sde, "marginal_coeffs"):
        raise ValueError("score_from_denoiser needs an SDE with a closed-form Gaussian kernel (marginal_coeffs).")
    return DenoiserScore(sde, denoiser)
