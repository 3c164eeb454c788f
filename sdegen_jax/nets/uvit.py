"""U-ViT (Bao et al. 2023; seed 003 §3.8.4): a vision transformer with long skip connections,
used as the x0-denoiser of functional diffusion.

Tokens: the noisy image cut into p×p patches (a linear patch embedding), plus one time
token; a learned position embedding is added to every token, the time token's at index 0
and patch i's at index 1 + i (aligned with its token: the FDP reference code shifts them by
one).  Blocks: `depth` pre-LayerNorm transformer blocks, the first depth//2 ("in") saving
their outputs, one middle block, and depth//2 "out" blocks, each taking Linear([h, skip])
of the matching in-block's output (long skips).  Head: LayerNorm, a linear map to p²·C per
patch, unpatchify, and a final 3×3 convolution.

    net = UViT(image_size=32, in_channels=1, rngs=nnx.Rngs(0))   # 1,086,490 parameters
    x0_hat = net(x_t (N, 32, 32, 1), t (N,))

Time enters as a sinusoidal embedding of log t (wide horizons, T up to 100 and beyond at
inference, stay well conditioned); `input_scale(t)`, when given, multiplies x_t first (e.g.
1/sqrt(σ_data² + noise variance(t)), so the network sees unit-scale inputs at every t).

Mixed precision: `dtype=jnp.bfloat16` computes the linear maps, attention, LayerNorm outputs
and the final convolution in bfloat16 (flax casts each float32 parameter at the call;
LayerNorm's statistics stay float32); the parameters, the time embedding and the returned
x̂₀ are float32, as in `ScoreNet` and `TimeMLP`.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from .time_embedding import SinusoidalEmbedding
from .initializers import lecun_normal, truncated_normal

__all__ = ["TransformerBlock", "UViT"]


class TransformerBlock(nnx.Module):
    """Pre-LayerNorm block: h + MHA(LN(h)), then + MLP(LN(h)) with GELU."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, *, dtype=None, rngs: nnx.Rngs):
        self.norm1 = nnx.LayerNorm(dim, dtype=dtype, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(num_heads=num_heads, in_features=dim, decode=False, dtype=dtype,
                                           kernel_init=lecun_normal, rngs=rngs)
        self.norm2 = nnx.LayerNorm(dim, dtype=dtype, rngs=rngs)
        hidden = int(dim * mlp_ratio)
        self.fc1 = nnx.Linear(dim, hidden, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, dim, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)

    def __call__(self, h):
        h = h + self.attn(self.norm1(h))
        return h + self.fc2(nnx.gelu(self.fc1(self.norm2(h))))


class UViT(nnx.Module):
    """`UViT(image_size, in_channels=1, *, patch_size=4, dim=128, depth=4, num_heads=4,
    mlp_ratio=4.0, input_scale=None, dtype=None, rngs)`; `__call__(x (N, H, W, C), t (N,)) -> (N, H, W, C)`."""

    def __init__(
        self,
        image_size: int | tuple[int, int],
        in_channels: int = 1,
        *,
        patch_size: int = 4,
        dim: int = 128,
        depth: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        input_scale: Callable[[jax.Array], jax.Array] | None = None,
        dtype=None,
        rngs: nnx.Rngs,
    ):
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if h % patch_size or w % patch_size:
            raise ValueError(f"UViT: image size {(h, w)} must be a multiple of patch_size={patch_size}.")
        if depth < 2 or depth % 2:
            raise ValueError(f"UViT: depth must be an even number >= 2 (depth//2 in-blocks and out-blocks), got {depth}.")
        if dim % num_heads:
            raise ValueError(f"UViT: dim={dim} must be divisible by num_heads={num_heads}.")
        self.image_size, self.in_channels, self.patch_size = (h, w), in_channels, patch_size
        self.grid = (h // patch_size, w // patch_size)
        self.input_scale, self.dtype = input_scale, dtype
        num_patches = self.grid[0] * self.grid[1]
        self.patch_embed = nnx.Linear(patch_size * patch_size * in_channels, dim, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)
        self.time_embed = SinusoidalEmbedding(dim, scale=1.0, max_period=1000.0)
        self.time_mlp = nnx.Linear(dim, dim, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)
        self.pos_embed = nnx.Param(truncated_normal(0.02)(rngs.params(), (1 + num_patches, dim)))
        half = depth // 2
        block = lambda: TransformerBlock(dim, num_heads, mlp_ratio, dtype=dtype, rngs=rngs)  # noqa: E731
        self.in_blocks = nnx.List([block() for _ in range(half)])
        self.mid_block = block()
        self.skips = nnx.List([nnx.Linear(2 * dim, dim, dtype=dtype, kernel_init=lecun_normal, rngs=rngs) for _ in range(half)])
        self.out_blocks = nnx.List([block() for _ in range(half)])
        self.norm = nnx.LayerNorm(dim, dtype=dtype, rngs=rngs)
        self.head = nnx.Linear(dim, patch_size * patch_size * in_channels, dtype=dtype, kernel_init=lecun_normal, rngs=rngs)
        self.final_conv = nnx.Conv(in_channels, in_channels, kernel_size=(3, 3), padding="SAME", dtype=dtype, kernel_init=lecun_normal, rngs=rngs)

    def patchify(self, x):
        n, h, w, c = x.shape
        p = self.patch_size
        x = x.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, (h // p) * (w // p), p * p * c)

    def unpatchify(self, tokens):
        n = tokens.shape[0]
        (gh, gw), p, c = self.grid, self.patch_size, self.in_channels
        x = tokens.reshape(n, gh, gw, p, p, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, gh * p, gw * p, c)

    def tokens(self, x, t):
        """The input sequence: [time token, patch tokens] + position embeddings, (N, 1 + L, dim)."""
        time_token = self.time_mlp(self.time_embed(jnp.log(jnp.asarray(t, jnp.promote_types(x.dtype, jnp.float32)))))[:, None, :]
        tokens = jnp.concatenate([time_token.astype(x.dtype), self.patch_embed(self.patchify(x))], axis=1)
        return tokens + self.pos_embed[...][None].astype(tokens.dtype)

    def __call__(self, x, t):
        if x.ndim != 4 or x.shape[1:] != (*self.image_size, self.in_channels) or jnp.shape(t) != x.shape[:1]:
            raise ValueError(
                f"UViT takes x (N, {self.image_size[0]}, {self.image_size[1]}, {self.in_channels}) and t (N,); "
                f"got x {x.shape}, t {jnp.shape(t)}."
            )
        out_dtype = x.dtype
        if self.input_scale is not None:
            x = x * jnp.asarray(self.input_scale(t), x.dtype).reshape(-1, 1, 1, 1)
        if self.dtype is not None:
            x = x.astype(self.dtype)
        h = self.tokens(x, t)
        saved = []
        for block in self.in_blocks:
            h = block(h)
            saved.append(h)
        h = self.mid_block(h)
        for skip, block in zip(self.skips, self.out_blocks):
            h = block(skip(jnp.concatenate([h, saved.pop()], axis=-1)))
        out = self.unpatchify(self.head(self.norm(h))[:, 1:])
        return self.final_conv(out).astype(out_dtype)
