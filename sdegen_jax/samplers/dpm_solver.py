"""DPM-Solver++ (Lu et al. 2022, "DPM-Solver++", Alg. 2: the multistep 2M solver in data
prediction) for any linear SDE with a scalar noise level.

In y = x/a and λ = −log σ (σ = s/a, see `schedules`), the probability-flow ODE's exact
solution from λ_i to λ_{i+1} = λ_i + h is y_{i+1} = e^{−h} y_i + ∫ e^{λ−λ_{i+1}} D dλ.
Order 1 takes D constant (= DDIM with η = 0):

    x_{i+1} = a_{i+1} [ (σ_{i+1}/σ_i) x_i/a_i + (1 − e^{−h}) D_i ].

Order 2 (2M) replaces D_i by D_i + (D_i − D_{i−1})/(2 r), r = h_{i−1}/h_i, reusing the
previous step's denoiser output: one score evaluation per step.  The first step is of order 1;
so is the last when there are fewer than 10 steps (`lower_order_final`, the reference
implementation's rule, which stabilises very few steps).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ..sde.reverse import tweedie_denoise
from .base import AbstractSampler, SampleInfo, run_scan, saved_times
from .batching import map_batch
from .schedules import logsnr_uniform, noise_to_signal, require_scalar_noise_level


class DPMSolverPP(AbstractSampler):
    """DPM-Solver++ of `order` 1 or 2 (2M, multistep) on the grid of `schedule` (default
    uniform in log-SNR; `time_uniform` is the other choice of the paper).  NFE = steps."""

    order: int = 2
    schedule: Callable = logsnr_uniform
    lower_order_final: bool = True

    def __check_init__(self):
        if self.order not in (1, 2):
            raise ValueError(f"DPMSolverPP implements orders 1 and 2 (2M); got order={self.order!r}.")

    def time_grid(self, sde, T, eps, steps):
        return self.schedule(sde, T, eps, steps)

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        require_scalar_noise_level(sde, "DPM-Solver++")
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
