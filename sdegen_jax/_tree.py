"""Small pytree utilities shared by every layer."""

from __future__ import annotations

import math

import jax


def count_params(tree) -> int:
    """Number of scalars in a pytree of arrays or `jax.ShapeDtypeStruct`s (e.g. an
    `nnx.State`, or the output of `jax.eval_shape`)."""
    return int(sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(tree)))
