"""Endless batches drawn from a sampler `f(key, n)`, resumable by step count.

For toy distributions with a sampler and no fixed data set: batch k is
`f(fold_in(PRNGKey(seed), k), batch_size)`, so the state is just k.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import numpy as np

__all__ = ["SampledBatches"]


class SampledBatches:
    def __init__(self, sampler: Callable[[jax.Array, int], jax.Array], batch_size: int, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        self.sampler, self.batch_size, self.seed, self.index = sampler, batch_size, seed, 0
        self._draw = jax.jit(lambda k: sampler(k, batch_size))

    def __iter__(self):
        return self

    def __next__(self) -> np.ndarray:
        key = jax.random.fold_in(jax.random.PRNGKey(self.seed), self.index)
        self.index += 1
        batch = np.asarray(self._draw(key))
        if jax.process_count() == 1:
            return batch
        from ..train.distributed import process_rows

        return batch[process_rows(len(batch))]  # generated whole (cheap), this process's rows

    def state_dict(self) -> dict[str, int]:
        return {"index": self.index}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.index = int(state["index"])
