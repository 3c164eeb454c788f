"""Turn a batched NNX network into the per-sample `score_fn(x, t)` / `model_fn(x, t)` that the
samplers and losses take (with a `batched` form they use when present)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from flax import nnx

__all__ = ["PerSampleScore", "score_fn_from", "GridDenoiser", "denoiser_on_grid"]


class PerSampleScore(eqx.Module):
    """score_fn(x, t) for ONE sample x (e.g. (H, W, C)) and a scalar t, from an NNX model
    `model(x (N, ...), t (N,)) -> (N, ...)` called on x[None], t[None].

    A pytree: the graph definition is a static field, the state (arrays) its leaves, so a
    sampler compiled for it is reused when only the weights change.  The model is rebuilt
    with `nnx.merge` at trace time only.  Under the samplers' `vmap` the batch axis of 1
    added here becomes the real batch: the same numbers, and with the fast layers the same
    forward speed as a batched call (the training step is slower, see `batched`).
    """

    graphdef: nnx.GraphDef = eqx.field(static=True)
    states: tuple

    def model(self) -> nnx.Module:
        """The NNX model (a fresh object each call; its arrays are this score_fn's leaves)."""
        return nnx.merge(self.graphdef, *self.states)

    def __call__(self, x, t):
        out = self.model()(x[None], jnp.reshape(jnp.asarray(t, x.dtype), (1,)))
        return out[0]

    def batched(self, x, t):
        """The same function on a batch: x (N, ...), t (N,).  The library's losses and batch
        score evaluations call this form when it is present: XLA's CPU backend runs the
        training step of the batched network about 12% faster than the vmap of the per-sample
        call (scorenet.py), and the numbers are the same."""
        return self.model()(x, jnp.asarray(t, x.dtype))


def score_fn_from(model_or_graphdef, *states) -> PerSampleScore:
    """`score_fn_from(model)` or `score_fn_from(graphdef, state, ...)` (as from `nnx.split`):
    the per-sample `score_fn(x, t)` of a batched NNX model `model(x (N, ...), t (N,))`."""
    if isinstance(model_or_graphdef, nnx.GraphDef):
        if not states:
            raise ValueError("score_fn_from(graphdef, state, ...): pass the state(s) from nnx.split with the graphdef.")
        return PerSampleScore(model_or_graphdef, tuple(states))
    if states:
        raise ValueError("score_fn_from(model) takes a model alone; pass (graphdef, *states) to give states.")
    if not isinstance(model_or_graphdef, nnx.Module):
        raise ValueError(
            f"score_fn_from takes an nnx.Module or (nnx.GraphDef, state, ...); got {type(model_or_graphdef).__name__}. "
            "A plain function score_fn(x, t) can be passed to the samplers directly."
        )
    graphdef, state = nnx.split(model_or_graphdef)
    return PerSampleScore(graphdef, (state,))


class GridDenoiser(eqx.Module):
    """A coordinate-based x0-denoiser (an NNX model with `at(x, t, coords)` and `image_size`:
    `ModulationDenoiser`, `MetaSirenDenoiser`) as the per-sample `denoiser(x, t)` of ANY pixel
    grid (seed 003 §4.1, resolution invariance): x (H', W', C) is carried to the model's grid by
    band-limited resampling (`sg.functional.resample`), read there, and the model's function is
    queried at the H'×W' pixel coordinates.  On the model's own grid it is the model itself."""

    graphdef: nnx.GraphDef = eqx.field(static=True)
    states: tuple

    def __call__(self, x, t):
        from ..functional.spectral import resample
        from .siren import grid_coordinates

        model = nnx.merge(self.graphdef, *self.states)
        own = (model.image_size, model.image_size)
        x_own = x if x.shape[:2] == own else resample(x, own)
        out = model.at(x_own[None], jnp.reshape(jnp.asarray(t, x.dtype), (1,)), grid_coordinates(*x.shape[:2]))
        return out[0].reshape(x.shape)


def denoiser_on_grid(model: nnx.Module) -> GridDenoiser:
    """`GridDenoiser` of a coordinate-based NNX denoiser (see there)."""
    if not (hasattr(model, "at") and hasattr(model, "image_size")):
        raise ValueError(f"denoiser_on_grid needs a coordinate-based model with at(x, t, coords) and image_size "
                         f"(ModulationDenoiser, MetaSirenDenoiser); got {type(model).__name__}.")
    graphdef, state = nnx.split(model)
    return GridDenoiser(graphdef, (state,))
