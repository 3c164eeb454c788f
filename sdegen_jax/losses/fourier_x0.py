"""The x0-prediction loss of functional diffusion, in Fourier space (seed 003 eq. 3.60–3.62).

With the score implied by a denoiser x̂_0 (eq. 3.63–3.64), the loss integrand of eq. 3.62,
‖R (s_θ − ∇ log p(x | x_0))‖², becomes per Fourier mode

    ‖R S(t)⁻¹ a(t) (x̂_0 − x_0)‖² = Σ_k (r_k a_k(t) / s_k(t)²)² |x̂_0 − x_0|_k²,

("elbo" weighting, with R(t) = g(t)², the preconditioner of the reverse drift: for the
driftless SDE every mode gets 1/t², for `FourierSDE` r_k is 2 β(t) r_k).  `mode_weights` also takes a
fixed per-mode array w (half-spectrum grid; e.g. the FDP reference code's sqrt(b/r), squared
here), or None for the plain x0 MSE, which is the same in pixel and Fourier space (the
transform is orthonormal).  Calling convention as the other losses:
`fourier_x0_loss(key, sde, denoiser, x0_batch, ...)` with the per-example `denoiser(x, t)`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .denoising import _apply, _noisy_batch, _per_example_sum

__all__ = ["fourier_x0_loss"]


def fourier_x0_loss(key, sde, denoiser, x0, *, mode_weights=None, eps=None, time_sampling="uniform") -> jax.Array:
    """Mean over the batch of Σ_k w_k(t)² |x̂_0 − x_0|_k² (see the module docstring)."""
    t, y0, y_t, _, a, s = _noisy_batch(key, sde, x0, eps, time_sampling, "the functional x0 loss")
    err = _apply(denoiser, sde, y_t, t, x0) - y0  # state (Hartley) coordinates: per Fourier mode
    if mode_weights is None:
        return jnp.mean(_per_example_sum(err**2))
    if isinstance(mode_weights, str):
        if mode_weights != "elbo":
            raise ValueError(f"unknown mode_weights {mode_weights!r}; use None, 'elbo' or a per-mode array.")
        g2 = jax.vmap(lambda tt: sde.diffusion(y0[0], tt) ** 2)(t)  # R(t) of the reverse drift, per mode
        w = a * g2 / s**2
    else:
        from ..functional.diagonal import eigenvalues

        w = jnp.broadcast_to(eigenvalues(jnp.asarray(mode_weights), sde.shape), y0.shape[1:])
    return jnp.mean(_per_example_sum((w * err) ** 2))
