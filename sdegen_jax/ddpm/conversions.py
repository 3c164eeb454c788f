"""A DDPM ε-network and a VP-SDE score network are one function (no retraining):
ε(x, i) = −sqrt(1 − ᾱ_i) ∇ log p_{t_i}(x) with t_i = i/N (`sg.losses.parametrisations`)."""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax.numpy as jnp

from ..losses.parametrisations import eps_to_score, score_to_eps
from .schedule import DDPMSchedule

__all__ = ["EpsFromScore", "ScoreFromEps"]


class EpsFromScore(eqx.Module):
    """Per-sample ε(x, i) of a per-sample VP score_fn(x, t), at t_i = i/N."""

    schedule: DDPMSchedule
    score_fn: Callable

    def __call__(self, x, i):
        _, s = self.schedule.marginal_coeffs(i)
        return score_to_eps(self.score_fn(x, self.schedule.vp_time(i)), s)


class ScoreFromEps(eqx.Module):
    """Per-sample score_fn(x, t) of a per-sample ε-network eps_fn(x, i), at the step i = round(t N)
    (clipped to 1..N): usable by every continuous-time sampler on the matching VP SDE."""

    schedule: DDPMSchedule
    eps_fn: Callable

    def __call__(self, x, t):
        i = jnp.clip(jnp.round(t * self.schedule.num_steps), 1, self.schedule.num_steps).astype(jnp.int32)
        _, s = self.schedule.marginal_coeffs(i)
        return eps_to_score(self.eps_fn(x, i), s)
