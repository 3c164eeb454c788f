"""GroupNorm over NHWC feature maps, written for few memory passes.

Same function and parameters as `flax.nnx.GroupNorm(C, num_groups, epsilon=epsilon)` on NHWC input
(statistics over H, W and the channels of a group, biased variance E[x²] − E[x]² clipped
at 0 as flax's default "fast variance", per-channel "scale" and "bias"), but computed as

  s1[n, c] = Σ_hw x,  s2[n, c] = Σ_hw x²          one fused pass (per-channel sums)
  mean, var per (n, group) from s1, s2            tiny
  y = x · a[n, c] + b[n, c]                       one fused pass

with a = scale · rsqrt(var + ε), b = bias − mean · a.  Autodiff of this form needs two more
passes (Σ_hw dy, Σ_hw dy·x, then dx = a·dy + u[n,c] + v[n,c]·x), against the many
reductions over a 5-D (N, H, W, G, C/G) view that the generic layer produces: GroupNorm
+ swish forward and backward take about half the time of `nnx.GroupNorm`'s at ScoreNet's
shapes (section "group_norm_plus_swish" of results/bench_layers.json); the whole training
step gains a few percent.  Plain JAX, so every autodiff mode works.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx
from jax import lax

__all__ = ["group_norm", "GroupNorm"]


def group_norm(x: jax.Array, scale: jax.Array, bias: jax.Array, num_groups: int, epsilon: float = 1e-5) -> jax.Array:
    """GroupNorm of NHWC `x` (any number of spatial axes between N and C)."""
    C = x.shape[-1]
    if num_groups <= 0 or C % num_groups:
        raise ValueError(f"num_groups ({num_groups}) must divide the number of channels ({C}).")
    N = x.shape[0]
    spatial = tuple(range(1, x.ndim - 1))
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    count = C // num_groups
    for ax in spatial:
        count *= x.shape[ax]
    s1 = jnp.sum(xf, axis=spatial).reshape(N, num_groups, -1).sum(-1)
    s2 = jnp.sum(xf * xf, axis=spatial).reshape(N, num_groups, -1).sum(-1)
    mean = s1 / count
    var = jnp.maximum(s2 / count - mean * mean, 0.0)
    rstd = lax.rsqrt(var + epsilon)  # (N, G)
    group_size = C // num_groups
    a = scale * jnp.repeat(rstd, group_size, axis=-1)  # (N, C)
    b = bias - jnp.repeat(mean, group_size, axis=-1) * a
    shape = (N,) + (1,) * len(spatial) + (C,)
    return (xf * a.reshape(shape) + b.reshape(shape)).astype(x.dtype)


class GroupNorm(nnx.Module):
    """Drop-in for `nnx.GroupNorm(num_features, num_groups, epsilon=epsilon)` on
    channels-last input: same state ("scale" ones, "bias" zeros, drawing the same two keys
    from `rngs`) and output, computed by `group_norm`."""

    def __init__(self, num_features: int, num_groups: int = 32, epsilon: float = 1e-5, *, rngs: nnx.Rngs):
        if num_groups <= 0 or num_features % num_groups:
            raise ValueError(
                f"num_groups ({num_groups}) must divide num_features ({num_features}); pick a divisor of "
                f"{num_features}."
            )
        self.num_features, self.num_groups, self.epsilon = num_features, num_groups, epsilon
        self.scale = nnx.Param(nnx.initializers.ones_init()(rngs.params(), (num_features,)))
        self.bias = nnx.Param(nnx.initializers.zeros_init()(rngs.params(), (num_features,)))

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim < 2 or x.shape[-1] != self.num_features:
            raise ValueError(f"GroupNorm takes (N, ..., {self.num_features}) inputs; got shape {x.shape}.")
        return group_norm(x, self.scale[...], self.bias[...], self.num_groups, self.epsilon)
