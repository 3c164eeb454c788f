"""Parameter initialisers compiled once per shape with XLA's backend optimisations off.

Eager Flax initialisation compiles one threefry + sampling program per parameter shape at
XLA's default optimisation level: building a ScoreNet took 18.7 s on 2 CPUs, 17.8 s of it
compiling (`_truncated_normal` at 0.6–2.2 s per kernel shape; `benchmarks/` and the
experiments build several networks per process).  An initialiser runs once, so its speed
never matters and its compile time does: compiled at XLA `-O0` the same kernels take
0.3–1 s each.  The values are those of the Flax initialisers they wrap up to float32
rounding (they differ by ≤ 1 ulp-scale amounts, ~2e-8 on lecun-normal kernels).

Inside a trace (`jax.jit`, `nnx.eval_shape`) the key is a tracer: the wrapped initialiser is
called directly and compiles as part of the enclosing program, which sets its own options.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["FAST_COMPILE", "compiled_once", "build_compiled", "lecun_normal", "normal", "truncated_normal", "uniform"]

# XLA's CPU/GPU backend optimisation level 0 and no expensive LLVM passes, per computation
# (`jax.jit(..., compiler_options=FAST_COMPILE)`): the process-wide flags are left alone.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}

Initializer = Callable[..., jax.Array]


def compiled_once(init: Initializer) -> Initializer:
    """`init(key, shape, dtype=float32)` as one `-O0` program per (shape, dtype), usable as a
    Flax `kernel_init`/`bias_init`."""
    jitted = jax.jit(init, static_argnums=(1, 2), compiler_options=FAST_COMPILE)

    @functools.wraps(init)
    def wrapped(key, shape, dtype=jnp.float32):
        if isinstance(key, jax.core.Tracer):  # inside a trace: part of the enclosing program
            return init(key, shape, dtype)
        return jitted(key, tuple(int(s) for s in shape), jnp.dtype(dtype))

    return wrapped


lecun_normal = compiled_once(nnx.initializers.lecun_normal())  # Flax's default kernel init (Linear, Conv)


@functools.cache  # one compiled initialiser per hyperparameter (jit caches per function object)
def normal(stddev: float = 1.0) -> Initializer:
    """`jax.random.normal(key, shape, dtype) * stddev`, compiled once per shape at -O0."""
    return compiled_once(nnx.initializers.normal(stddev))


@functools.cache
def truncated_normal(stddev: float = 1.0, lower: float = -2.0, upper: float = 2.0) -> Initializer:
    """`stddev * jax.random.truncated_normal(key, lower, upper, shape, dtype)`, compiled once per
    shape at -O0 (the ViT position embeddings: stddev 0.02)."""
    return compiled_once(lambda key, shape, dtype=jnp.float32: stddev * jax.random.truncated_normal(
        key, lower, upper, shape, dtype))


@functools.cache
def uniform(bound: float) -> Initializer:
    """U(−bound, bound), compiled once per shape at -O0 (SIREN's layers)."""
    return compiled_once(lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound))


def build_compiled(constructor: Callable[[], nnx.Module]) -> nnx.Module:
    """`constructor()` (an NNX module built with its own `nnx.Rngs`) with all its initialisers
    compiled as one `-O0` program: for modules whose layers are not built with this file's
    initialisers (Flax's defaults), or to pay one compile instead of one per parameter shape.
    The values are the eager construction's up to float32 rounding."""
    graphdef = nnx.graphdef(nnx.eval_shape(constructor))
    state = jax.jit(lambda: nnx.state(constructor()), compiler_options=FAST_COMPILE)()
    return nnx.merge(graphdef, state)
