"""Flax NNX networks: ScoreNet (Song's tutorial U-Net), a time-conditioned MLP, their
building blocks (Fourier time embeddings, exact fast strided/transposed convolutions,
GroupNorm), the U-ViT of seed 003, BSDE-Gen's N_y/N_z (`BSDEGenNets`) and the adapters
to the per-sample functions the core takes (`score_fn_from`, `bsde_fns_from`).

    import sdegen_jax as sg
    from flax import nnx
    from sdegen_jax.nets import ScoreNet, score_fn_from
    sde = sg.sde.TutorialVESDE(sigma=25.0)
    model = ScoreNet(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(0))
    x = sg.sample(key, sde, score_fn_from(model), shape=(28, 28, 1), n=16)

Modules are `flax.nnx` modules, built eagerly with explicit `rngs=nnx.Rngs(seed)` and
called like functions, `model(x (N, ...), t (N,))`.  Trainable arrays are `nnx.Param`s;
fixed ones (ScoreNet's Fourier frequencies) are `Constant`s, so
`graphdef, params, constants = nnx.split(model, nnx.Param, ...)` separates what the
optimiser updates from what checkpoints must still hold, and
`count_params(nnx.state(model))` counts both (ScoreNet: 1,115,425).

In hot loops (train steps, samplers), do not use `nnx.jit`: it re-splits and re-merges the
module graph in Python on every call.  Split once outside (`nnx.split`), pass the state
through `jax.jit`/`jax.lax.scan` as an ordinary pytree and rebuild the module inside with
`nnx.merge(graphdef, state)`, which costs Python time only while tracing:

    graphdef, params, constants = nnx.split(model, nnx.Param, ...)

    @jax.jit
    def loss(params, x, t):
        return jnp.mean(nnx.merge(graphdef, params, constants)(x, t) ** 2)

`score_fn_from` does exactly this for the samplers: its result is a pytree whose leaves
are the state, so a compiled sampler is reused when only the weights change.

The fast layers are plain JAX (no custom derivative rules): reverse mode, forward mode
(`jax.jvp`, `jax.jacfwd`) and `jax.vmap` of per-sample calls all work; `layers="plain"`
builds the same network from `nnx.Conv`/`nnx.ConvTranspose`/`nnx.GroupNorm` with the same
state.  The sub-pixel and space-to-depth rewrites are studied in
`benchmarks/layer_study.py`, not shipped here.
"""

from .._tree import count_params
from . import initializers
from .adapters import GridDenoiser, PerSampleScore, denoiser_on_grid, score_fn_from
from .bsde_gen import BSDEGenFns, BSDEGenNets, DropoutMLP, bsde_fns_from
from .conv_transpose import FastConvTranspose, conv_transpose_gemm, conv_transpose_padding, conv_transpose_plain
from .group_norm import GroupNorm, group_norm
from .im2col import col2im, im2col
from .mlp import TimeMLP
from .noisy_classifier import NoisyClassifier
from .scorenet import ScoreNet
from .strided_conv import FastConv, conv_plain, strided_conv_gemm
from .time_embedding import Constant, GaussianFourierProjection, SinusoidalEmbedding
from .meta_siren import MetaSirenDenoiser
from .modulation import ModulationDenoiser, ViTEncoder
from .siren import ModulatedSiren, grid_coordinates
from .uvit import TransformerBlock, UViT

__all__ = [
    "ScoreNet",
    "initializers",
    "ModulatedSiren",
    "grid_coordinates",
    "ModulationDenoiser",
    "ViTEncoder",
    "MetaSirenDenoiser",
    "GridDenoiser",
    "denoiser_on_grid",
    "UViT",
    "BSDEGenNets",
    "BSDEGenFns",
    "bsde_fns_from",
    "DropoutMLP",
    "TransformerBlock",
    "TimeMLP",
    "NoisyClassifier",
    "count_params",
    "score_fn_from",
    "PerSampleScore",
    "Constant",
    "GaussianFourierProjection",
    "SinusoidalEmbedding",
    "FastConvTranspose",
    "FastConv",
    "GroupNorm",
    "group_norm",
    "conv_transpose_gemm",
    "conv_transpose_plain",
    "conv_transpose_padding",
    "strided_conv_gemm",
    "conv_plain",
    "im2col",
    "col2im",
]
