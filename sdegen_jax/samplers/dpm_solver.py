"""DPM-Solver++ (Lu et al. 2022, "DPM-Solver++", Alg. 2: the multistep 2M solver in data
prediction) for any linear SDE with a scalar noise level.

In y = x/a and λ = −log σ (σ = s/a, see `schedules`), the probability-flow ODE's exact
solution from λ_i to λ_{i+1} = λ_i + h is y_{i+1} = e^{−h} y_i + ∫ e^{λ−λ_{i+1}} D dλ.
Order 1 takes D constant (= DDIM with η = 0):

    x_{i+1} = a_{i+1} [ (σ_{i+1}/σ_i) x_i/a_i + (1 − e^{−h}) D_i ].

Order 2 (2M) replaces D_i by D_i + (D_i − D_{i−1})/(2 r), r = h_{i−1}/h_i, reusing the
previous step's denoiser output: one score evaluation per step.  The first step is of order 1;
so is the last when there are fewer than 10 steps (`lower_order_final`, the reference
implementation's rule, which stabilises very few steps).  `DPMSolverPP2S` is the singlestep
second-order variant (two evaluations a step).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ..sde.reverse import tweedie_denoise
from .base import AbstractSampler, SampleInfo, StepSampler, run_scan, saved_times
from .batching import map_batch
from .schedules import ScheduledSampler, logsnr_uniform, noise_to_signal, time_at_noise_level

__all__ = ["DPMSolverPP", "DPMSolverPP2S"]


class DPMSolverPP(AbstractSampler, ScheduledSampler):
    """DPM-Solver++ of `order` 1 or 2 (2M, multistep) on the grid of `schedule` (default
    uniform in log-SNR; `time_uniform` is the other choice of the paper).  NFE = steps."""

    order: int = 2
    schedule: Callable = logsnr_uniform
    lower_order_final: bool = True

    def __check_init__(self):
        if self.order not in (1, 2):
            raise ValueError(f"DPMSolverPP implements orders 1 and 2 (2M); got order={self.order!r}.")

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.check_sde(sde)
        steps = ts.shape[0] - 1
        final_low = self.lower_order_final and steps < 10

        def step(_, carry, t, t_next):
            x, d_prev, t_prev, i = carry
            d = map_batch(lambda xi: tweedie_denoise(sde, score_fn, xi, t), chunk_size)(x)
            a, sig = sde.marginal_coeffs(t)[0], noise_to_signal(sde, t)
            a_next, sig_next = sde.marginal_coeffs(t_next)[0], noise_to_signal(sde, t_next)
            h = jnp.log(sig / sig_next)
            h_prev = jnp.log(noise_to_signal(sde, t_prev) / sig)
            first_order = (self.order == 1) | (i == 0) | (final_low & (i == steps - 1))
            c = jnp.where(first_order, 0.0, h / (2.0 * jnp.where(first_order, 1.0, h_prev)))
            d_eff = d + c * (d - d_prev)
            x_next = a_next * ((sig_next / sig) * x / a - jnp.expm1(-h) * d_eff)
            return x_next, d, t, i + 1

        init = (x_init, jnp.zeros_like(x_init), ts[0], jnp.int32(0))
        carry, path = run_scan(step, key, init, ts, num_saves, observe=lambda c: c[0])
        return carry[0], SampleInfo(jnp.asarray(steps), jnp.asarray(steps), saved_times(ts, num_saves), path)


class DPMSolverPP2S(StepSampler, ScheduledSampler):
    """DPM-Solver++(2S) (Lu et al. 2022, Alg. 1 with r = ½): singlestep, two evaluations a step.
    From λ_i, a first-order step to the midpoint λ_i + h/2 gives D_s there, and
    x_{i+1} = a_{i+1}[e^{−h} y_i + (1 − e^{−h}) ((1 − 1/(2r)) D_i + D_s/(2r))] = a_{i+1}[e^{−h} y_i + (1 − e^{−h}) D_s].
    The midpoint's time comes from bisection on σ(t) (`schedules.time_at_noise_level`)."""

    schedule: Callable = logsnr_uniform
    nfe_per_step = 2

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.check_sde(sde)
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def batch_step(self, key, sde, score_fn, x, t, t_next, chunk_size=None):
        sig, sig_next = noise_to_signal(sde, t), noise_to_signal(sde, t_next)
        sig_mid = jnp.sqrt(sig * sig_next)  # λ_i + h/2
        t_mid = time_at_noise_level(sde, sig_mid, t_next, t)

        def update(xi):
            a, a_mid, a_next = sde.marginal_coeffs(t)[0], sde.marginal_coeffs(t_mid)[0], sde.marginal_coeffs(t_next)[0]
            y = xi / a
            y_mid = (sig_mid / sig) * y + (1.0 - sig_mid / sig) * tweedie_denoise(sde, score_fn, xi, t)
            d_mid = tweedie_denoise(sde, score_fn, a_mid * y_mid, t_mid)
            return a_next * ((sig_next / sig) * y + (1.0 - sig_next / sig) * d_mid)

        return map_batch(update, chunk_size)(x)
