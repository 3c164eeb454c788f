"""GroupNorm over NHWC feature maps, written for few memory passes.

Same function and parameters as `flax.nnx.GroupNorm(C, num_groups, epsilon=epsilon)` on NHWC input
(statistics over H, W and the channels of a group, biased variance, per-channel "scale" and
"bias"), but computed as

  k[n, g] = mean of x at the first spatial position over the group's channels   (a shift)
  s1[n, c] = Σ_hw (x − k),  s2[n, c] = Σ_hw (x − k)²    one fused pass (per-channel sums)
  m = s1/M,  var = s2/M − m² per (n, group)             tiny
  y = (x − k) · a[n, c] + b[n, c]                       one fused pass

with a = scale · rsqrt(var + ε), b = bias − m · a (the mean is k + m).  The shift is the
"shifted data" variance algorithm: var is the same for any k, but E[x²] − E[x]² without it
(flax's default "fast variance") cancels catastrophically in float32 when |mean| ≫ std, and
how badly depends on XLA's summation order: ScoreNet's float32 output was 2.8e-5 off its
float64 value with jaxlib 0.10.2 and 7.6e-4 off with 0.10.0, at the same weights (1e-6 with
the shift, under both).  With k one sample of the group, |mean − k| is of the order of the
std, so nothing cancels.  k is a constant to autodiff (`stop_gradient`), which is exact:
the output x − mean and var do not depend on k.  Autodiff of this form needs two more
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
    group_size = C // num_groups
    first = xf[(slice(None),) + (0,) * len(spatial)]  # (N, C)
    shift = lax.stop_gradient(jnp.repeat(first.reshape(N, num_groups, group_size).mean(-1), group_size, axis=-1))
    xs = xf - shift.reshape((N,) + (1,) * len(spatial) + (C,))
    s1 = jnp.sum(xs, axis=spatial).reshape(N, num_groups, -1).sum(-1)
    s2 = jnp.sum(xs * xs, axis=spatial).reshape(N, num_groups, -1).sum(-1)
    centred_mean = s1 / count
    var = jnp.maximum(s2 / count - centred_mean * centred_mean, 0.0)
    rstd = lax.rsqrt(var + epsilon)  # (N, G)
    a = scale * jnp.repeat(rstd, group_size, axis=-1)  # (N, C)
    b = bias - jnp.repeat(centred_mean, group_size, axis=-1) * a
    shape = (N,) + (1,) * len(spatial) + (C,)
    return (xs * a.reshape(shape) + b.reshape(shape)).astype(x.dtype)


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
