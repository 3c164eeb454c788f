"""Predictor–corrector sampling (Song et al. 2021, Alg. 1) as a `lax.scan`.

Each step from t to t_next runs `corrector_steps` Langevin corrector steps at t, then one
predictor step.  The predictor is any `StepSampler` (default `ReverseDiffusion()`), or None
for corrector-only sampling.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import check_int_at_least, check_positive
from .base import StepSampler
from .batching import batch_score
from .predictors import ReverseDiffusion

__all__ = ["langevin_corrector_step", "PredictorCorrector"]


def langevin_corrector_step(sde, scores, x, z, t, dt, snr):
    """One Langevin MCMC step at fixed t for a BATCH x, z (n, *shape); scores(x_batch, t).

    Preconditioned by the SDE's noise covariance P = g(x, t)² (per coordinate), with the step
    set by a target signal-to-noise ratio from batch-averaged norms:

      ε = 2 α (snr ‖√P z‖ / ‖P s‖)²,   x ← x + ε P s + sqrt(2 ε P) z,

    α = `sde.langevin_step_scale(t, dt)` (1 for VE, 1 − β_i = 1 − β(t) Δt for VP, Δt the grid
    step).  When g is the same for every coordinate (every pixel-space SDE here) this is Song
    et al.'s Algorithm 4–5 exactly (ε P equals their step); for the Fourier-diagonal SDEs it
    moves each mode on its own noise scale.  Averaging over the batch matters: per-sample
    norms make ε explode wherever a sample sits near a mode (s ≈ 0), most of all in low
    dimension.
    """
    grad = scores(x, t)
    P = jax.vmap(lambda xi: sde.diffusion(xi, t))(x) ** 2
    axes = tuple(range(1, x.ndim))
    grad_norm = jnp.mean(jnp.sqrt(jnp.sum((P * grad) ** 2, axis=axes)))
    noise_norm = jnp.mean(jnp.sqrt(jnp.sum(P * z**2, axis=axes)))
    step = 2.0 * sde.langevin_step_scale(t, dt) * (snr * noise_norm / jnp.maximum(grad_norm, 1e-30)) ** 2
    return x + step * P * grad + jnp.sqrt(2.0 * step * P) * z


class PredictorCorrector(StepSampler):
    """Predictor–corrector sampler.

    Fields:
      predictor: a `StepSampler` for the move from t to t_next (default `ReverseDiffusion()`),
        or None for corrector only.
      snr: the corrector's target signal-to-noise ratio; None takes `sde.default_snr`
        (Song et al.: 0.16 for VE, 0.01 for VP-type SDEs).
      corrector_steps: Langevin steps at each t (0 for predictor only).
    """

    predictor: StepSampler | None = ReverseDiffusion()
    snr: float | None = None
    corrector_steps: int = 1

    def __check_init__(self):
        check_int_at_least("corrector_steps", self.corrector_steps, 0)
        if self.snr is not None:
            check_positive("snr", self.snr, "Song et al. use 0.16 for VE and 0.01 for VP.")
        if self.predictor is None and self.corrector_steps == 0:
            raise ValueError("predictor=None with corrector_steps=0 would not move the samples; give one of them.")

    @property
    def nfe_per_step(self):
        return (0 if self.predictor is None else self.predictor.nfe_per_step) + self.corrector_steps

    def resolved_snr(self, sde) -> float:
        snr = self.snr if self.snr is not None else sde.default_snr
        if snr is None and self.corrector_steps:
            raise ValueError(
                f"{type(sde).__name__} has no default corrector snr; pass PredictorCorrector(snr=...) "
                "(Song et al. use 0.16 for VE and 0.01 for VP SDEs)."
            )
        return snr

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        self.resolved_snr(sde)  # fail before tracing
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def batch_step(self, key, sde, score_fn, x, t, t_next, chunk_size=None):
        k_pred, k_corr = jax.random.split(key)
        scores = batch_score(score_fn, chunk_size)
        snr = self.resolved_snr(sde)
        for i in range(self.corrector_steps):
            z = jax.random.normal(jax.random.fold_in(k_corr, i), x.shape, x.dtype)
            x = langevin_corrector_step(sde, scores, x, z, t, t - t_next, snr)
        if self.predictor is not None:
            x = self.predictor.batch_step(k_pred, sde, score_fn, x, t, t_next, chunk_size)
        return x
