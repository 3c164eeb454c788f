"""The modulation network of seed 003 §4.1 (eq. 4.3): x̂₀(p) = f(p, t; θ, g(x_t, t; ψ)).

g is a ViT encoder of the noisy image and the time (the U-ViT's patch tokens, time token and
transformer blocks, mean-pooled), with two linear layers on top of its latent, as in the
thesis: one makes a latent modulation vector, the other decodes it into the SIREN's per-layer
shifts (Dupont et al.'s latent modulations).  f is a `ModulatedSiren` queried at pixel
coordinates, so the denoiser evaluates on any grid: `at(x_t, t, coords)` reads x_t at its own
resolution (the encoder's, `image_size`) and answers at `coords`.  `__call__(x (N, H, W, C),
t (N,))` answers on x's own grid (H, W = image_size), which is what `score_from_denoiser` and
the x0 losses take.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from .siren import ModulatedSiren, grid_coordinates
from .time_embedding import SinusoidalEmbedding
from .uvit import TransformerBlock
from .initializers import lecun_normal, truncated_normal

__all__ = ["ViTEncoder", "ModulationDenoiser"]


class ViTEncoder(nnx.Module):
    """Patch tokens + a time token (sinusoidal embedding of log t) through `depth` pre-LN
    transformer blocks; returns the mean of the final tokens, (N, dim)."""

    def __init__(self, image_size: int, in_channels: int = 1, *, patch_size: int = 4, dim: int = 128, depth: int = 4,
                 num_heads: int = 4, mlp_ratio: float = 4.0, rngs: nnx.Rngs):
        if image_size % patch_size:
            raise ValueError(f"ViTEncoder: image_size {image_size} must be a multiple of patch_size={patch_size}.")
        self.image_size, self.in_channels, self.patch_size = image_size, in_channels, patch_size
        num_patches = (image_size // patch_size) ** 2
        self.patch_embed = nnx.Linear(patch_size * patch_size * in_channels, dim, kernel_init=lecun_normal, rngs=rngs)
        self.time_embed = SinusoidalEmbedding(dim, scale=1.0, max_period=1000.0)
        self.time_mlp = nnx.Linear(dim, dim, kernel_init=lecun_normal, rngs=rngs)
        self.pos_embed = nnx.Param(truncated_normal(0.02)(rngs.params(), (1 + num_patches, dim)))
        self.blocks = nnx.List([TransformerBlock(dim, num_heads, mlp_ratio, rngs=rngs) for _ in range(depth)])
        self.norm = nnx.LayerNorm(dim, rngs=rngs)

    def __call__(self, x, t):
        n, h, w, c = x.shape
        p = self.patch_size
        patches = x.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, -1, p * p * c)
        time_token = self.time_mlp(self.time_embed(jnp.log(jnp.asarray(t, x.dtype))))[:, None, :]
        tokens = jnp.concatenate([time_token, self.patch_embed(patches)], axis=1) + self.pos_embed[...][None]
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens).mean(axis=1)


class ModulationDenoiser(nnx.Module):
    """`ModulationDenoiser(image_size=32, in_channels=1, *, latent_dim=64, siren_width=128,
    siren_depth=7, vit_dim=128, vit_depth=4, ..., input_scale=None, rngs)`: 986,561 parameters at these sizes,
    820,352 in the ViT, 99,713 in the SIREN and the rest in the two modulation layers."""

    def __init__(self, image_size: int = 32, in_channels: int = 1, *, latent_dim: int = 64, siren_width: int = 128,
                 siren_depth: int = 7, omega0: float = 30.0, vit_dim: int = 128, vit_depth: int = 4, num_heads: int = 4,
                 patch_size: int = 4, input_scale=None, rngs: nnx.Rngs):
        self.image_size, self.in_channels = image_size, in_channels
        self.input_scale = input_scale  # `input_scale(t)` multiplies x_t before the encoder (as UViT's)
        self.encoder = ViTEncoder(image_size, in_channels, patch_size=patch_size, dim=vit_dim, depth=vit_depth,
                                  num_heads=num_heads, rngs=rngs)
        self.to_latent = nnx.Linear(vit_dim, latent_dim, kernel_init=lecun_normal, rngs=rngs)
        self.siren = ModulatedSiren(2, in_channels, width=siren_width, depth=siren_depth, omega0=omega0, rngs=rngs)
        # Zero-initialised decoder: training starts from the base SIREN (all shifts 0).
        self.to_shifts = nnx.Linear(latent_dim, self.siren.num_modulations, kernel_init=nnx.initializers.zeros,
                                    rngs=rngs)

    def modulations(self, x, t):
        """The per-image shifts g(x_t, t; ψ), (N, siren_depth · siren_width)."""
        if self.input_scale is not None:
            x = x * jnp.asarray(self.input_scale(t), x.dtype).reshape(-1, 1, 1, 1)
        return self.to_shifts(self.to_latent(self.encoder(x, t)))

    def at(self, x, t, coords):
        """x̂₀ at `coords` (P, 2) for each image of x (N, image_size, image_size, C): (N, P, C)."""
        shifts = self.modulations(x, t)
        return jax.vmap(lambda ti, si: self.siren(coords, ti, si))(jnp.asarray(t, x.dtype), shifts)

    def __call__(self, x, t):
        if x.ndim != 4 or x.shape[1:3] != (self.image_size, self.image_size) or jnp.shape(t) != x.shape[:1]:
            raise ValueError(f"ModulationDenoiser takes x (N, {self.image_size}, {self.image_size}, C) and t (N,); "
                             f"got x {x.shape}, t {jnp.shape(t)}.")
        out = self.at(x, t, grid_coordinates(self.image_size, self.image_size))
        return out.reshape(x.shape)
