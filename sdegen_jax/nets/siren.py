"""SIREN with shift modulations (Sitzmann et al. 2020; Dupont et al. 2022, "functa"; seed 003
§3.6–3.7): an implicit neural representation f(p, t; θ, φ) of an image as a function of pixel
coordinates p, evaluated at any set of points.

    h_1 = sin(ω₀ (W_1 [p, t] + b_1 + φ_1)),   h_{l+1} = sin(ω₀ (W_{l+1} h_l + b_{l+1} + φ_{l+1})),
    f = W_out h_L + b_out,

with θ = (W, b) shared by all images and φ = (φ_1..φ_L) the per-image shift modulations
(zero: the base network).  ω₀ = 30 and the SIREN initialisation: W_1 ~ U(−1/n, 1/n),
hidden W ~ U(−√(6/n)/ω₀, √(6/n)/ω₀) (n: fan-in), so that pre-activations stay of unit scale.
The reference size, width 128 with 7 sine layers, has 99,713 parameters ("about 100K", seed 003
§5).  Coordinates: `grid_coordinates(h, w)` puts pixel (i, j) at (i/h, j/w) in [0, 1)², the
sample points of the FFT grid, so the 32×32 grid is the even points of the 64×64 one.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from .initializers import uniform

__all__ = ["grid_coordinates", "ModulatedSiren"]


def grid_coordinates(h: int, w: int) -> jax.Array:
    """(h·w, 2) coordinates (i/h, j/w) of an h×w pixel grid, row-major."""
    i, j = np.meshgrid(np.arange(h) / h, np.arange(w) / w, indexing="ij")
    return jnp.asarray(np.stack([i.ravel(), j.ravel()], axis=-1), jnp.float32)


def _uniform(key, shape, bound):
    return uniform(bound)(key, shape, jnp.float32)


class ModulatedSiren(nnx.Module):
    """`ModulatedSiren(coord_dim=2, out_channels=1, *, width=128, depth=7, omega0=30.0, rngs)`;
    `__call__(coords (P, coord_dim), t (scalar), shifts (depth, width)) -> (P, out_channels)`."""

    def __init__(self, coord_dim: int = 2, out_channels: int = 1, *, width: int = 128, depth: int = 7,
                 omega0: float = 30.0, rngs: nnx.Rngs):
        if depth < 1 or width < 1:
            raise ValueError(f"ModulatedSiren needs depth >= 1 and width >= 1, got depth={depth}, width={width}.")
        self.coord_dim, self.out_channels, self.width, self.depth, self.omega0 = coord_dim, out_channels, width, depth, omega0
        fan_in = coord_dim + 1  # the coordinates and the time
        weights, biases = [], []
        for layer in range(depth):
            bound = 1.0 / fan_in if layer == 0 else math.sqrt(6.0 / fan_in) / omega0
            weights.append(nnx.Param(_uniform(rngs.params(), (fan_in, width), bound)))
            biases.append(nnx.Param(_uniform(rngs.params(), (width,), 1.0 / math.sqrt(fan_in))))
            fan_in = width
        self.weights, self.biases = nnx.List(weights), nnx.List(biases)
        bound = math.sqrt(6.0 / width) / omega0
        self.out_w = nnx.Param(_uniform(rngs.params(), (width, out_channels), bound))
        self.out_b = nnx.Param(jnp.zeros((out_channels,)))

    @property
    def num_modulations(self) -> int:
        return self.depth * self.width

    def __call__(self, coords, t, shifts=None):
        coords = jnp.asarray(coords)
        if coords.ndim != 2 or coords.shape[1] != self.coord_dim:
            raise ValueError(f"coords must be (P, {self.coord_dim}), got {coords.shape}.")
        shifts = jnp.zeros((self.depth, self.width)) if shifts is None else jnp.reshape(shifts, (self.depth, self.width))
        h = jnp.concatenate([coords, jnp.broadcast_to(jnp.asarray(t, coords.dtype), (coords.shape[0], 1))], axis=-1)
        for layer in range(self.depth):
            h = jnp.sin(self.omega0 * (h @ self.weights[layer][...] + self.biases[layer][...] + shifts[layer]))
        return h @ self.out_w[...] + self.out_b[...]
