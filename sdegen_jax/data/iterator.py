"""A deterministic, resumable shuffled batch iterator over in-memory arrays (pure numpy).

Epoch e visits the examples in the order `permutation(seed, e)`; the iterator's whole state is
(epoch, position), where position counts the examples of epoch e already served. Each batch is
a pure function of (seed, epoch, position), dequantisation noise included, so an iterator
restored from a saved state yields exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import jax
import numpy as np

from .transforms import SCALES, dequantize as dequantize_fn

__all__ = ["IteratorState", "permutation", "noise_rng", "BatchIterator", "ImagesOnly"]


@dataclass(frozen=True)
class IteratorState:
    """Where a `BatchIterator` stands: `position` examples of epoch `epoch` already served."""

    epoch: int = 0
    position: int = 0

    def state_dict(self) -> dict[str, int]:
        """Plain dict for checkpoints (JSON / orbax friendly)."""
        return {k: int(v) for k, v in asdict(self).items()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | IteratorState) -> IteratorState:
        """Inverse of `state_dict` (also accepts an `IteratorState`)."""
        if isinstance(state, IteratorState):
            return state
        return cls(epoch=int(state["epoch"]), position=int(state["position"]))


def permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The example order of `epoch`: a permutation of range(n) fixed by (seed, epoch)."""
    return np.random.default_rng([seed, epoch, 0]).permutation(n)


def noise_rng(seed: int, epoch: int, position: int) -> np.random.Generator:
    """The generator for the dequantisation noise of the batch starting at (epoch, position)."""
    return np.random.default_rng([seed, epoch, position, 1])


def _process_rows(n: int) -> slice:
    if jax.process_count() == 1:
        return slice(0, n)
    from ..train.distributed import process_rows

    return process_rows(n)


class BatchIterator:
    """Endless (images, labels) batches, reshuffled every epoch, resumable from `state`.

    images: (N, H, W, C) float32 (as from `load_images`); labels: (N,) or None.
    drop_remainder: every batch has exactly `batch_size` examples (the last partial batch of an
        epoch is skipped); otherwise the last batch of each epoch is shorter.
    shuffle: False visits examples in stored order every epoch (evaluation).
    dequantize: add uniform dequantisation noise (see `transforms.dequantize`); `scale` must
        then say how `images` were scaled ("unit" or "symmetric").
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        batch_size: int,
        seed: int = 0,
        dequantize: bool = False,
        drop_remainder: bool = True,
        shuffle: bool = True,
        scale: str = "unit",
        state: IteratorState | Mapping[str, Any] | None = None,
    ) -> None:
        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels)
        self.n = len(self.images)
        if self.labels is not None and len(self.labels) != self.n:
            raise ValueError(f"{self.n} images but {len(self.labels)} labels.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if drop_remainder and batch_size > self.n:
            raise ValueError(f"batch_size {batch_size} > {self.n} examples with drop_remainder=True.")
        if scale not in SCALES:
            raise ValueError(f"Unknown scale {scale!r}; expected one of {SCALES}.")
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.dequantize = dequantize
        self.drop_remainder = drop_remainder
        self.shuffle = shuffle
        self.scale = scale
        self._perm_cache: tuple[int, np.ndarray] | None = None
        self.state = self._normalise(IteratorState.from_state(state or IteratorState()))

    @property
    def steps_per_epoch(self) -> int:
        """Number of batches in one epoch."""
        full, rest = divmod(self.n, self.batch_size)
        return full if self.drop_remainder or rest == 0 else full + 1

    def order(self, epoch: int) -> np.ndarray:
        """Example indices in the order epoch `epoch` visits them."""
        if not self.shuffle:
            return np.arange(self.n)
        if self._perm_cache is None or self._perm_cache[0] != epoch:
            self._perm_cache = (epoch, permutation(self.seed, epoch, self.n))
        return self._perm_cache[1]

    def batch_at(self, state: IteratorState) -> tuple[np.ndarray, np.ndarray | None]:
        """The batch served at `state` (pure: does not move the iterator).  In a multi-process
        job, this process's rows of it only (`sg.train.distributed.process_rows`): every
        process walks the same global order and reads just its examples (all of them when
        dequantising, so that the noise is the one-process run's)."""
        state = self._normalise(state)
        idx = self.order(state.epoch)[state.position : state.position + self.batch_size]
        rows = _process_rows(len(idx))
        if self.dequantize:
            x = dequantize_fn(self.images[idx], noise_rng(self.seed, state.epoch, state.position), self.scale)[rows]
        else:
            x = self.images[idx[rows]]
        return x, (None if self.labels is None else self.labels[idx[rows]])

    def _normalise(self, state: IteratorState) -> IteratorState:
        """Rolls a state with no batch left in its epoch over to the next epoch."""
        if state.epoch < 0 or not 0 <= state.position <= self.n:
            raise ValueError(f"Invalid iterator state {state} for {self.n} examples.")
        need = self.batch_size if self.drop_remainder else 1
        if state.position + need > self.n:
            return IteratorState(state.epoch + 1, 0)
        return state

    def __iter__(self) -> BatchIterator:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray | None]:
        batch = self.batch_at(self.state)
        served = len(batch[0]) * jax.process_count()
        self.state = self._normalise(IteratorState(self.state.epoch, self.state.position + served))
        return batch

    def state_dict(self) -> dict[str, int]:
        """The current (epoch, position) as a plain dict."""
        return self.state.state_dict()

    def load_state_dict(self, state: IteratorState | Mapping[str, Any]) -> None:
        """Moves the iterator to a saved state."""
        self.state = self._normalise(IteratorState.from_state(state))


class ImagesOnly:
    """The images of an (images, labels) iterator such as `BatchIterator`, forwarding its
    `state_dict` / `load_state_dict` so that `sg.train.fit` resumes it exactly."""

    def __init__(self, it):
        self.it = it

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.it)[0]

    def state_dict(self):
        return self.it.state_dict()

    def load_state_dict(self, d):
        self.it.load_state_dict(d)
