"""Seed 003's Algorithm 3 (sampling from the driftless SDE) as a step sampler.

Algorithm 3 takes, from t to t − ΔT with the denoiser f_θ ≈ E[X_0 | X_t],

    X ← X − ΔT · C(t) (X − f_θ(X, t)) + (R ΔT)^{1/2} ξ,    ξ ~ N(0, I) drawn in Fourier space,

and returns f_θ(X_1, ΔT).  Its line 4 writes C(t) = (R t)⁻¹, but eq. 4.25–4.26 and 4.34 give
the reverse drift R ∇ log p_t = −(X − E[X_0 | X])/t, i.e. C(t) = 1/t.  The two differ unless
R = I.  The exact Gaussian-field test (tests/test_functional.py) settles it: with C = 1/t the
sampler reproduces the field's spectrum per mode; with C = (R t)⁻¹ it does not (modes with
r_k ≠ 1 are shrunk or amplified).  `drift="eq_4_26"` (the default) is the correct one;
`drift="line_4"` reproduces the algorithm as printed.  With `drift="eq_4_26"` the update is
Euler–Maruyama on the reverse SDE, in the SDE's (Hartley) coordinates.

The algorithm's last line is `sg.sample(..., denoise=True)`: the grid's last step is replaced
by the denoiser's output at t_{N−1} = ΔT (the loop as printed runs one step further, to
t = 0, then evaluates f_θ at ΔT).  E[X_0 | X] comes from the score by Tweedie's formula,
(x + s(t)² ∇ log p_t)/a(t), so any `score_fn` (e.g. `score_from_denoiser`) drives it.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_choice, require_kernel
from ..samplers.base import StepSampler

__all__ = ["DRIFTS", "DriftlessEuler"]

DRIFTS = ("eq_4_26", "line_4")


class DriftlessEuler(StepSampler):
    """Algorithm 3's update; `drift` is "eq_4_26" (C(t) = 1/t, correct) or "line_4" (C = (R t)⁻¹)."""

    drift: str = "eq_4_26"

    def __check_init__(self):
        check_choice("Algorithm 3 drift", self.drift, DRIFTS)

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        require_kernel(sde, "Algorithm 3 (it needs E[X_0 | X_t] from Tweedie's formula)")
        return super().__call__(key, sde, score_fn, x_init, ts, num_saves=num_saves, chunk_size=chunk_size)

    def update(self, sde, score_fn, x, z, t, t_next):
        dt = t - t_next
        a, s = sde.marginal_coeffs(t)
        x0_hat = (x + s**2 * score_fn(x, t)) / a
        r = sde.diffusion(x, t) ** 2  # R per coordinate (driftless: g² = r)
        c = 1.0 / t if self.drift == "eq_4_26" else 1.0 / (r * t)
        return x - dt * c * (x - x0_hat) + jnp.sqrt(r * dt) * z
