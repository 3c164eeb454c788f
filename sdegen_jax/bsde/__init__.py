"""BSDE-Gen (seed 000 §3.2.2, §4.2): a forward–backward SDE whose backward process y, driven by
the same Brownian increments as the forward process x, carries noise to data.

    fbsde = sg.bsde.FBSDE(dim_x=32, dim_w=32, dim_y=784)             # OU forward, f = −y + Σ|z|
    y_T = sg.bsde.generate(key, fbsde, initial_fn, control_fn, n=64)   # (64, 784)

`initial_fn(x0, key) -> y0` and `control_fn(t, x, key) -> z (dim_y, dim_w)` are per-sample
functions (the networks N_y and N_z of eq. 4.6; `key` drives their dropout and is None at
sampling time).  The core imports no Flax: `sg.nets.BSDEGenNets` provides the networks,
`sg.losses.mmd2` the loss and `sg.train.bsde_training` the sharded training step.
"""

from .coefficients import (
    GENERATORS,
    ScaledIdentity,
    brownian_drift,
    brownian_diffusion,
    generator_linear,
    generator_linear_abs_z,
    generator_neg_abs_y,
    ou_drift,
    ou_diffusion,
)
from .encoder import PCAEncoder
from .fbsde import FBSDE
from .scheme import brownian_increments, euler_fbsde, generate, sample_x0, terminal_values

__all__ = [
    "FBSDE",
    "PCAEncoder",
    "euler_fbsde",
    "terminal_values",
    "generate",
    "sample_x0",
    "brownian_increments",
    "ou_drift",
    "ou_diffusion",
    "brownian_drift",
    "brownian_diffusion",
    "generator_linear_abs_z",
    "generator_neg_abs_y",
    "generator_linear",
    "GENERATORS",
    "ScaledIdentity",
]
