"""EDM's samplers (Karras et al. 2022, Alg. 1 and 2) for any linear SDE with a scalar noise level.

In y = x/a and σ = s/a (see `schedules`) the probability-flow ODE is dy/dσ = (y − D)/σ for every
linear SDE (EDM eq. 4 with s(t) = a(t)), which EDM integrates with Heun's method on its
ρ = 7 σ-schedule: d = (y − D(y, σ))/σ, ỹ = y + (σ' − σ) d, y' = y + (σ' − σ)(d + d̃)/2 with
d̃ = (ỹ − D(ỹ, σ'))/σ'.  Two score evaluations per step; EDM's last step to σ = 0 is Euler,
i.e. the denoiser itself: `sg.sample(..., denoise=True)` with `steps = N` gives EDM's N-point
schedule and its 2N − 1 evaluations.

The stochastic sampler (Alg. 2) first raises the noise level, σ̂ = σ(1 + γ) with
γ = min(S_churn/N, √2 − 1) for σ in [S_min, S_max] (else 0), adding fresh noise of std
S_noise sqrt(σ̂² − σ²), then takes the Heun step from σ̂.  Here σ̂ is capped at σ(T) (the
score is defined on [eps, T] only), and its time is found by bisection.  N in S_churn/N is
the number of steps the sampler takes (with `denoise=True`, one less than `steps`).
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive
from ..sde.reverse import tweedie_denoise
from .base import SampleInfo, StepSampler, run_scan, saved_times
from .batching import map_batch
from .schedules import KarrasSchedule, ScheduledSampler, noise_to_signal, time_at_noise_level

__all__ = ["heun_step", "EDMHeun", "EDMStochastic"]


def heun_step(sde, score_fn, x, t, t_next):
    """One EDM Heun step of the probability-flow ODE for ONE sample, from t to t_next."""
    a, a_next = sde.marginal_coeffs(t)[0], sde.marginal_coeffs(t_next)[0]
    sig, sig_next = noise_to_signal(sde, t), noise_to_signal(sde, t_next)
    y = x / a
    d = (y - tweedie_denoise(sde, score_fn, x, t)) / sig
    y_euler = y + (sig_next - sig) * d
    d_next = (y_euler - tweedie_denoise(sde, score_fn, a_next * y_euler, t_next)) / sig_next
    return a_next * (y + (sig_next - sig) * 0.5 * (d + d_next))


class EDMHeun(StepSampler, ScheduledSampler):
    """EDM's deterministic Heun sampler (Alg. 1) on the grid of `schedule` (default ρ = 7)."""

    schedule: Callable = KarrasSchedule()
    nfe_per_step = 2

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.check_sde(sde)
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def update(self, sde, score_fn, x, z, t, t_next):
        return heun_step(sde, score_fn, x, t, t_next)


class EDMStochastic(StepSampler, ScheduledSampler):
    """EDM's stochastic sampler (Alg. 2).  Defaults: EDM's ImageNet-64 settings S_churn = 40,
    S_min = 0.05, S_max = 50, S_noise = 1.003, on the ρ = 7 schedule."""

    s_churn: float = 40.0
    s_min: float = 0.05
    s_max: float = 50.0
    s_noise: float = 1.003
    schedule: Callable = KarrasSchedule()
    nfe_per_step = 2

    def __check_init__(self):
        check_nonnegative("s_churn", self.s_churn)
        check_positive("s_noise", self.s_noise)

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.check_sde(sde)
        steps = ts.shape[0] - 1
        gamma_max = min(self.s_churn / steps, math.sqrt(2.0) - 1.0)
        sig_top = noise_to_signal(sde, ts[0])

        def step(k, x, t, t_next):
            sig = noise_to_signal(sde, t)
            gamma = jnp.where((sig >= self.s_min) & (sig <= self.s_max), gamma_max, 0.0)
            sig_hat = jnp.minimum(sig * (1.0 + gamma), sig_top)
            t_hat = jnp.where(sig_hat > sig, time_at_noise_level(sde, sig_hat, t, ts[0]), t)
            a, a_hat = sde.marginal_coeffs(t)[0], sde.marginal_coeffs(t_hat)[0]
            noise = jax.random.normal(k, x.shape, x.dtype)
            y_hat = x / a + self.s_noise * jnp.sqrt(jnp.maximum(sig_hat**2 - sig**2, 0.0)) * noise
            return map_batch(lambda xi: heun_step(sde, score_fn, xi, t_hat, t_next), chunk_size)(a_hat * y_hat)

        x, path = run_scan(step, key, x_init, ts, num_saves)
        return x, SampleInfo(jnp.asarray(2 * steps), jnp.asarray(steps), saved_times(ts, num_saves), path)
