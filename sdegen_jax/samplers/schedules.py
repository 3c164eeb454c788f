"""Time grids placed by the noise level, for the few-step samplers.

Under a linear SDE x_t = a(t) x_0 + s(t) z, the state scaled by the signal, y = x / a(t), is
y = x_0 + σ(t) z with the noise-to-signal ratio σ(t) = s(t)/a(t) = e^{−λ(t)} (λ: half the
log-SNR).  Every linear SDE (VE, VP, sub-VP) is then one probability-flow ODE in σ,
dy/dσ = (y − D(y, σ))/σ with the denoiser D = E[x_0 | x_t] (Karras et al. 2022, eq. 4 with
s(t) = a(t)): the few-step solvers work in (y, σ) and differ from each other only in how they
integrate it, and in the grid of σ they step along.  A schedule is a function

    schedule(sde, T, eps, steps) -> ts   (steps + 1 decreasing times, ts[0] = T, ts[-1] = eps)

that samplers carry as a field and `sg.sample` calls through the sampler's `time_grid`.
Grids placed in σ are mapped back to times by bisection on the monotone log σ(t), so any
SDE with a scalar `marginal_coeffs` works, without a closed-form inverse.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_positive, require_kernel
from .base import StepSampler

__all__ = [
    "noise_to_signal",
    "require_scalar_noise_level",
    "time_at_noise_level",
    "time_uniform",
    "logsnr_uniform",
    "time_geometric",
    "KarrasSchedule",
    "ScheduledSampler",
    "OnSchedule",
]


def noise_to_signal(sde, t):
    """σ(t) = s(t)/a(t), the noise-to-signal ratio of the SDE's kernel (EDM's σ)."""
    a, s = sde.marginal_coeffs(t)
    return s / a


def require_scalar_noise_level(sde, purpose: str) -> None:
    """The few-step samplers need one σ(t) for all coordinates (not the per-mode coefficients of
    the Fourier SDEs of `sg.functional`)."""
    require_kernel(sde, purpose)
    a, s = jax.eval_shape(sde.marginal_coeffs, jnp.float32(0.5))
    if a.shape != () or s.shape != ():
        raise ValueError(
            f"{purpose} needs one noise level σ(t) = s(t)/a(t) for every coordinate; {type(sde).__name__} has "
            f"per-coordinate coefficients of shape {s.shape}. Use a fixed-grid sampler (EulerMaruyamaScan(), "
            "ReverseDiffusion(), Ancestral()) for it.")


def time_at_noise_level(sde, sigma, t_min, t_max, iterations: int = 48):
    """The time t in [t_min, t_max] with σ(t) = sigma (any shape), by bisection on log σ(t),
    which increases with t for every linear SDE of the library.  48 halvings reach adjacent
    float32 times."""
    log_target = jnp.log(sigma)
    lo = jnp.broadcast_to(jnp.asarray(t_min, jnp.result_type(sigma, float)), jnp.shape(sigma))
    hi = jnp.broadcast_to(jnp.asarray(t_max, lo.dtype), jnp.shape(sigma))

    def halve(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = jnp.log(noise_to_signal(sde, mid)) < log_target
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iterations, halve, (lo, hi))
    return 0.5 * (lo + hi)


def _from_noise_levels(sde, sigmas, T, eps):
    ts = time_at_noise_level(sde, sigmas, eps, T)
    return ts.at[0].set(T).at[-1].set(eps)


def time_uniform(sde, T, eps, steps: int):
    """Evenly spaced times from T to eps (DDIM's strided subset of a fine uniform grid; the
    grid of every fixed-step sampler of the library)."""
    return jnp.linspace(T, eps, steps + 1)


def logsnr_uniform(sde, T, eps, steps: int):
    """Times evenly spaced in λ = −log σ (DPM-Solver's "logSNR" schedule, Lu et al. 2022,
    §3.4): σ geometric from σ(T) to σ(eps)."""
    log_hi, log_lo = jnp.log(noise_to_signal(sde, T)), jnp.log(noise_to_signal(sde, eps))
    return _from_noise_levels(sde, jnp.exp(jnp.linspace(log_hi, log_lo, steps + 1)), T, eps)


def time_geometric(sde, T, eps, steps: int):
    """Times evenly spaced in log t, from T to eps: the VE SDE's geometric noise levels when
    s(t)² ∝ t (the driftless SDE of `sg.functional`, seed 003 §5.3.2 "VE best practices"),
    for SDEs with per-coordinate coefficients too (no σ(t) needed)."""
    check_positive("eps", eps, "a geometric time grid needs eps > 0.")
    return jnp.exp(jnp.linspace(jnp.log(T), jnp.log(eps), steps + 1)).at[0].set(T).at[-1].set(eps)


class KarrasSchedule(eqx.Module):
    """EDM's σ_i = (σ_max^{1/ρ} + i/N (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0..N (Karras et al.
    2022, eq. 5), with σ_max = σ(T) and σ_min = σ(eps) of the SDE; ρ = 7 concentrates the steps
    at low noise."""

    rho: float = 7.0

    def __check_init__(self):
        check_positive("rho", self.rho)

    def __call__(self, sde, T, eps, steps: int):
        hi = noise_to_signal(sde, T) ** (1.0 / self.rho)
        lo = noise_to_signal(sde, eps) ** (1.0 / self.rho)
        return _from_noise_levels(sde, (hi + jnp.linspace(0.0, 1.0, steps + 1) * (lo - hi)) ** self.rho, T, eps)


class ScheduledSampler(eqx.Module):
    """Mixin of the samplers that step along their own grid, declared by each as a field
    `schedule` (see the module docstring): the `time_grid` that `sg.sample` calls, and the check
    that the SDE has one noise level σ(t) for all coordinates."""

    def time_grid(self, sde, T, eps, steps):
        return self.schedule(sde, T, eps, steps)

    def check_sde(self, sde) -> None:
        require_scalar_noise_level(sde, type(self).__name__)


class OnSchedule(StepSampler):
    """`OnSchedule(base, schedule)`: the fixed-grid sampler `base` (any `StepSampler`:
    `PredictorCorrector(...)`, `EulerMaruyamaScan()`, ...) run on the time grid
    `schedule(sde, T, eps, steps)` instead of the uniform one, e.g. `time_geometric`."""

    base: StepSampler
    schedule: Callable

    @property
    def nfe_per_step(self):
        return self.base.nfe_per_step

    def time_grid(self, sde, T, eps, steps):
        return self.schedule(sde, T, eps, steps)

    def batch_step(self, key, sde, score_fn, x, t, t_next, chunk_size=None):
        return self.base.batch_step(key, sde, score_fn, x, t, t_next, chunk_size)
