"""Flax score networks: ScoreNet (Song's tutorial U-Net), a time-conditioned MLP, their
building blocks (Fourier time embeddings, exact fast strided/transposed convolutions,
GroupNorm) and the adapter to the samplers' per-sample `score_fn(x, t)`.

    import sdegen_jax as sg
    from sdegen_jax.nets import ScoreNet, score_fn_from
    sde = sg.sde.TutorialVESDE(sigma=25.0)
    net = ScoreNet(marginal_std=lambda t: sde.marginal_coeffs(t)[1])
    variables = net.init(key, jnp.zeros((1, 28, 28, 1)), jnp.ones((1,)))
    x = sg.sample(key, sde, score_fn_from(net.apply, variables), shape=(28, 28, 1), n=16)

The dispatching functions `conv_transpose.conv_transpose(..., impl=)` and
`strided_conv.strided_conv(..., impl=)` live in their submodules (not re-exported here, so
that the submodule names stay importable as modules).
"""

from .adapters import BatchedScore, score_fn_from
from .conv_transpose import FastConvTranspose, conv_transpose_gemm, conv_transpose_plain, conv_transpose_subpixel
from .group_norm import GroupNorm, group_norm
from .im2col import col2im, im2col
from .mlp import TimeMLP
from .scorenet import ScoreNet, count_params
from .strided_conv import FastConv, conv_gemm_grad, conv_plain, conv_space_to_depth
from .time_embedding import CONSTANTS, GaussianFourierProjection, SinusoidalEmbedding

__all__ = [
    "ScoreNet",
    "TimeMLP",
    "count_params",
    "score_fn_from",
    "BatchedScore",
    "GaussianFourierProjection",
    "SinusoidalEmbedding",
    "CONSTANTS",
    "FastConvTranspose",
    "FastConv",
    "GroupNorm",
    "group_norm",
    "conv_transpose_gemm",
    "conv_transpose_subpixel",
    "conv_transpose_plain",
    "conv_gemm_grad",
    "conv_space_to_depth",
    "conv_plain",
    "im2col",
    "col2im",
]
