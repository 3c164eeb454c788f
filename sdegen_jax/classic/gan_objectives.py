"""The four GAN games of seed 004 as pairs of pure losses, ready for the two-player training
step (`sdegen_jax.train.adversarial_training`).

Each `GANObjective` holds `critic_loss(key, critic, real, fake)` and
`generator_loss(key, critic, real, fake)`, where `critic` is a `CriticFns` of plain callables
(`score(x (N, ...)) -> (N,)` and, for MMD-GAN, `features(x) -> (N, F)`) and real/fake are
batches.  The critic minimises its loss over its parameters with `fake` held fixed; the
generator minimises its loss through `fake = g(z)`.

- `minimax_objective`: Goodfellow et al.'s game, V(D, G) = E_P log D + E_Q log(1 − D), with
  the non-saturating generator loss by default;
- `f_gan_objective(divergence)`: the variational bound of D_φ (KL, reverse KL, Hellinger, JS);
- `wgan_gp_objective`: the Wasserstein IPM with the gradient penalty;
- `mmd_gan_objective`: MMD² under a kernel on the learned embedding (seed 004's IPM over an
  RKHS ball), with the sample concatenated to its embedding by default.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from . import gan_losses
from .gan_losses import FDivergence

__all__ = [
    "ArrayFn",
    "CriticFns",
    "GANObjective",
    "minimax_objective",
    "f_gan_objective",
    "wgan_gp_objective",
    "mmd_gan_objective",
]

ArrayFn = Callable[[jax.Array], jax.Array]


class CriticFns(NamedTuple):
    """The critic as pure functions: `score(x (N, ...)) -> (N,)` (logit, f-GAN's V or the WGAN
    critic) and `features(x) -> (N, F)` (the MMD-GAN embedding; None when unused)."""

    score: ArrayFn
    features: ArrayFn | None = None


class GANObjective(NamedTuple):
    """`critic_loss(key, critic, real, fake)` and `generator_loss(key, critic, real, fake)`."""

    name: str
    critic_loss: Callable
    generator_loss: Callable


def minimax_objective(*, non_saturating: bool = True) -> GANObjective:
    """Goodfellow et al.'s minimax (JS) game: the discriminator minimises
    −E_P log D − E_Q log(1 − D) (at its optimum, log 4 − 2 JS(P, Q)); the generator minimises
    −E_Q log D (non-saturating, default) or E_Q log(1 − D)."""

    def critic_loss(key, critic, real, fake):
        return gan_losses.minimax_discriminator_loss(critic.score(real), critic.score(fake))

    def generator_loss(key, critic, real, fake):
        logits = critic.score(fake)
        if non_saturating:
            return gan_losses.non_saturating_generator_loss(logits)
        return gan_losses.minimax_generator_loss(logits)

    return GANObjective("minimax", critic_loss, generator_loss)


def f_gan_objective(divergence: FDivergence | str, *, non_saturating: bool = True) -> GANObjective:
    """f-GAN (Nowozin et al. 2016): the critic maximises E_P g_f(V) − E_Q φ*(g_f(V)) ≤ D_φ(P‖Q);
    the generator minimises the bound (or, non-saturating, maximises E_Q g_f(V))."""
    div = gan_losses.f_divergence(divergence) if isinstance(divergence, str) else divergence

    def critic_loss(key, critic, real, fake):
        return gan_losses.f_gan_critic_loss(div, critic.score(real), critic.score(fake))

    def generator_loss(key, critic, real, fake):
        return gan_losses.f_gan_generator_loss(div, critic.score(fake), non_saturating=non_saturating)

    return GANObjective(f"f_gan_{div.name}", critic_loss, generator_loss)


def wgan_gp_objective(*, penalty_weight: float = 10.0) -> GANObjective:
    """WGAN-GP (Gulrajani et al. 2017): the critic minimises E_Q c − E_P c + λ E(‖∇c(x̂)‖ − 1)²,
    the generator −E_Q c."""
    check_nonnegative("penalty_weight", penalty_weight, "It is λ of the gradient penalty; the paper uses 10.")

    def critic_loss(key, critic, real, fake):
        return gan_losses.wgan_gp_critic_loss(key, critic.score, real, fake, penalty_weight=penalty_weight)

    def generator_loss(key, critic, real, fake):
        return gan_losses.wgan_generator_loss(critic.score(fake))

    return GANObjective("wgan_gp", critic_loss, generator_loss)


def mmd_gan_objective(*, kernel=None, include_input: bool = True, unbiased: bool = False) -> GANObjective:
    """MMD-GAN (Li et al. 2017): the generator minimises MMD²(e(P), e(Q)) under `kernel` (default
    `multiscale_kernel()`), the embedding e maximises it.

    With `include_input` (default) e(x) = [x, features(x)]: x ↦ e(x) is injective, so under a
    characteristic kernel the MMD is zero only when Q = P, whatever the learned features do.
    Li et al. get the same guarantee from an autoencoder loss on the features; concatenating
    the input gives it without one.
    """

    def embed(critic):
        if critic.features is None:
            raise ValueError("mmd_gan_objective needs a critic with features(x) -> (N, F) (e.g. MLPCritic, ConvCritic).")
        if not include_input:
            return critic.features
        return lambda x: jnp.concatenate([x.reshape(x.shape[0], -1), critic.features(x)], axis=-1)

    def critic_loss(key, critic, real, fake):
        return gan_losses.mmd_gan_critic_loss(embed(critic), real, fake, kernel=kernel, unbiased=unbiased)

    def generator_loss(key, critic, real, fake):
        return gan_losses.mmd_gan_loss(embed(critic), real, fake, kernel=kernel, unbiased=unbiased)

    return GANObjective("mmd_gan", critic_loss, generator_loss)
