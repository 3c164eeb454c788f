"""The reverse-time SDE and the probability-flow ODE of any forward SDE.

Given dx = f dt + g dw and the score ∇ log p_t:
  reverse SDE   dx = [f − g² ∇ log p_t] dt + g dw̄        (seed 000 eq. 4.2; seed 002 eq. 2.4.19)
  flow ODE      dx = [f − ½ g² ∇ log p_t] dt              (Song et al. 2021, eq. 13)
both run from t = T back to 0.  The diffusion is assumed independent of x (true of
every SDE used for generation here); otherwise a divergence term −∇·(g gᵀ) is missing.

SDE solvers integrate in the reparametrised forward time s = T − t (diffrax issue #598:
SRK solvers are wrong with negative dt0), where the drift changes sign (the adaptive flow
ODE, `samplers.ode.integrate_flow`, lets Diffrax run backwards itself):
  dx/ds = −[f − λ g² score](x, T − s) + g(T − s) dw_s,  λ = 1 (SDE) or ½ (ODE).
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax

from .base import SDE

__all__ = ["ScoreFn", "ReverseSDE", "probability_flow", "tweedie_denoise", "StateScore"]

ScoreFn = Callable[[jax.Array, jax.Array], jax.Array]


class ReverseSDE(eqx.Module):
    """Reverse-time process of `sde` under `score_fn(x, t)` (one sample).

    `probability_flow=True` gives the deterministic ODE with the same marginals.
    """

    sde: SDE
    score_fn: ScoreFn
    probability_flow: bool = eqx.field(default=False, static=True)

    @property
    def T(self):
        return self.sde.T

    def drift(self, x, t):
        """Drift in the original time t (integrate with dt < 0)."""
        g = self.sde.diffusion(x, t)
        weight = 0.5 if self.probability_flow else 1.0
        return self.sde.drift(x, t) - weight * g**2 * self.score_fn(x, t)

    def diffusion(self, x, t):
        g = self.sde.diffusion(x, t)
        return 0.0 * g if self.probability_flow else g

    def drift_in_reversed_time(self, x, s):
        """dx/ds at s = T − t."""
        return -self.drift(x, self.sde.T - s)

    def diffusion_in_reversed_time(self, x, s):
        return self.diffusion(x, self.sde.T - s)


def probability_flow(sde: SDE, score_fn: ScoreFn) -> ReverseSDE:
    """The probability-flow ODE of `sde` as a `ReverseSDE` with zero diffusion."""
    return ReverseSDE(sde, score_fn, probability_flow=True)


def tweedie_denoise(sde, score_fn: ScoreFn, x, t):
    """E[x_0 | x_t] = (x_t + s(t)² ∇ log p_t(x_t)) / a(t) for a linear SDE (Tweedie; seed 004 m0).

    In the SDE's state coordinates (per coordinate when a, s are arrays)."""
    a, s = sde.marginal_coeffs(t)
    return (x + s**2 * score_fn(x, t)) / a


class StateScore(eqx.Module):
    """A pixel-space `score_fn(x, t)` seen in the SDE's state coordinates:
    y ↦ to_state(score_fn(from_state(y), t)), exact because `to_state` is orthonormal.

    Keeps a `batched` form when the wrapped score has one (see `samplers.batching`)."""

    sde: SDE
    score_fn: ScoreFn

    def __call__(self, y, t):
        return self.sde.to_state(self.score_fn(self.sde.from_state(y), t))

    def batched(self, y, t):
        inner = getattr(self.score_fn, "batched", None)
        if inner is None:
            return jax.vmap(self)(y, t)
        return jax.vmap(self.sde.to_state)(inner(jax.vmap(self.sde.from_state)(y), t))
