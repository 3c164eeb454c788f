"""GAN objectives as pure functions (seed 004 "Generative adversarial networks", "f-GAN",
"IPM GAN").

Critic outputs are plain arrays: `v_real = V(x)` on data x ~ P and `v_fake = V(g(z))` on
generated samples ~ Q, each of shape (N,).  Only the gradient penalty needs the critic as a
callable, `critic_fn(x (N, ...)) -> (N,)`, which must act on each sample separately (no
batch statistics), so that the gradient of Σ_i critic(x_i) is the per-sample gradient.

- Minimax (JS) GAN (Goodfellow et al. 2014): D = sigmoid(logit);
  sup_D E_P log D + E_Q log(1 − D) = 2 JS(P, Q) − log 4, attained at D* = p / (p + q).
- f-GAN (Nowozin et al. 2016): D_φ(P‖Q) = ∫ φ(dP/dQ) dQ ≥ sup_T E_P T − E_Q φ*(T), with
  T = g_f(V) through the output activation g_f that maps R into dom φ*; equality at
  T* = φ'(p/q).
- IPM GANs: WGAN with a gradient penalty (Gulrajani et al. 2017) and MMD-GAN on a learned
  embedding (Li et al. 2017), reusing `sdegen_jax.losses.mmd.mmd2`.
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType
from typing import Callable

import jax
import jax.numpy as jnp

from .._checks import check_choice, check_nonnegative
from ..losses.mmd import mmd2

__all__ = [
    "ArrayFn",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "FDivergence",
    "KL",
    "REVERSE_KL",
    "SQUARED_HELLINGER",
    "JENSEN_SHANNON",
    "F_DIVERGENCES",
    "f_divergence",
    "f_gan_bound",
    "f_gan_critic_loss",
    "f_gan_generator_loss",
    "wgan_critic_loss",
    "wgan_generator_loss",
    "random_interpolates",
    "gradient_penalty",
    "wgan_gp_critic_loss",
    "mmd_gan_loss",
    "mmd_gan_critic_loss",
]

_LOG2 = math.log(2.0)

ArrayFn = Callable[[jax.Array], jax.Array]  # critic_fn(x (N, ...)) -> (N,), embed_fn(x) -> (N, F)

# ---------------------------------------------------------------- minimax (JS) GAN


def minimax_discriminator_loss(logits_real, logits_fake) -> jax.Array:
    """−(E_P log D + E_Q log(1 − D)) with D = sigmoid(logits) (seed 004's GAN objective);
    its minimum over D is log 4 − 2 JS(P, Q)."""
    return jnp.mean(jax.nn.softplus(-logits_real)) + jnp.mean(jax.nn.softplus(logits_fake))


def minimax_generator_loss(logits_fake) -> jax.Array:
    """E_Q log(1 − D(g(z))), the generator's (saturating) side of the minimax game."""
    return -jnp.mean(jax.nn.softplus(logits_fake))


def non_saturating_generator_loss(logits_fake) -> jax.Array:
    """−E_Q log D(g(z)), the non-saturating generator loss (same fixed point, strong early gradients)."""
    return jnp.mean(jax.nn.softplus(-logits_fake))


# ---------------------------------------------------------------- f-GAN


@dataclasses.dataclass(frozen=True)
class FDivergence:
    """One row of Nowozin et al. (2016) Tables 1–2: D_φ(P‖Q) = ∫ φ(p/q) dQ.

    generator φ(u); conjugate φ*(t) = sup_u {u t − φ(u)} (seed 004's convex conjugate);
    activation g_f: R → dom φ*; conjugate_of_activation φ*(g_f(v)) written stably;
    derivative φ'(u), so the optimal critic is T*(x) = φ'(p(x)/q(x)).
    """

    name: str
    generator: Callable[[jax.Array], jax.Array]
    conjugate: Callable[[jax.Array], jax.Array]
    activation: Callable[[jax.Array], jax.Array]
    conjugate_of_activation: Callable[[jax.Array], jax.Array]
    derivative: Callable[[jax.Array], jax.Array]


KL = FDivergence(
    name="kl",
    generator=lambda u: u * jnp.log(u),
    conjugate=lambda t: jnp.exp(t - 1.0),
    activation=lambda v: v,
    conjugate_of_activation=lambda v: jnp.exp(v - 1.0),
    derivative=lambda u: 1.0 + jnp.log(u),
)
"""KL(P‖Q): φ(u) = u log u, φ*(t) = e^{t−1}, g_f(v) = v."""

REVERSE_KL = FDivergence(
    name="reverse_kl",
    generator=lambda u: -jnp.log(u),
    conjugate=lambda t: -1.0 - jnp.log(-t),
    activation=lambda v: -jnp.exp(-v),
    conjugate_of_activation=lambda v: v - 1.0,
    derivative=lambda u: -1.0 / u,
)
"""KL(Q‖P): φ(u) = −log u, φ*(t) = −1 − log(−t) (t < 0), g_f(v) = −e^{−v}."""

SQUARED_HELLINGER = FDivergence(
    name="hellinger",
    generator=lambda u: (jnp.sqrt(u) - 1.0) ** 2,
    conjugate=lambda t: t / (1.0 - t),
    activation=lambda v: -jnp.expm1(-v),
    conjugate_of_activation=lambda v: jnp.expm1(v),
    derivative=lambda u: 1.0 - 1.0 / jnp.sqrt(u),
)
"""Squared Hellinger ∫ (√p − √q)² (no ½): φ(u) = (√u − 1)², φ*(t) = t/(1 − t) (t < 1),
g_f(v) = 1 − e^{−v}."""

JENSEN_SHANNON = FDivergence(
    name="js",
    generator=lambda u: u * jnp.log(u) - (u + 1.0) * jnp.log((u + 1.0) / 2.0),
    conjugate=lambda t: -jnp.log(2.0 - jnp.exp(t)),
    activation=lambda v: _LOG2 - jax.nn.softplus(-v),
    conjugate_of_activation=lambda v: jax.nn.softplus(v) - _LOG2,
    derivative=lambda u: jnp.log(2.0 * u / (u + 1.0)),
)
"""Nowozin et al.'s Jensen–Shannon row: φ(u) = u log u − (u + 1) log((u + 1)/2),
φ*(t) = −log(2 − e^t) (t < log 2), g_f(v) = log 2 − log(1 + e^{−v}).  This φ gives
D_φ = KL(P‖M) + KL(Q‖M) = 2 JS(P, Q), M = (P + Q)/2, with seed 004's JS (which has the ½)."""

F_DIVERGENCES = MappingProxyType({d.name: d for d in (KL, REVERSE_KL, SQUARED_HELLINGER, JENSEN_SHANNON)})


def f_divergence(name: str) -> FDivergence:
    """The `FDivergence` called `name`: "kl", "reverse_kl", "hellinger" (squared) or "js"."""
    check_choice("f-divergence", name, F_DIVERGENCES)
    return F_DIVERGENCES[name]


def f_gan_bound(divergence: FDivergence, v_real, v_fake) -> jax.Array:
    """E_P[g_f(V)] − E_Q[φ*(g_f(V))] ≤ D_φ(P‖Q) (seed 004 "f-GAN (cont.)"), from raw critic
    outputs v_real (on P) and v_fake (on Q)."""
    return jnp.mean(divergence.activation(v_real)) - jnp.mean(divergence.conjugate_of_activation(v_fake))


def f_gan_critic_loss(divergence: FDivergence, v_real, v_fake) -> jax.Array:
    """−`f_gan_bound`: the critic maximises the variational lower bound on D_φ."""
    return -f_gan_bound(divergence, v_real, v_fake)


def f_gan_generator_loss(divergence: FDivergence, v_fake, *, non_saturating: bool = True) -> jax.Array:
    """The generator's loss on Q's critic outputs: −E_Q[φ*(g_f(V))] (the saddle-point
    objective's Q term) or, with non_saturating=True (default, Nowozin et al. §3.2),
    −E_Q[g_f(V)]."""
    if non_saturating:
        return -jnp.mean(divergence.activation(v_fake))
    return -jnp.mean(divergence.conjugate_of_activation(v_fake))


# ---------------------------------------------------------------- WGAN-GP


def wgan_critic_loss(critic_real, critic_fake) -> jax.Array:
    """E_Q c − E_P c: the critic maximises E_P c − E_Q c, the IPM of seed 004 over 1-Lipschitz c."""
    return jnp.mean(critic_fake) - jnp.mean(critic_real)


def wgan_generator_loss(critic_fake) -> jax.Array:
    """−E_Q c(g(z))."""
    return -jnp.mean(critic_fake)


def random_interpolates(key, real, fake) -> jax.Array:
    """x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1] per sample (Gulrajani et al. 2017), shape of `real`."""
    real, fake = jnp.asarray(real), jnp.asarray(fake)
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake batches must have the same shape to interpolate, got {real.shape} and {fake.shape}."
        )
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(key, critic_fn: ArrayFn, real, fake) -> jax.Array:
    """E_x̂ (‖∇_x c(x̂)‖₂ − 1)² on `random_interpolates` (Gulrajani et al. 2017).

    `critic_fn(x (N, ...)) -> (N,)` must treat samples independently.
    """
    x_hat = random_interpolates(key, real, fake)
    grads = jax.grad(lambda x: jnp.sum(critic_fn(x)))(x_hat)
    norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1))
    return jnp.mean((norms - 1.0) ** 2)


def wgan_gp_critic_loss(key, critic_fn: ArrayFn, real, fake, *, penalty_weight: float = 10.0) -> jax.Array:
    """E_Q c − E_P c + λ E (‖∇c(x̂)‖ − 1)² (WGAN-GP; λ = 10 as in Gulrajani et al.)."""
    check_nonnegative("penalty_weight", penalty_weight, "It is λ of the gradient penalty; the paper uses 10.")
    loss = wgan_critic_loss(critic_fn(real), critic_fn(fake))
    return loss + penalty_weight * gradient_penalty(key, critic_fn, real, fake)


# ---------------------------------------------------------------- MMD-GAN


def mmd_gan_loss(embed_fn: ArrayFn, real, fake, *, kernel=None, unbiased: bool = False) -> jax.Array:
    """MMD²(embed(P), embed(Q)) under `kernel` (default `multiscale_kernel()`), seed 004's IPM
    over an RKHS ball with the kernel k(embed(x), embed(y)) (MMD-GAN, Li et al. 2017).  The
    generator minimises it; the embedding (the critic) maximises it (`mmd_gan_critic_loss`).
    Computed by `sdegen_jax.losses.mmd.mmd2`."""
    return mmd2(embed_fn(real), embed_fn(fake), kernel=kernel, unbiased=unbiased)


def mmd_gan_critic_loss(embed_fn: ArrayFn, real, fake, *, kernel=None, unbiased: bool = False) -> jax.Array:
    """−`mmd_gan_loss`: the learned embedding maximises the MMD between data and samples."""
    return -mmd_gan_loss(embed_fn, real, fake, kernel=kernel, unbiased=unbiased)
