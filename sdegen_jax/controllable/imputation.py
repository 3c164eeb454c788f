"""Imputation (inpainting) with an unconditional score (seed 000 §4.1; Song et al. 2021, App. I.2).

Known coordinates are replaced, after every step of the sampler, by the known values pushed
forward to the current time, x_t^known = a(t) x_0^known + s(t) z; the unknown ones follow the
reverse SDE.  At the end the known coordinates take their clean values.  The replacement is
done in pixel space (mask) on the SDE's forward kernel in its state coordinates, so it also
holds for the Fourier SDEs of `sg.functional` (coloured noise).  Unlike the score_sde code, the
final denoised mean (`denoise=True`) is computed from the state of the last step, not from a
state re-noised after it.

It is Song et al.'s replacement method: exact when the known and unknown coordinates are
independent (tests/test_controllable.py), an approximation otherwise: the unknown part sees the
known part only through its noisy values at the current time.  Measured on the 2-D mixture
0.3 N((−2, −1.5), diag(0.7², 1)) + 0.7 N((2, 1.5), diag(0.7², 1)) given x_1 = 0.3 (exact
conditional: weight 0.148 on the left component), 20,000 samples, 1000 steps: EM puts 0.26 of
the samples left (W1 0.49 to the exact conditional) under both VE and VP; PC with snr 0.16
0.18 under VE (W1 0.14).  Where p(x_0[known] = y | x_t) is known, guidance by it
(`GuidedScore`; the toy mixtures' `observation_log_likelihood`) is exact: on the same mixture
the left fraction is 0.157 (VE) and 0.153 (VP), W1 0.034 and 0.017 (tests/test_controllable.py).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import require_kernel
from ..samplers.base import StepSampler

__all__ = ["Imputation", "impute"]


class Imputation(StepSampler):
    """A sampler that wraps a fixed-grid sampler with a `batch_step` (a `StepSampler` such as
    `EulerMaruyamaScan()`, `ReverseDiffusion()`, `Ancestral()`, or `PredictorCorrector(...)`)
    and, after each of its steps, sets the known coordinates (`mask` = 1) to the known values
    `known` (n, *shape; pixel space) diffused to the step's time.  With `in_state`, `mask`
    selects coordinates of the SDE's state instead of pixels: for the Fourier SDEs of
    `sg.functional` these are Fourier (Hartley) modes, so known coarse modes complete a
    low-resolution image at a finer grid (super-resolution).  Use through `impute`."""

    base: StepSampler
    known: jax.Array
    mask: jax.Array
    in_state: bool = eqx.field(default=False, static=True)

    @property
    def nfe_per_step(self):
        return self.base.nfe_per_step

    def _replace(self, key, sde, y, t):
        a, s = sde.marginal_coeffs(t)
        z = jax.random.normal(key, y.shape, y.dtype)
        known_t = jax.vmap(sde.to_state)(self.known) * a + s * z
        if self.in_state:
            return self.mask * known_t + (1.0 - self.mask) * y
        x = jax.vmap(sde.from_state)(y)
        mixed = self.mask * jax.vmap(sde.from_state)(known_t) + (1.0 - self.mask) * x
        return jax.vmap(sde.to_state)(mixed)

    def batch_step(self, key, sde, score_fn, x, t, t_next, chunk_size=None):
        k_step, k_rep = jax.random.split(key)
        x = self.base.batch_step(k_step, sde, score_fn, x, t, t_next, chunk_size)
        return self._replace(k_rep, sde, x, t_next)

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        k0, k = jax.random.split(key)
        return super().__call__(k, sde, score_fn, self._replace(k0, sde, x_init, ts[0]), ts, num_saves=num_saves,
                                chunk_size=chunk_size)


def impute(key, sde, score_fn, known, mask, *, method=None, steps: int = 1000, eps=None, denoise: bool = True,
           chunk_size=None, in_state: bool = False):
    """Samples (n, *shape) whose coordinates with `mask` = 1 equal `known` (n, *shape) and whose
    others are drawn by the reverse SDE under the replacement method.  `mask` broadcasts
    against `known` (0/1 values); with `in_state` it selects coordinates of the SDE's state
    (`sde.to_state(known)`: Fourier modes for `sg.functional`'s SDEs), not pixels.  `method`: a
    fixed-grid sampler with `batch_step` (default `EulerMaruyamaScan()`;
    `PredictorCorrector(snr=...)` for the predictor–corrector version).
    Returns (samples, SampleInfo)."""
    from ..samplers.api import sample_with_info
    from ..samplers.predictors import EulerMaruyamaScan

    require_kernel(sde, "imputation")
    method = EulerMaruyamaScan() if method is None else method
    if not hasattr(method, "batch_step"):
        raise ValueError(
            f"imputation steps the sampler one grid step at a time; {type(method).__name__} has no batch_step. "
            "Use EulerMaruyamaScan(), ReverseDiffusion(), Ancestral() or PredictorCorrector(...).")
    known = jnp.asarray(known, jnp.float32)
    mask = jnp.broadcast_to(jnp.asarray(mask, known.dtype), known.shape)
    if known.ndim < 2:
        raise ValueError(f"known must be a batch (n, *shape), got shape {known.shape}.")
    if not bool(jnp.all((mask == 0) | (mask == 1))):
        raise ValueError("mask must hold 0 (unknown) and 1 (known) only.")
    x, info = sample_with_info(key, sde, score_fn, known.shape[1:], known.shape[0],
                               method=Imputation(method, known, mask, in_state), steps=steps, eps=eps, denoise=denoise,
                               chunk_size=chunk_size)
    if in_state:
        to_state, from_state = jax.vmap(sde.to_state), jax.vmap(sde.from_state)
        return from_state(mask * to_state(known) + (1.0 - mask) * to_state(x)), info
    return mask * known + (1.0 - mask) * x, info
