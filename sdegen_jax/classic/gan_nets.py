"""Small GAN networks (seed 004 "Generative adversarial networks": 𝒢 and ℱ "parametrized by
DNNs"), as Flax NNX modules.

- `MLPGenerator` / `MLPCritic`: LeakyReLU MLPs for low-dimensional (2-D toy) data.
- `ConvGenerator` / `ConvCritic`: DCGAN-style nets for 28×28×1 images (NHWC): the generator
  goes Linear → 7×7×2C → two stride-2 transposed convolutions → 28×28×1; the critic mirrors
  it with two stride-2 convolutions.  No batch normalisation, so a critic treats samples
  independently, as the WGAN gradient penalty requires.  Defaults: ~0.24M / ~0.04M parameters.

Generators map z (N, latent_dim) to samples; critics map samples (N, ...) to raw scores (N,),
to be fed to `gan_losses` (as logits, f-GAN's V, a WGAN critic, or, with `features`, an
MMD-GAN embedding).  `output="unit"` ends the image generator with a sigmoid ([0, 1]
pixels), "symmetric" with tanh ([−1, 1]); "linear" leaves it unbounded.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from .._checks import check_choice, check_int_at_least

__all__ = ["OUTPUTS", "MLPGenerator", "MLPCritic", "ConvGenerator", "ConvCritic"]

OUTPUTS = ("unit", "symmetric", "linear")


def _output_activation(h: jax.Array, output: str) -> jax.Array:
    if output == "unit":
        return jax.nn.sigmoid(h)
    if output == "symmetric":
        return jnp.tanh(h)
    return h


def _mlp(in_features: int, hidden: Sequence[int], rngs: nnx.Rngs) -> nnx.List:
    widths = (in_features, *hidden)
    return nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths[:-1], widths[1:])])


def _leaky_stack(layers: nnx.List, h: jax.Array) -> jax.Array:
    """h through each linear layer followed by LeakyReLU(0.2)."""
    for layer in layers:
        h = nnx.leaky_relu(layer(h), 0.2)
    return h


class MLPGenerator(nnx.Module):
    """z (N, latent_dim) → x (N, data_dim): LeakyReLU MLP with a linear output."""

    def __init__(self, latent_dim: int = 2, data_dim: int = 2, *, hidden: Sequence[int] = (128, 128), rngs: nnx.Rngs):
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("data_dim", data_dim, 1)
        self.latent_dim, self.data_dim = latent_dim, data_dim
        self.hidden = _mlp(latent_dim, hidden, rngs)
        self.out = nnx.Linear((latent_dim, *hidden)[-1], data_dim, rngs=rngs)

    def __call__(self, z: jax.Array) -> jax.Array:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"MLPGenerator expects z of shape (N, {self.latent_dim}), got {z.shape}.")
        return self.out(_leaky_stack(self.hidden, z))


class MLPCritic(nnx.Module):
    """x (N, data_dim) → (N,) raw scores; `features(x)` is the last hidden layer (an MMD-GAN embedding)."""

    def __init__(self, data_dim: int = 2, *, hidden: Sequence[int] = (128, 128), rngs: nnx.Rngs):
        check_int_at_least("data_dim", data_dim, 1)
        self.data_dim = data_dim
        self.hidden = _mlp(data_dim, hidden, rngs)
        self.out = nnx.Linear((data_dim, *hidden)[-1], 1, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"MLPCritic expects x of shape (N, {self.data_dim}), got {x.shape}.")
        return _leaky_stack(self.hidden, x)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(self.features(x))[:, 0]


class ConvGenerator(nnx.Module):
    """z (N, latent_dim) → images (N, 28, 28, 1): Linear → (7, 7, 2C) → ConvT(2C→C, 4×4, /2) →
    ConvT(C→1, 4×4, /2), LeakyReLU between, then the `output` activation."""

    def __init__(self, latent_dim: int = 64, *, channels: int = 32, output: str = "unit", rngs: nnx.Rngs):
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("channels", channels, 1)
        check_choice("output", output, OUTPUTS)
        self.latent_dim, self.channels, self.output = latent_dim, channels, output
        self.project = nnx.Linear(latent_dim, 7 * 7 * 2 * channels, rngs=rngs)
        self.up1 = nnx.ConvTranspose(2 * channels, channels, (4, 4), strides=(2, 2), padding="SAME", rngs=rngs)
        self.up2 = nnx.ConvTranspose(channels, 1, (4, 4), strides=(2, 2), padding="SAME", rngs=rngs)

    def __call__(self, z: jax.Array) -> jax.Array:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"ConvGenerator expects z of shape (N, {self.latent_dim}), got {z.shape}.")
        h = nnx.leaky_relu(self.project(z), 0.2).reshape(z.shape[0], 7, 7, 2 * self.channels)
        h = nnx.leaky_relu(self.up1(h), 0.2)
        return _output_activation(self.up2(h), self.output)


class ConvCritic(nnx.Module):
    """images (N, 28, 28, 1) → (N,): Conv(1→C, 4×4, /2) → Conv(C→2C, 4×4, /2) (LeakyReLU 0.2) →
    flatten (`features`, 7·7·2C) → Linear → 1."""

    def __init__(self, *, channels: int = 32, rngs: nnx.Rngs):
        check_int_at_least("channels", channels, 1)
        self.channels = channels
        self.down1 = nnx.Conv(1, channels, (4, 4), strides=(2, 2), padding="SAME", rngs=rngs)
        self.down2 = nnx.Conv(channels, 2 * channels, (4, 4), strides=(2, 2), padding="SAME", rngs=rngs)
        self.out = nnx.Linear(7 * 7 * 2 * channels, 1, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        if x.shape[1:] != (28, 28, 1):
            raise ValueError(f"ConvCritic expects images of shape (N, 28, 28, 1) (NHWC), got {x.shape}.")
        h = nnx.leaky_relu(self.down1(x), 0.2)
        h = nnx.leaky_relu(self.down2(h), 0.2)
        return h.reshape(x.shape[0], -1)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(self.features(x))[:, 0]
