"""One reverse-time step from t to t − dt, for one sample (Song et al. 2021, App. E–G).

Each predictor maps (sde, score_fn, x, z, t, dt) to (x_next, x_next_mean), z ~ N(0, I).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def euler_maruyama_predictor(sde, score_fn, x, z, t, dt):
    """x ← x − [f − g² s] dt + g sqrt(dt) z  (seed 000 eq. 4.2 discretised, seed 002 eq. 4.2.10)."""
    g = sde.diffusion(x, t)
    reverse_drift = sde.drift(x, t) - g**2 * score_fn(x, t)
    mean = x - reverse_drift * dt
    return mean + g * jnp.sqrt(dt) * z, mean


def reverse_diffusion_predictor(sde, score_fn, x, z, t, dt):
    """Reverse of the SDE's own discretisation x_t = x_{t−dt} + F + G z:

    x ← x − F + G² s + G z   (SMLD for VE, seed 002 eq. 4.2.10; DDPM-like for VP, eq. 4.2.45).
    """
    F, G = sde.discretize(x, t, dt)
    mean = x - F + G**2 * score_fn(x, t)
    return mean + G * z, mean


def ancestral_predictor(sde, score_fn, x, z, t, dt):
    """Ancestral sampling from the Gaussian posterior q(x_{t−dt} | x_t, x̂_0) of a linear SDE.

    With x_t = α x_{t−dt} + σ ε and Tweedie's x̂_0 this is
      mean = (x + σ² s) / α,  var = σ² s(t−dt)² / s(t)²,
    which is DDPM's ancestral step for VP and NCSN's for VE (Song et al. 2021, eq. 46–47).
    """
    alpha, sigma = sde.transition_coeffs(t - dt, t)
    _, s_prev = sde.marginal_coeffs(t - dt)
    _, s_t = sde.marginal_coeffs(t)
    mean = (x + sigma**2 * score_fn(x, t)) / alpha
    return mean + sigma * s_prev / s_t * z, mean


def langevin_corrector(sde, score_fn, x, z, t, dt, snr):
    """One Langevin MCMC step at fixed t for a BATCH x, z of shape (n, *shape).

    The step is set by a target signal-to-noise ratio from batch-averaged norms,
    ε = 2 α (snr ‖z‖ / ‖s‖)²,  x ← x + ε s + sqrt(2ε) z  (Song et al. 2021, Alg. 4–5).
    Averaging over the batch matters: per-sample norms make ε explode wherever a
    sample sits near a mode (s ≈ 0), most of all in low dimension.
    """
    grad = jax.vmap(score_fn, in_axes=(0, None))(x, t)
    axes = tuple(range(1, x.ndim))
    grad_norm = jnp.mean(jnp.sqrt(jnp.sum(grad**2, axis=axes)))
    noise_norm = jnp.mean(jnp.sqrt(jnp.sum(z**2, axis=axes)))
    step = 2.0 * sde.langevin_step_scale(t, dt) * (snr * noise_norm / jnp.maximum(grad_norm, 1e-12)) ** 2
    mean = x + step * grad
    return mean + jnp.sqrt(2.0 * step) * z, mean


PREDICTORS = {
    "euler_maruyama": euler_maruyama_predictor,
    "reverse_diffusion": reverse_diffusion_predictor,
    "ancestral": ancestral_predictor,
}
