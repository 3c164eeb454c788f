"""The classic generative families the documents compare SDE models against (seed 000
Chapter 2, seed 004): probabilistic PCA, VAEs, RealNVP flows and GANs.

    from sdegen_jax import classic
    model = classic.fit_ppca(x, latent_dim=2)                         # closed-form MLE
    logp = model.log_prob(x)                                          # eq. 2.13
    bound = classic.elbo(key, x, encoder, decoder, classic.categorical_log_likelihood)

Pure objectives (`ppca`, `vae`, `gan_losses`) take arrays and plain callables
(`encode(x) -> (mu, logvar)`, `decode(z) -> params`, critic outputs), never Flax objects;
the networks (`vae_nets`, `gan_nets`, `RealNVP`) are Flax NNX modules called on batches.
"""

from __future__ import annotations

from .gan_losses import (
    F_DIVERGENCES,
    JENSEN_SHANNON,
    KL,
    REVERSE_KL,
    SQUARED_HELLINGER,
    FDivergence,
    f_divergence,
    f_gan_bound,
    f_gan_critic_loss,
    f_gan_generator_loss,
    gradient_penalty,
    minimax_discriminator_loss,
    minimax_generator_loss,
    mmd_gan_critic_loss,
    mmd_gan_loss,
    non_saturating_generator_loss,
    random_interpolates,
    wgan_critic_loss,
    wgan_generator_loss,
    wgan_gp_critic_loss,
)
from .gan_objectives import (
    CriticFns,
    GANObjective,
    f_gan_objective,
    minimax_objective,
    mmd_gan_objective,
    wgan_gp_objective,
)
from .gan_nets import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from .ppca import PPCA, fit_ppca
from .realnvp import (
    CouplingMLP,
    RealNVP,
    alternating_mask,
    bits_per_dim,
    coupling_forward,
    coupling_inverse,
)
from .vae import (
    categorical_log_likelihood,
    diagonal_gaussian_log_prob,
    elbo,
    gaussian_kl,
    gaussian_log_likelihood,
    importance_weighted_bound,
    quantize,
    reparameterize,
    sample_categorical,
    standard_normal_log_prob,
)
from .vae_nets import CategoricalDecoder, GaussianDecoder, VAEEncoder

__all__ = [
    # pPCA
    "PPCA",
    "fit_ppca",
    # VAE
    "reparameterize",
    "gaussian_kl",
    "diagonal_gaussian_log_prob",
    "standard_normal_log_prob",
    "quantize",
    "categorical_log_likelihood",
    "gaussian_log_likelihood",
    "sample_categorical",
    "elbo",
    "importance_weighted_bound",
    "VAEEncoder",
    "CategoricalDecoder",
    "GaussianDecoder",
    # RealNVP
    "RealNVP",
    "CouplingMLP",
    "alternating_mask",
    "coupling_forward",
    "coupling_inverse",
    "bits_per_dim",
    # GANs
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
    "CriticFns",
    "GANObjective",
    "minimax_objective",
    "f_gan_objective",
    "wgan_gp_objective",
    "mmd_gan_objective",
    "MLPGenerator",
    "MLPCritic",
    "ConvGenerator",
    "ConvCritic",
]
