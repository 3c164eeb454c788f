"""The training loop: progress bar, JSONL metrics, checkpoints, resume, NaN stop."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Iterator

import jax
import numpy as np
from jax.experimental.multihost_utils import broadcast_one_to_all
from tqdm.auto import tqdm

from .checkpoint import Checkpointer, abstract_like
from .sharding import replicated, shard_batch

__all__ = ["TrainingDiverged", "fit", "read_log", "default_checkpoint_dir"]


class TrainingDiverged(RuntimeError):
    """Raised when the loss stops being finite; names the last good checkpoint."""


def fit(
    state,
    train_step: Callable,
    batches: Iterator,
    *,
    num_steps: int,
    mesh,
    checkpointer: Checkpointer | None = None,
    checkpoint_every: int = 1000,
    log_path: str | None = None,
    log_every: int = 50,
    prepare_batch: Callable[[Any], Any] = lambda b: b,
    progress: bool = True,
    description: str = "train",
    max_seconds: float | None = None,
):
    """Train until `state.step == num_steps`, resuming from the latest checkpoint if any.

    `batches` yields host batches and, to resume mid-epoch exactly, has
    `state_dict()` / `load_state_dict(d)` (e.g. `sdegen_jax.data.BatchIterator`).
    `max_seconds` stops training earlier, once that much wall time (compilation included,
    summed over resumed runs through the checkpoint metadata) is spent, with a checkpoint
    where it stopped: a wall-clock budget (with several processes, process 0's clock decides,
    checked every `log_every` steps).  Returns the final state; its metrics history is
    in `log_path` (JSONL), each record with the "train_seconds" spent by then.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0 (a wall-clock budget) or None, got {max_seconds}.")
    spent = 0.0  # training seconds of earlier runs
    if checkpointer is not None and checkpointer.latest_step() is not None:
        restored, meta = checkpointer.restore(abstract_like(state, replicated(mesh)))
        state = restored
        spent = float(meta.get("train_seconds", 0.0))
        if "data" in meta and hasattr(batches, "load_state_dict"):
            batches.load_state_dict(meta["data"])
    start = int(state.step)
    if start >= num_steps or (max_seconds is not None and spent >= max_seconds):
        return state
    primary = jax.process_index() == 0  # logs and progress from process 0 only
    log_path = log_path if primary else None
    progress = progress and primary
    if log_path:
        # Drop entries a killed run logged after its last checkpoint (all of them on a fresh start).
        _truncate_log(log_path, start)
    log = open(log_path, "a") if log_path else None
    last_good = checkpointer.latest_step() if checkpointer else None
    bar = tqdm(total=num_steps, initial=start, desc=description, disable=not progress, dynamic_ncols=True)
    t_start = t_last = time.perf_counter()
    n_last = 0

    def check_finite(loss: float, done: int) -> None:
        if not np.isfinite(loss):
            where = checkpointer.path(last_good) if last_good is not None else "none (no checkpoint yet)"
            raise TrainingDiverged(
                f"loss became {loss} by step {done}; last good checkpoint: {where}. "
                "Lower the learning rate or enable gradient clipping, then resume."
            )

    try:
        for step in range(start, num_steps):
            batch = prepare_batch(next(batches))
            n_last += len(jax.tree_util.tree_leaves(batch)[0]) * jax.process_count()  # global examples
            state, metrics = train_step(state, shard_batch(batch, mesh))
            done = step + 1
            saving = checkpointer is not None and (done % checkpoint_every == 0 or done == num_steps)
            synced = done % log_every == 0 or done == num_steps or saving
            if synced:
                # Steps are dispatched asynchronously: wait for this one before reading the clock,
                # or the logged and checkpointed train_seconds miss the work still queued.
                jax.block_until_ready(metrics)
            seconds = spent + time.perf_counter() - t_start
            out_of_time = max_seconds is not None and seconds >= max_seconds
            if max_seconds is not None and jax.process_count() > 1:
                # Every process must stop at the same step: process 0's clock decides, at log steps.
                out_of_time = done % log_every == 0 and bool(broadcast_one_to_all(np.asarray(out_of_time)))
            if out_of_time and not synced:  # the budget's checkpoint records the finished work too
                jax.block_until_ready(metrics)
                seconds = spent + time.perf_counter() - t_start
            if done % log_every == 0 or done == num_steps or out_of_time:
                metrics = {k: float(v) for k, v in metrics.items()}
                check_finite(metrics["loss"], done)
                now = time.perf_counter()
                metrics["img_per_s"] = n_last / (now - t_last)
                metrics["train_seconds"] = seconds
                t_last, n_last = now, 0
                bar.set_postfix(loss=f"{metrics['loss']:.4g}", img_s=f"{metrics['img_per_s']:.0f}")
                if log:
                    log.write(json.dumps({"step": done, **metrics}) + "\n")
                    log.flush()
            bar.update(1)
            if saving or (checkpointer is not None and out_of_time):
                check_finite(float(metrics["loss"]), done)
                meta = {"data": batches.state_dict()} if hasattr(batches, "state_dict") else {}
                meta["train_seconds"] = seconds
                checkpointer.save(done, state, meta, force=True)
                last_good = done
            if out_of_time:
                break
    finally:
        bar.close()
        if log:
            log.close()
        if checkpointer is not None:
            checkpointer.wait()
    return state


def _truncate_log(path: str, step: int) -> None:
    if not os.path.exists(path):
        return
    kept = [r for r in read_log(path) if r["step"] <= step]
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)


def read_log(path: str, missing_ok: bool = False) -> list[dict]:
    """The records of a JSONL metric log; [] for a missing file when `missing_ok`."""
    if missing_ok and not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def default_checkpoint_dir(name: str) -> str:
    return os.path.join(os.environ.get("SDEGEN_CHECKPOINT_DIR", "checkpoints"), name)
