"""Orbax checkpoints of the train state plus JSON metadata (e.g. the data iterator).

Saves are asynchronous (`wait()` before exit); restores go against an abstract target
carrying the current shardings, so a checkpoint written on 8 devices restores on 1
(DESIGN.md §3).

A replicated array is written whole by one replica unless each replica's share would be at
least `REPLICA_PARALLEL_MIN_BYTES`: orbax's default (on CPU) splits every replicated array
between its replicas, one eager slice per replica and one compiled slice program per array
shape, which for small models costs far more than the writing it spreads (toy_train on 8 CPU
devices: 56 of the run's 158 XLA compilations and ~2 s of its 4 saves).  The files are the same
format either way; only the chunking of the large arrays differs.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

try:  # not exported by orbax; where a later orbax moves it, orbax's default handlers are used
    from orbax.checkpoint._src.metadata import array_metadata_store as _array_metadata_store
except ImportError:  # pragma: no cover
    _array_metadata_store = None

__all__ = ["Checkpointer", "abstract_like", "REPLICA_PARALLEL_MIN_BYTES"]

REPLICA_PARALLEL_MIN_BYTES = 1 << 20  # replicas share the writing of an array only in slices of ≥ 1 MiB


def _type_handler_registry():
    """orbax's default type handlers, with the jax.Array one given `REPLICA_PARALLEL_MIN_BYTES`
    (a registry of our own: orbax's global registry is left as it is); None (orbax's global
    registry) where this orbax does not have the array-metadata store where we look for it."""
    if _array_metadata_store is None:
        return None
    th = ocp.type_handlers
    array = th.ArrayHandler(
        # as orbax's default jax.Array handler: per-array metadata files (write shapes) are kept
        array_metadata_store=_array_metadata_store.Store(),
        min_slice_bytes_for_replica_parallel=REPLICA_PARALLEL_MIN_BYTES,
    )
    others = (int, float, bytes, np.number, np.ndarray, str, type(ocp.PLACEHOLDER))  # orbax's defaults
    return th.create_type_handler_registry((jax.Array, array), *((t, th.get_type_handler(t)) for t in others))


class Checkpointer:
    def __init__(self, directory: str, *, max_to_keep: int = 3, save_interval_steps: int = 1):
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, save_interval_steps=save_interval_steps, enable_async_checkpointing=True
        )
        registry = _type_handler_registry()
        state = ocp.PyTreeCheckpointHandler(**({} if registry is None else {"type_handler_registry": registry}))
        handlers = {"state": state, "meta": ocp.JsonCheckpointHandler()}
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_handlers=handlers)

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state, meta: dict[str, Any], *, force: bool = False) -> bool:
        return self._manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.PyTreeSave(state), meta=ocp.args.JsonSave(meta)),
            force=force,
        )

    def restore(self, abstract_state, step: int | None = None):
        """Restore (state, meta); `abstract_state` is a pytree of ShapeDtypeStructs with shardings."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        out = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.PyTreeRestore(abstract_state, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract_state)),
                meta=ocp.args.JsonRestore(),
            ),
        )
        return out["state"], out["meta"]

    def path(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()


def abstract_like(tree, sharding):
    """ShapeDtypeStructs of `tree` with `sharding` (the restore target)."""
    return jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)
