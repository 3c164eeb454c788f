"""Shared pieces of the toy experiments (toy_langevin, toy_ve, toy_vp)."""

from __future__ import annotations

import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np


def shifted(mixture, shift):
    """The mixture translated by `shift` (shape (d,)): the seed's footnote 1 centring."""
    from sdegen_jax.toy import GaussianMixture

    return GaussianMixture(mixture.weights, mixture.means + jnp.asarray(shift), mixture.stds)


def timed_compiled(fn: Callable, *args):
    """AOT-compile `fn(*args)` with jax.jit, then run it once.

    Returns (output, compile_seconds, run_seconds); run time excludes compilation and
    waits for the result (block_until_ready on every leaf).
    """
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    t1 = time.perf_counter()
    out = compiled(*args)
    jax.block_until_ready(out)
    t2 = time.perf_counter()
    return out, t1 - t0, t2 - t1


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Plain-text table; columns are (key, header, format spec)."""
    cells = [[h for _, h, _ in columns]]
    for r in rows:
        cells.append([("" if r.get(k) is None else format(r[k], f)) for k, _, f in columns])
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(h for _, h, _ in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(("" if r.get(k) is None else format(r[k], f)) for k, _, f in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def to_builtin(x):
    """numpy/jax scalars and arrays to JSON-friendly Python objects."""
    if isinstance(x, dict):
        return {k: to_builtin(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_builtin(v) for v in x]
    if isinstance(x, (np.ndarray, jax.Array)):
        return np.asarray(x).tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


def command_for(module: str, argv) -> str:
    """The command line that reproduces a run of `python -m module` with `argv`."""
    import shlex
    import sys

    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python -m", module, *(shlex.quote(a) for a in args)])


def write_outputs(out_dir: str, name: str, command: str, config, payload: dict, markdown_body: str) -> dict:
    """Write results/<name>.json (metadata, config, payload) and results/<name>.md; returns the paths."""
    import dataclasses
    import os

    from experiments._cli import run_metadata, write_json

    meta = run_metadata()
    meta["command"] = command
    doc = {"name": name, "metadata": meta, "config": dataclasses.asdict(config), **to_builtin(payload)}
    json_path = os.path.join(out_dir, f"{name}.json")
    write_json(json_path, doc)
    md_path = os.path.join(out_dir, f"{name}.md")
    with open(md_path, "w") as f:
        f.write(f"# {name}\n\nMade by:\n\n```\n{command}\n```\n\n")
        f.write(f"git commit {meta['git_commit']}, JAX {meta['jax_version']}, devices {meta['devices']}, {meta['cpu_count']} CPUs.\n\n")
        f.write(markdown_body.rstrip() + "\n")
    return {"json": json_path, "md": md_path}


_EXACT_CACHE: dict = {}


def exact_sample_w1(mixture, n: int, key, draws: int = 5) -> dict:
    """W1 of n exact samples of a 1-D `mixture` to itself over `draws` independent draws.

    The sampling-noise level a perfect sampler would show: W1 of one draw scatters a lot
    (mostly through the binomial mode weights), so rows are best read against the mean
    and max here.  Returns dict(mean, max, draws); cached per (mixture, n, key).
    """
    import sdegen_jax as sg

    ck = (tuple(np.asarray(mixture.weights).tolist()), tuple(np.asarray(mixture.means).ravel().tolist()),
          tuple(np.asarray(mixture.stds).ravel().tolist()), int(n), tuple(np.asarray(jax.random.key_data(key)).ravel().tolist()), draws)
    if ck not in _EXACT_CACHE:
        w = [sg.metrics.wasserstein1_to_mixture(mixture.sample(jax.random.fold_in(key, j), n), mixture) for j in range(draws)]
        _EXACT_CACHE[ck] = dict(mean=float(np.mean(w)), max=float(np.max(w)), draws=[float(v) for v in w])
    return _EXACT_CACHE[ck]
