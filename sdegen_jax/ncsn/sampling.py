"""Annealed Langevin dynamics (seed 001 Alg. 2; Song & Ermon 2019 Alg. 1): at each level σ_i,
from the noisiest, M steps x ← x + γ_i s(x, σ_i) + sqrt(2 γ_i) z with γ_i = ε σ_i²/σ_L² (ε is
`step_lr`; Song & Ermon's update, with α_i/2 on the score, has α_i = 2 γ_i),
warm-started from the previous level.  `sg.samplers.AnnealedLangevin` is the same algorithm
on an SDE's time grid (score_fn(x, t), steps scaled by the marginal std s(t)); this one takes
NCSN's σ-conditioned score_fn(x, σ) and its levels.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import check_int_at_least, check_positive
from ..samplers.batching import map_batch
from .levels import NoiseLevels

__all__ = ["annealed_langevin"]


def annealed_langevin(key, levels: NoiseLevels, score_fn, x_init, *, steps_per_level: int = 100,
                      step_lr: float = 2e-5, denoise: bool = False, chunk_size=None):
    """Samples from x_init (n, *shape) (e.g. σ_1 · N(0, I)) with the per-sample `score_fn(x, σ)`;
    NFE = L · steps_per_level (+1 with `denoise`: the final x + σ_L² s(x, σ_L), Tweedie's mean,
    as NCSNv2 does).  `step_lr` is the reference code's: γ_i = step_lr σ_i²/σ_L² in seed 001
    Alg. 2's x + γ s + sqrt(2γ) z, which is Song & Ermon's Alg. 1 with their ε = 2 step_lr."""
    check_int_at_least("steps_per_level", steps_per_level, 1)
    check_positive("step_lr", step_lr)
    x_init = jnp.asarray(x_init, jnp.float32)
    if x_init.ndim < 2:
        raise ValueError(f"x_init must be a batch (n, *shape), got shape {x_init.shape}.")
    sigmas = levels.sigmas

    def scores(x, sigma):
        return map_batch(lambda xi: score_fn(xi, sigma), chunk_size)(x)

    def level(x, inputs):
        k, sigma = inputs
        gamma = step_lr * (sigma / sigmas[-1]) ** 2

        def inner(x, k):
            return x + gamma * scores(x, sigma) + jnp.sqrt(2.0 * gamma) * jax.random.normal(k, x.shape), None

        x, _ = jax.lax.scan(inner, x, jax.random.split(k, steps_per_level))
        return x, None

    x, _ = jax.lax.scan(level, x_init, (jax.random.split(key, levels.num_levels), sigmas))
    if denoise:
        x = x + sigmas[-1] ** 2 * scores(x, sigmas[-1])
    return x
