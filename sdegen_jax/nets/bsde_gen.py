"""The networks of BSDE-Gen (seed 000 eq. 4.6–4.7): N_y gives y_0 from x_0, N_z the control
z(t, x) of shape (dim_y, dim_w).  Dense layers with GELU and dropout, as the BSDE-Gen reference
code (Linear → Dropout → GELU; no dropout after the first layer):

    N_y: dim_x   → h1 → h2 → h3            → dim_y
    N_z: dim_x+1 → h1 → h2 → h3·dim_w/4    → dim_y·dim_w       (input [x, t])

At the reference sizes (dim_x = dim_w = 32, dim_y = 784, hidden 64/32/64) there are 12,948,560
parameters, 12,845,056 of them in N_z's last weight matrix.

Mixed precision (issue 13): `dtype=jnp.bfloat16` computes every dense layer, GELU and dropout
in bfloat16 while the parameters (and so the optimizer) stay float32; the outputs come back in
the input's dtype, so the FBSDE scheme's y-recursion and the MMD loss stay float32.
"""

from __future__ import annotations

from typing import Any, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx
from .initializers import lecun_normal

__all__ = ["dropout", "DropoutMLP", "BSDEGenNets", "BSDEGenFns", "bsde_fns_from"]


def dropout(key, h, rate: float):
    """Inverted dropout with an explicit key (identity when key is None or rate is 0)."""
    if key is None or rate == 0.0:
        return h
    keep = jax.random.bernoulli(key, 1.0 - rate, h.shape)
    return jnp.where(keep, h / (1.0 - rate), 0.0)


class DropoutMLP(nnx.Module):
    """Linear layers with GELU (exact erf form, as torch.nn.GELU) between them and dropout
    before every activation but the first; `__call__(h, key=None)` on any leading shape.
    `dtype`: the layers' compute dtype (None: flax's promotion of input and parameters); the
    output has the input's dtype."""

    def __init__(self, widths: Sequence[int], *, dropout_rate: float, dtype: Any = None, rngs: nnx.Rngs):
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"DropoutMLP needs at least two positive widths, got {tuple(widths)}.")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}.")
        self.dropout_rate = dropout_rate
        self.layers = nnx.List([nnx.Linear(a, b, dtype=dtype, kernel_init=lecun_normal, rngs=rngs) for a, b in zip(widths[:-1], widths[1:])])

    def __call__(self, h, key=None):
        out_dtype = h.dtype
        keys = [None] * len(self.layers) if key is None else list(jax.random.split(key, len(self.layers)))
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                if i > 0:
                    h = dropout(keys[i], h, self.dropout_rate)
                h = jax.nn.gelu(h, approximate=False)
        return h.astype(out_dtype)


class BSDEGenNets(nnx.Module):
    """N_y and N_z.  Per-sample methods (any leading shape works too):
    `initial(x0 (dim_x,), key=None) -> y0 (dim_y,)` and
    `control(t (), x (dim_x,), key=None) -> z (dim_y, dim_w)`; `key` turns dropout on.
    `dtype=jnp.bfloat16`: mixed precision (float32 parameters, bfloat16 layers).
    """

    def __init__(
        self,
        dim_x: int = 32,
        dim_w: int = 32,
        dim_y: int = 784,
        *,
        hidden: Sequence[int] = (64, 32, 64),
        dropout_rate: float = 0.2,
        dtype: Any = None,
        rngs: nnx.Rngs,
    ):
        if len(hidden) != 3:
            raise ValueError(f"hidden must be three sizes (h1, h2, h3), got {tuple(hidden)}.")
        h1, h2, h3 = hidden
        if (h3 * dim_w) % 4:
            raise ValueError(f"h3 * dim_w must be divisible by 4 (N_z's third width is h3*dim_w/4), got {h3}*{dim_w}.")
        self.dim_x, self.dim_w, self.dim_y = dim_x, dim_w, dim_y
        self.initial_net = DropoutMLP((dim_x, h1, h2, h3, dim_y), dropout_rate=dropout_rate, dtype=dtype, rngs=rngs)
        self.control_net = DropoutMLP((dim_x + 1, h1, h2, h3 * dim_w // 4, dim_y * dim_w), dropout_rate=dropout_rate,
                                      dtype=dtype, rngs=rngs)

    def initial(self, x0, key=None):
        return self.initial_net(x0, key)

    def control(self, t, x, key=None):
        t = jnp.broadcast_to(jnp.asarray(t, x.dtype), x.shape[:-1] + (1,))
        z = self.control_net(jnp.concatenate([x, t], axis=-1), key)
        return z.reshape(*x.shape[:-1], self.dim_y, self.dim_w)


class BSDEGenFns(eqx.Module):
    """The pure per-sample `initial_fn(x0, key)` and `control_fn(t, x, key)` of a `BSDEGenNets`
    for `sg.bsde`, as a pytree (graph definition static, state as leaves) so compiled code is
    reused when only the weights change.  `bsde_fns_from(nets)` or `(graphdef, *states)`."""

    graphdef: nnx.GraphDef = eqx.field(static=True)
    states: tuple

    def nets(self) -> BSDEGenNets:
        return nnx.merge(self.graphdef, *self.states)

    def initial_fn(self, x0, key=None):
        return self.nets().initial(x0, key)

    def control_fn(self, t, x, key=None):
        return self.nets().control(t, x, key)


def bsde_fns_from(nets_or_graphdef, *states) -> BSDEGenFns:
    """`bsde_fns_from(nets)` or `bsde_fns_from(graphdef, params, ...)` (from `nnx.split`)."""
    if isinstance(nets_or_graphdef, nnx.GraphDef):
        return BSDEGenFns(nets_or_graphdef, tuple(states))
    graphdef, state = nnx.split(nets_or_graphdef)
    return BSDEGenFns(graphdef, (state,))
