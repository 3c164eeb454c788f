"""Multi-process training on JAX's own multi-controller runtime.

Every process runs the same program; `initialize()` joins them with
`jax.distributed.initialize(coordinator_address, num_processes, process_id)`, after which
`jax.devices()` lists the devices of every process, `make_mesh()` spans them all, and the one
`jax.jit` train step runs over the global mesh.  Each process feeds only its rows of every
global batch (`process_rows`; `BatchIterator` reads only those examples) and
`shard_batch` assembles the global batch with `jax.make_array_from_process_local_data`.
Orbax checkpoints are written collectively and restore on any process count.  Only process 0
writes logs, results and figures, and shows progress.

Where the processes learn their place, in order:
1. explicit arguments;
2. SDEGEN_COORDINATOR_ADDRESS, SDEGEN_NUM_PROCESSES, SDEGEN_PROCESS_ID (what
   `python -m sdegen_jax.launch` sets), or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
   JAX_PROCESS_ID;
3. a cluster JAX detects itself: an srun step of several tasks (SLURM_STEP_NUM_TASKS > 1), an
   Open MPI launch, or any cluster when SDEGEN_DISTRIBUTED=auto is set (Kubernetes indexed
   jobs): `jax.distributed.initialize()` with no arguments;
4. none of these: a single process, nothing to do.

On CPU the cross-process collectives use gloo.  `initialize` must run before JAX touches a
device; the experiments call it first thing (`experiments._cli.parse_config`).
"""

from __future__ import annotations

import os

import jax

__all__ = ["initialize", "is_primary", "process_rows", "local_copy"]

_ENV_PREFIXES = ("SDEGEN", "JAX")
_state = {"initialized": False}


def _from_env():
    for prefix in _ENV_PREFIXES:
        addr = os.environ.get(f"{prefix}_COORDINATOR_ADDRESS")
        if addr:
            try:
                return addr, int(os.environ[f"{prefix}_NUM_PROCESSES"]), int(os.environ[f"{prefix}_PROCESS_ID"])
            except KeyError as e:
                raise ValueError(
                    f"{prefix}_COORDINATOR_ADDRESS is set but {e.args[0]} is not: set {prefix}_NUM_PROCESSES and "
                    f"{prefix}_PROCESS_ID too (or launch with `python -m sdegen_jax.launch`).") from None
    return None


def _cluster_detected() -> bool:
    # An srun step of several tasks (not a batch script that asked for several tasks but runs
    # one process: SLURM_NTASKS is set there too), an Open MPI launch, or an explicit opt-in
    # (Kubernetes indexed jobs, and any cluster JAX detects itself).
    if int(os.environ.get("SLURM_STEP_NUM_TASKS", "1")) > 1 and "SLURM_PROCID" in os.environ:
        return True
    if int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:
        return True
    return os.environ.get("SDEGEN_DISTRIBUTED", "").lower() == "auto"


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
    """Join the other processes of this job (see the module docstring for where the settings
    come from).  Idempotent.  Returns True when running as several processes."""
    if _state["initialized"]:
        return jax.process_count() > 1
    given = (coordinator_address, num_processes, process_id)
    if any(v is not None for v in given) and not all(v is not None for v in given):
        raise ValueError("give coordinator_address, num_processes and process_id together (or none of them).")
    settings = given if coordinator_address is not None else _from_env()
    if settings is None and not _cluster_detected():
        _state["initialized"] = True
        return False
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        if settings is None:
            jax.distributed.initialize()
        else:
            addr, n, pid = settings
            if not 0 <= pid < n:
                raise ValueError(f"process_id {pid} is outside 0..{n - 1}.")
            jax.distributed.initialize(addr, num_processes=n, process_id=pid)
    except RuntimeError as e:
        if "before" in str(e).lower() or "already" in str(e).lower():
            raise RuntimeError(
                f"jax.distributed.initialize failed ({e}): call sdegen_jax.train.distributed.initialize() before any "
                "JAX computation (the experiments do it in parse_config).") from e
        raise
    _state["initialized"] = True
    return jax.process_count() > 1


def is_primary() -> bool:
    """True on process 0, the one that writes logs, results and figures."""
    return jax.process_index() == 0


def process_rows(batch_size: int, process_index: int | None = None, process_count: int | None = None) -> slice:
    """This process's rows of a global batch of `batch_size` examples."""
    p = jax.process_index() if process_index is None else process_index
    n = jax.process_count() if process_count is None else process_count
    if batch_size % n:
        raise ValueError(f"the global batch size {batch_size} must be divisible by the {n} processes; "
                         f"use a multiple of {n}.")
    size = batch_size // n
    return slice(p * size, (p + 1) * size)


def local_copy(tree):
    """The arrays of `tree` as single-device arrays of this process (for sampling or evaluation
    after multi-process training): every leaf must be fully replicated (parameters are)."""
    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            if not a.is_fully_replicated:
                raise ValueError("local_copy needs fully replicated arrays (e.g. parameters), not sharded batches.")
            return a.addressable_data(0)
        return a

    return jax.tree_util.tree_map(one, tree)
