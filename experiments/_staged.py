"""Training with evaluations at chosen epochs, resumable at every level.

`train_with_evaluations` trains epoch stage by epoch stage through `sg.train.fit` (orbax
checkpoint at the end of each stage) and, after each chosen epoch, runs `evaluate(state, epoch)`
and caches its dict in `<checkpoint_dir>/evaluations.json` (atomically).  A run killed at any
point resumes from its last checkpoint and never recomputes a cached evaluation.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable

from sdegen_jax import train


def _load(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _save(path, cache):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cache, f, indent=1, default=float)
    os.replace(tmp, path)


def train_with_evaluations(
    training,
    batches,
    *,
    steps_per_epoch: int,
    epochs: int,
    eval_epochs,
    evaluate: Callable[[object, int], dict],
    mesh,
    checkpoint_dir: str,
    log_path: str,
    log_every: int,
    progress: bool,
    description: str,
):
    """Returns (final state, {epoch: evaluation}, seconds spent training in this run,
    epochs trained in this run)."""
    ckpt = train.Checkpointer(checkpoint_dir, max_to_keep=2)
    cache_path = os.path.join(checkpoint_dir, "evaluations.json")
    cache = _load(cache_path)
    start_step = ckpt.latest_step() or 0
    stages = sorted({e for e in eval_epochs if 0 < e <= epochs} | {epochs})
    state, seconds = training.state, 0.0
    try:
        for epoch in stages:
            t0 = time.perf_counter()
            state = train.fit(
                state, training.step, batches, num_steps=epoch * steps_per_epoch, mesh=mesh, checkpointer=ckpt,
                checkpoint_every=steps_per_epoch, log_path=log_path, log_every=log_every, progress=progress,
                description=f"{description} (to epoch {epoch})",
            )
            seconds += time.perf_counter() - t0
            if str(epoch) not in cache and epoch in eval_epochs:
                if int(state.step) != epoch * steps_per_epoch:
                    raise RuntimeError(
                        f"the checkpoint in {checkpoint_dir} is past epoch {epoch} but its evaluation is missing; "
                        "rerun with --fresh.")
                cache[str(epoch)] = evaluate(state, epoch)
                _save(cache_path, cache)
                print(f"{description} epoch {epoch}: {cache[str(epoch)]}", flush=True)
    finally:
        ckpt.close()
    trained_epochs = max(0, epochs * steps_per_epoch - start_step) / steps_per_epoch
    return state, {int(k): v for k, v in cache.items()}, seconds, trained_epochs
