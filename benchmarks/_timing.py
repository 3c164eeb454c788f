"""Timing and metadata helpers shared by the benchmarks.

The machine is shared and noisy, so benchmarks compare within one run: every function of a
section is timed in the same rounds (`run_rounds`, order reversed every other round), and
ratios are taken between figures of the same rounds.  Compiler options are always passed
explicitly (`compile_fn(..., options=...)`); nothing here keeps state between calls.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Mapping

import jax
import jax.numpy as jnp

from sdegen_jax.provenance import run_metadata

REPO_ROOT = Path(__file__).resolve().parent.parent

# Unoptimised XLA compiles (about 2x faster): for smoke runs that check structure, not speed.
SMOKE_OPTIONS = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


class Timed:
    """A callable with its wall and CPU times per call.

    Each call of a Timed (one per round) runs the function up to `burst` times back to back,
    for at most `burst_s` seconds, and records the fastest: the steady state of repeated
    steps, as in training.  The first call after a different function is slower (caches and
    fresh temporary buffers are cold, idle worker threads must wake up); its times are kept
    apart (`first_median_ms`).
    """

    def __init__(self, fn: Callable, burst: int = 1, burst_s: float = 1.0):
        self.fn = fn
        self.burst, self.burst_s = burst, burst_s
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.first: list[float] = []

    def __call__(self) -> None:
        walls, cpus = [], []
        start = time.perf_counter()
        while not walls or (len(walls) < self.burst and time.perf_counter() - start < self.burst_s):
            c0, t0 = time.process_time(), time.perf_counter()
            jax.block_until_ready(self.fn())
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        i = min(range(len(walls)), key=walls.__getitem__)
        self.first.append(walls[0])
        self.wall.append(walls[i])
        self.cpu.append(cpus[i])

    def summary(self) -> dict:
        w, c = self.wall, self.cpu
        return {
            "best_ms": 1e3 * min(w),
            "median_ms": 1e3 * statistics.median(w),
            "cpu_best_ms": 1e3 * min(c),
            "cpu_median_ms": 1e3 * statistics.median(c),
            "spread": max(w) / min(w),  # max/min over rounds: the noise
            "reps": len(w),
            "first_median_ms": 1e3 * statistics.median(self.first),
            "burst": self.burst,
        }


def run_rounds(timed: Mapping[object, Timed], rounds: int, seconds: float | None = None) -> int:
    """Call every entry once per round, order reversed every other round; stop after
    `rounds` rounds or, when `seconds` is given, once that much time was spent (>= 1 round).
    Returns the number of rounds run."""
    keys = list(timed)
    start = time.perf_counter()
    done = 0
    for r in range(rounds):
        for k in keys if r % 2 == 0 else keys[::-1]:
            timed[k]()
        done += 1
        if seconds is not None and time.perf_counter() - start > seconds:
            break
    return done


def paired_ratios(a: Timed, b: Timed) -> list[float]:
    """a_i / b_i for the calls of two Timed of the same rounds (same load within a pair)."""
    return [x / y for x, y in zip(a.wall, b.wall)]


def compile_fn(fn: Callable, *args, options: Mapping | None = None):
    """AOT-compile `jax.jit(fn)(*args)` with explicit XLA compiler `options` and run it once.

    Returns (call, seconds for trace + compile + first run, compiled executable); `call()`
    runs the executable on `args`.
    """
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile(compiler_options=dict(options) if options else None)
    jax.block_until_ready(compiled(*args))
    return (lambda: compiled(*args)), time.perf_counter() - t0, compiled


def compile_call(compiled_fn: Callable, *args):
    """Time the first call of an already-jitted function (trace + compile + run).

    Returns (call, seconds) with `call()` running it on `args` again.  For library functions
    that are jitted inside (they cannot be lowered from outside), e.g. `sg.train`'s step.
    """
    t0 = time.perf_counter()
    jax.block_until_ready(compiled_fn(*args))
    return (lambda: compiled_fn(*args)), time.perf_counter() - t0


def cost_flops(compiled) -> float:
    """FLOPs of a compiled executable by XLA's cost analysis."""
    ca = compiled.cost_analysis()
    ca = ca[0] if isinstance(ca, (list, tuple)) else ca
    return float(ca.get("flops", float("nan")))


def peak_dot(n: int = 2048, options: Mapping | None = None):
    """(call, flops) of an n×n float32 matmul: the machine's attainable GEMM rate."""
    a = jax.random.normal(jax.random.key(1), (n, n))
    b = jax.random.normal(jax.random.key(2), (n, n))
    call, _, _ = compile_fn(jnp.dot, a, b, options=options)
    return call, 2.0 * n**3


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def metadata(command: str) -> dict:
    """`sdegen_jax.provenance.run_metadata` plus the CPU model and the load at the start."""
    meta = run_metadata(command, path=REPO_ROOT)
    meta["cpu"] = cpu_model()
    meta["backend"] = jax.default_backend()
    meta["loadavg_start"] = list(os.getloadavg())
    return meta


def write_json(path: str | os.PathLike, doc: dict) -> Path:
    """Write `doc` as indented JSON atomically (a killed run never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    tmp.replace(path)
    return path


def logger():
    """A `log(msg)` that prints to stderr with the seconds since it was made."""
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    return log


def training_call(compiled_step: Callable, state, batch) -> Callable:
    """`call()` running a compiled train step that donates its state: each call trains on from
    the state the previous call returned, as training does; returns the loss."""
    holder = [state]

    def call():
        holder[0], metrics = compiled_step(holder[0], batch)
        return metrics["loss"]

    return call
