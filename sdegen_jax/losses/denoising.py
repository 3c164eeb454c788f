"""Denoising score matching and its ε- and x0-prediction forms, for any linear SDE.

DSM (Vincent 2011; seed 001 eq. 6; seed 002 eq. 4.2.48):
  L(θ) = E_t E_{x0} E_{x_t|x0} λ(t) ‖s_θ(x_t, t) − ∇ log p(x_t | x0)‖²,
with ∇ log p(x_t | x0) = −ε / s(t) (seed 002 eq. 4.2.55).  Weightings λ(t):
  "sigma2":     s(t)²  (Song & Ermon; equivalent to ε-prediction, seed 002 eq. 4.2.57),
  "likelihood": g(t)²  (Song et al. 2021b: bounds the negative log-likelihood),
  "none":       1.
The ε-prediction loss (DDPM simple loss) is E‖ε_θ(x_t, t) − ε‖², and x0-prediction
(seed 004's m0) is E‖m_θ(x_t, t) − x0‖².  All losses sum over the dimensions of one
example and average over the batch.

Calling convention (the library's): `loss(key, sde, model_fn, x0_batch, *, options)` with
`model_fn(x, t)` a function of ONE example and a scalar time (a score, ε or x0 prediction),
vmapped here over the batch; e.g. `sg.nets.score_fn_from(model)` or any JAX function.  An
object may also offer `model_fn.batched(x (N, ...), t (N,))`, the same function on a whole
batch, which is then called instead of the vmap (the NNX adapters do; see `_apply`).  The
SDE must have a closed-form Gaussian kernel (`marginal_coeffs`).  No Flax is imported here.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from .._checks import check_choice, require_kernel
from .parametrisations import PARAMETRISATIONS, to_score
from .time_sampling import sample_times

__all__ = [
    "WEIGHTINGS",
    "ModelFn",
    "perturb",
    "denoising_score_matching",
    "eps_prediction_loss",
    "x0_prediction_loss",
    "apply_model",
]

WEIGHTINGS = ("sigma2", "likelihood", "none")

ModelFn = Callable[[jax.Array, jax.Array], jax.Array]


def _bcast(v, x):
    """Per-example coefficients (n,) — or per coordinate (n, *shape) — broadcast against x."""
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim))


def perturb(key, sde, x0, t):
    """x_t = a(t) x0 + s(t) ε for a batch in the SDE's state coordinates (pixels for every
    SDE but the Fourier-diagonal ones); returns (x_t, ε, a, s) with a, s broadcastable."""
    a, s = jax.vmap(sde.marginal_coeffs)(t)
    a, s = _bcast(a, x0), _bcast(s, x0)
    noise = jax.random.normal(key, x0.shape, x0.dtype)
    return a * x0 + s * noise, noise, a, s


def _per_example_sum(v):
    return jnp.sum(v.reshape(v.shape[0], -1), axis=1)


def denoising_score_matching(
    key,
    sde,
    model_fn: ModelFn,
    x0,
    *,
    weighting: str = "sigma2",
    parametrisation: str = "score",
    eps: float | None = None,
    time_sampling: str = "uniform",
) -> jax.Array:
    """Weighted DSM loss of a model in any parametrisation ("score", "eps", "x0").

    The model's output is converted to a score before weighting, so the three
    parametrisations optimise the same objective and differ only in what the
    network outputs.  For the ε- and x0-prediction losses of DDPM and seed 004,
    use `eps_prediction_loss` and `x0_prediction_loss`.
    """
    check_choice("weighting", weighting, WEIGHTINGS)
    check_choice("parametrisation", parametrisation, PARAMETRISATIONS)
    t, _, y_t, noise, a, s = _noisy_batch(key, sde, x0, eps, time_sampling, "denoising score matching")
    score = to_score(_apply(model_fn, sde, y_t, t, x0), parametrisation, y_t, a, s)
    # λ ‖score + ε/s‖² written with s factored out for numerical stability at small s.
    residual = s * score + noise  # = s (score − ∇ log p(x_t|x0))
    if weighting == "sigma2":
        per_example = _per_example_sum(residual**2)
    else:
        g2 = jax.vmap(lambda tt: sde.diffusion_coeff(tt) ** 2)(t) if weighting == "likelihood" else jnp.ones_like(t)
        per_example = _per_example_sum(_bcast(g2, residual) * residual**2 / s**2)
    return jnp.mean(per_example)


def eps_prediction_loss(key, sde, model_fn: ModelFn, x0, *, eps=None, time_sampling="uniform"):
    """DDPM's simple loss E‖ε_θ(x_t, t) − ε‖² (seed 002 eq. 4.2.46)."""
    t, _, y_t, noise, _, _ = _noisy_batch(key, sde, x0, eps, time_sampling, "the ε-prediction loss")
    return jnp.mean(_per_example_sum((_apply(model_fn, sde, y_t, t, x0) - noise) ** 2))


def x0_prediction_loss(key, sde, model_fn: ModelFn, x0, *, eps=None, time_sampling="uniform"):
    """Denoiser regression E‖m_θ(x_t, t) − x0‖² (seed 004, the m0(t, x) parametrisation)."""
    t, y0, y_t, _, _, _ = _noisy_batch(key, sde, x0, eps, time_sampling, "the x0-prediction loss")
    return jnp.mean(_per_example_sum((_apply(model_fn, sde, y_t, t, x0) - y0) ** 2))


def _noisy_batch(key, sde, x0, eps, time_sampling, purpose):
    """Times t ~ [eps, T] and x_t ~ p(x_t | x0) for a batch, in the SDE's state coordinates:
    (t, y0, y_t, ε, a, s)."""
    require_kernel(sde, purpose)
    if jnp.ndim(x0) < 1:
        raise ValueError(f"x0 must be a batch (n, *shape), got shape {jnp.shape(x0)}.")
    eps = sde.default_eps if eps is None else eps
    k_t, k_z = jax.random.split(key)
    t = sample_times(k_t, x0.shape[0], sde.T, eps, time_sampling)
    y0 = jax.vmap(sde.to_state)(x0)
    return (t, y0, *perturb(k_z, sde, y0, t))


def apply_model(model_fn, x, t):
    """The per-example `model_fn(x, t)` on a batch x (n, ...), t (n,): its `batched` form when it
    has one (the NNX adapters), else its vmap."""
    batched = getattr(model_fn, "batched", None)
    return batched(x, t) if batched is not None else jax.vmap(model_fn)(x, t)


def _apply(model_fn, sde, y_t, t, x0):
    """The per-example model_fn(x, t) on the pixel-space x_t, its output checked against x0's
    shape and returned in state coordinates."""
    out = apply_model(model_fn, jax.vmap(sde.from_state)(y_t), t)
    if out.shape != x0.shape:
        raise ValueError(
            f"model output has shape {out.shape[1:]} per example; it must match the data's {x0.shape[1:]} "
            "(model_fn takes ONE example x and a scalar t)."
        )
    return jax.vmap(sde.to_state)(out)
