"""The sampler protocol, and the base class of samplers that step along a fixed time grid.

A sampler is any callable

    sampler(key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None)
        -> (samples, SampleInfo)

that moves the batch `x_init` (n, *shape), a sample of p_{ts[0]}, along the decreasing time
grid `ts` (length steps + 1, from ts[0] down to ts[-1]) under the per-sample
`score_fn(x, t)`.  The grid is uniform in time unless the sampler has a method
`time_grid(sde, T, eps, steps) -> ts` (the few-step samplers' `schedule`, see `schedules`).
`num_saves` asks for the state at every steps/num_saves steps (the path); `chunk_size` bounds how many samples one score evaluation sees (`batching.map_batch`).  A
sampler whose class attribute `adaptive` is True chooses its own steps and reads only the end
points of `ts` and its save times.

`sg.sample(..., method=...)` accepts any such object: the library's samplers are
`equinox.Module`s (immutable, hashable, with documented fields), and user samplers need not
subclass anything.  Most samplers are easiest written as a `StepSampler`: give the update of
one sample from t to t_next and the score evaluations it costs.
"""

from __future__ import annotations

import abc
from typing import Callable, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .batching import map_batch

__all__ = ["ScoreFn", "SampleInfo", "saved_times", "AbstractSampler", "run_scan", "StepSampler"]

ScoreFn = Callable[[jax.Array, jax.Array], jax.Array]


class SampleInfo(eqx.Module):
    """What a sampler did: `nfe` (score evaluations per sample), `num_steps` (solver steps),
    and, when a path was requested, `ts` (the times of the saved states, decreasing) and
    `path` (n, len(ts), *shape); both None otherwise."""

    nfe: jax.Array
    num_steps: jax.Array
    ts: jax.Array | None = None
    path: jax.Array | None = None


def saved_times(ts: jax.Array, num_saves: int | None) -> jax.Array | None:
    """The grid times at which a path with `num_saves` saves records the state."""
    if not num_saves:
        return None
    return ts[:: (ts.shape[0] - 1) // num_saves]


class AbstractSampler(eqx.Module):
    """Base of the library's samplers; see the module docstring for the protocol."""

    adaptive: ClassVar[bool] = False

    @abc.abstractmethod
    def __call__(self, key, sde, score_fn: ScoreFn, x_init, ts, *, num_saves=None, chunk_size=None):
        """Sample along `ts`; returns (samples (n, *shape), SampleInfo)."""


def run_scan(step, key, x_init, ts, num_saves: int | None, observe=None):
    """x ← step(key_i, x, ts[i], ts[i+1]) for i < steps, as one `lax.scan`.

    The per-step keys are split up front and scanned over with the time pairs, so a step
    costs no key arithmetic or grid indexing.  Returns (x, path or None); the path holds
    x_init and the state after every steps/num_saves steps, batch first:
    (n, num_saves + 1, *shape).  The state may be any pytree (multistep samplers carry past
    denoiser outputs); `observe(state)` then picks the batch array the path records.
    """
    observe = (lambda x: x) if observe is None else observe
    steps = ts.shape[0] - 1
    xs = (jax.random.split(key, steps), ts[:-1], ts[1:])

    def body(x, inputs):
        k, t, t_next = inputs
        return step(k, x, t, t_next), None

    if not num_saves:
        x, _ = jax.lax.scan(body, x_init, xs)
        return x, None
    chunks = jax.tree_util.tree_map(lambda a: a.reshape(num_saves, steps // num_saves, *a.shape[1:]), xs)

    def outer(x, chunk):
        x, _ = jax.lax.scan(body, x, chunk)
        return x, observe(x)

    x, saved = jax.lax.scan(outer, x_init, chunks)
    path = jnp.concatenate([observe(x_init)[None], saved], axis=0)
    return x, jnp.moveaxis(path, 0, 1)


class StepSampler(AbstractSampler):
    """A sampler that updates every sample independently, one grid step at a time.

    Subclasses give `update(sde, score_fn, x, z, t, t_next)`, the new state of ONE sample x
    from time t to the earlier time t_next with a standard normal z of x's shape, and
    `nfe_per_step`, the score evaluations one update costs.  The batch loop (noise, chunked
    vmap, `lax.scan`, saved path, NFE) is done here.  Samplers whose step needs the whole
    batch (e.g. the predictor–corrector's batch-averaged step size) override `batch_step`.
    """

    nfe_per_step: ClassVar[int] = 1

    def update(self, sde, score_fn: ScoreFn, x, z, t, t_next):
        """One sample's state at t_next (< t)."""
        raise NotImplementedError(f"{type(self).__name__} must define update(sde, score_fn, x, z, t, t_next).")

    def batch_step(self, key, sde, score_fn: ScoreFn, x, t, t_next, chunk_size=None):
        """The batch x (n, *shape) at t_next: one normal draw per sample, then `update`."""
        z = jax.random.normal(key, x.shape, x.dtype)
        return map_batch(lambda xi, zi: self.update(sde, score_fn, xi, zi, t, t_next), chunk_size)(x, z)

    def __call__(self, key, sde, score_fn: ScoreFn, x_init, ts, *, num_saves=None, chunk_size=None):
        def step(k, x, t, t_next):
            return self.batch_step(k, sde, score_fn, x, t, t_next, chunk_size)

        x, path = run_scan(step, key, x_init, ts, num_saves)
        steps = ts.shape[0] - 1
        return x, SampleInfo(jnp.asarray(steps * self.nfe_per_step), jnp.asarray(steps), saved_times(ts, num_saves), path)
