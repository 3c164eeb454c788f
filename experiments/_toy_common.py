"""Shared pieces of the toy experiments (toy_langevin, toy_ve, toy_vp).

`FastMixtureScore` is the exact score of a `sg.toy.GaussianMixture`, written with the
components and dimensions unrolled in Python.  It returns the same values as
`gmm.score_fn(sde)` (checked to float32 round-off in tests/test_experiments.py) but on
CPU it is about 100x faster for 1-D and 2-D toys: XLA's CPU backend runs the
softmax/logsumexp reductions over the tiny component axis of the library's score as
slow scalar loops (about 400 ns per sample and call for the two-component 1-D mixture,
against about 4 ns unrolled).  Without it the 200,000-sample, 5000-step runs of
Example 7 would take most of an hour on two cores.
"""

from __future__ import annotations

import time
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def _unrolled_score(weights, means, stds, x):
    """∇ log Σ_k w_k N(x; μ_k, diag σ_k²) for ONE sample x of shape (d,), unrolled over k and d."""
    K, d = means.shape
    logits, grads = [], []
    for k in range(K):
        z = [(x[i] - means[k, i]) / stds[k, i] for i in range(d)]
        quad = z[0] ** 2
        logdet = jnp.log(stds[k, 0])
        for i in range(1, d):
            quad = quad + z[i] ** 2
            logdet = logdet + jnp.log(stds[k, i])
        logits.append(jnp.log(weights[k]) - 0.5 * quad - logdet)
        grads.append(jnp.stack([-z[i] / stds[k, i] for i in range(d)]))
    top = logits[0]
    for lk in logits[1:]:
        top = jnp.maximum(top, lk)
    e = [jnp.exp(lk - top) for lk in logits]
    total, num = e[0], e[0] * grads[0]
    for k in range(1, K):
        total = total + e[k]
        num = num + e[k] * grads[k]
    return num / total


class FastMixtureScore(eqx.Module):
    """score_fn(x, t) = ∇ log p_t(x) of `mixture` under the linear `sde` (same as `mixture.score_fn(sde)`)."""

    mixture: eqx.Module
    sde: eqx.Module

    def __call__(self, x, t):
        m = self.mixture.marginal(self.sde, t)
        return _unrolled_score(m.weights, m.means, m.stds, x)


class FastDataScore(eqx.Module):
    """score_fn(x) = ∇ log p(x) of `mixture` itself (for unadjusted Langevin)."""

    mixture: eqx.Module

    def __call__(self, x):
        m = self.mixture
        return _unrolled_score(m.weights, m.means, m.stds, x)


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
