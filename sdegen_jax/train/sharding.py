"""Data parallelism with `jax.jit` and named shardings (DESIGN.md §3: no pmap).

One mesh axis "data" over all devices: batches are split along it, the train state
is replicated.  On CPU, simulate N devices with JAX_NUM_CPU_DEVICES=N set before JAX
starts.  Across processes and machines the same code runs after
`distributed.initialize()` (`python -m sdegen_jax.launch`).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

__all__ = [
    "DATA_AXIS",
    "make_mesh",
    "batch_sharding",
    "replicated",
    "check_batch_divisible",
    "shard_batch",
    "replicate",
]

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
    """One "data" axis over `devices` (default: every device of every process; joins a
    multi-process job first when one is configured, `distributed.initialize`)."""
    from .distributed import initialize

    initialize()
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def check_batch_divisible(batch_size: int, mesh: Mesh) -> None:
    n = mesh.devices.size
    if batch_size % n:
        raise ValueError(
            f"batch size {batch_size} is not divisible by the {n} devices of the mesh; "
            f"use a multiple of {n} (e.g. {max(n, batch_size // n * n)})."
        )


def shard_batch(batch, mesh: Mesh):
    """Place a host batch (pytree of arrays, leading axis = batch) split over 'data'.  With
    several processes each passes its own rows (`distributed.process_rows`) and the global
    batch is assembled with `jax.make_array_from_process_local_data`."""
    leaves = jax.tree_util.tree_leaves(batch)
    processes = jax.process_count()
    if leaves:
        check_batch_divisible(leaves[0].shape[0] * processes, mesh)
    if processes == 1:
        return jax.device_put(batch, batch_sharding(mesh))
    sharding = batch_sharding(mesh)
    return jax.tree_util.tree_map(lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), batch)


def replicate(tree, mesh: Mesh):
    return jax.device_put(tree, replicated(mesh))
