"""UniPC (Zhao et al. 2023, Alg. 2–3): the multistep predictor UniP and corrector UniC of order
2 in data prediction, with B(h) = e^{h} − 1 ("bh2"), for any linear SDE with a scalar noise level.

In the notation of `dpm_solver` (y = x/a, λ = −log σ, h = λ_{i+1} − λ_i, D the denoiser):

- predictor: x̃_{i+1} = a_{i+1}[e^{−h} y_i + (1 − e^{−h}) D_i] − a_{i+1} B(−h) ρ_p D1, with
  D1 = (D_{i−1} − D_i)/r₁, r₁ = (λ_{i−1} − λ_i)/h and ρ_p = ½ (order 2);
- corrector: with D̃_{i+1} = D(x̃_{i+1}, t_{i+1}), x_{i+1} is the same base step minus
  a_{i+1} B(−h)[ρ_c,1 D1 + ρ_c,2 (D̃_{i+1} − D_i)], where (ρ_c,1, ρ_c,2) solves
  [[1, 1], [r₁, 1]] ρ = (b₁, b₂), with the reference code's g₁ = (e^{−h} − 1)/(−h) − 1,
  g₂ = g₁/(−h) − ½ and b₁ = g₁/B(−h), b₂ = 2 g₂/B(−h).

D̃_{i+1}, evaluated at the predicted state, is the next step's D_{i+1}: the corrector costs no
extra evaluation, and NFE = steps (one evaluation at T, one per step but the last, which has
no corrector).  The first step is of order 1 (ρ_c = ½); so is the last when there are fewer
than 10 steps (`lower_order_final`, DPM-Solver's rule; UniPC's own code lowers the last step
always, which caps the global order at 2 where this keeps UniC's order 3 for longer runs).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from ..sde.reverse import tweedie_denoise
from .base import AbstractSampler, SampleInfo, run_scan, saved_times
from .batching import map_batch
from .schedules import ScheduledSampler, logsnr_uniform, noise_to_signal

__all__ = ["UniPC"]


class UniPC(AbstractSampler, ScheduledSampler):
    """UniPC-2 (bh2) on the grid of `schedule` (default uniform in log-SNR).  NFE = steps."""

    schedule: Callable = logsnr_uniform
    lower_order_final: bool = True

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.check_sde(sde)
        steps = ts.shape[0] - 1
        final_low = self.lower_order_final and steps < 10

        def denoise(x, t):
            return map_batch(lambda xi: tweedie_denoise(sde, score_fn, xi, t), chunk_size)(x)

        def lam(t):
            return -jnp.log(noise_to_signal(sde, t))

        def step(_, carry, t, t_next):
            x, d0, d1, t1, i = carry
            a, s = sde.marginal_coeffs(t)
            a_next, s_next = sde.marginal_coeffs(t_next)
            h = lam(t_next) - lam(t)
            low = (i == 0) | (final_low & (i == steps - 1))
            r1 = jnp.where(low, -1.0, (lam(t1) - lam(t)) / h)
            hh = -h
            phi_1 = jnp.expm1(hh)
            b_h = phi_1
            phi_k1 = phi_1 / hh - 1.0
            phi_k2 = phi_k1 / hh - 0.5
            b1, b2 = phi_k1 / b_h, 2.0 * phi_k2 / b_h
            rho_1 = jnp.where(low, 0.0, (b1 - b2) / (1.0 - r1))
            rho_2 = jnp.where(low, 0.5, (b2 - r1 * b1) / (1.0 - r1))
            slope = (d1 - d0) / r1
            base = (s_next / s) * x - a_next * phi_1 * d0
            predicted = jnp.where(low, base, base - a_next * b_h * 0.5 * slope)

            def correct(_):
                d_new = denoise(predicted, t_next)
                return base - a_next * b_h * (rho_1 * slope + rho_2 * (d_new - d0)), d_new

            x_next, d_next = jax.lax.cond(i == steps - 1, lambda _: (predicted, d0), correct, None)
            return x_next, d_next, d0, t, i + 1

        init = (x_init, denoise(x_init, ts[0]), jnp.zeros_like(x_init), ts[0], jnp.int32(0))
        carry, path = run_scan(step, key, init, ts, num_saves, observe=lambda c: c[0])
        return carry[0], SampleInfo(jnp.asarray(steps), jnp.asarray(steps), saved_times(ts, num_saves), path)
