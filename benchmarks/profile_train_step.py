"""Where one ScoreNet training step spends its time, op by op (XLA CPU).

    python -m benchmarks.profile_train_step                 # batch 64, writes results/profile_train_step.json
    python -m benchmarks.profile_train_step --variant plain # the straightforward Flax port
    python -m benchmarks.profile_train_step --batch 8 --steps 2 --out /tmp/p.json   # seconds

Runs the library's ScoreNet training step (`sg.train.dsm_training`, as `experiments.score_mnist`
and `benchmarks.train_throughput` build it) under `jax.profiler.trace`, reads the
Perfetto trace (one event per executed XLA thunk: a fusion, a GEMM, a copy), sums each op's
time over the profiled steps and joins it with the compiled HLO, so every row names the
op's output shape and the JAX source operation it came from (`jvp(ScoreNet)/tconv2/...` is
the forward, `transpose(jvp(ScoreNet))/...` the backward).  This is how the gather-based
im2col of the transposed convolutions' backward was found (6.7 ms of a ≈100 ms step at batch 64).

Op times are per step and overlap (XLA runs independent thunks on both cores), so they add
up to more than the wall time; the profiler also slows the step a little.  Compare ops with
each other, and take wall-clock figures from `benchmarks.train_throughput`.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jax

from benchmarks._timing import metadata, write_json
from benchmarks.train_throughput import VARIANTS, library_training

_SKIP = ("$", "Thunk", "Pjit", "Slinky", "PjRt", "CommonPjRt", "ParseArguments", "Handle inputs")


def hlo_info(hlo_text: str, name: str) -> tuple[str, str]:
    """(output shape, source op name) of the instruction `name` in compiled HLO text."""
    m = re.search(r"^\s*(?:ROOT )?%?" + re.escape(name) + r" = (\S+) (.*)$", hlo_text, re.M)
    if not m:
        return "", ""
    shape, line = m.group(1), m.group(2)
    op = re.search(r'op_name="([^"]+)"', line)
    if op:
        return shape, op.group(1)
    called = re.search(r"calls=%?([\w.\-]+)", line)
    if called:  # a fusion: the last op name inside its computation (usually the root's)
        body = re.search(r"^%?" + re.escape(called.group(1)) + r" .*?\{(.*?)^\}", hlo_text, re.M | re.S)
        if body:
            ops = re.findall(r'op_name="([^"]+)"', body.group(1))
            if ops:
                return shape, ops[-1]
    return shape, ""


def op_times(trace_dir: str, steps: int) -> dict[str, float]:
    """Milliseconds per step of every XLA op in the newest Perfetto trace under trace_dir."""
    paths = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True))
    if not paths:
        raise RuntimeError(f"jax.profiler wrote no *.trace.json.gz under {trace_dir}.")
    with gzip.open(paths[-1]) as f:
        events = json.load(f)["traceEvents"]
    total: collections.Counter = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith(_SKIP):
            total[e["name"]] += e["dur"]  # microseconds
    return {name: us / steps / 1e3 for name, us in total.items()}


def category(op: str) -> str:
    """Coarse kind of an XLA CPU op from its name: library GEMM/conv fusions, loop fusions, other."""
    base = op.rsplit(".", 1)[0] if op.rsplit(".", 1)[-1].isdigit() else op
    if base.startswith(("ynn_fusion", "dot", "convolution", "onednn")):
        return "gemm/conv (library)"
    if base.endswith("fusion") or base.startswith(("concatenate", "copy", "transpose")):
        return "elementwise/layout loop"
    return "other"


def profile(variant: str, batch: int, steps: int, top: int, command: str = "python -m benchmarks.profile_train_step") -> dict:
    call, _, compiled, _, _ = library_training(variant, batch)  # also runs it once
    hlo = compiled.as_text()
    for _ in range(2):  # warm up
        jax.block_until_ready(call())
    t0 = time.perf_counter()
    for _ in range(steps):
        jax.block_until_ready(call())
    wall_ms = (time.perf_counter() - t0) / steps * 1e3
    trace_dir = tempfile.mkdtemp(prefix="sdegen_profile_")
    try:
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            for _ in range(steps):
                jax.block_until_ready(call())
        times = op_times(trace_dir, steps)
    finally:
        shutil.rmtree(trace_dir, ignore_errors=True)
    rows = []
    for name, ms in sorted(times.items(), key=lambda kv: -kv[1]):
        shape, source = hlo_info(hlo, name)
        rows.append({"op": name, "ms_per_step": ms, "shape": shape, "source": source.replace("jit(step)/", ""),
                     "category": category(name)})
    by_cat: collections.Counter = collections.Counter()
    for r in rows:
        by_cat[r["category"]] += r["ms_per_step"]
    return {
        "meta": metadata(command),
        "settings": {"variant": variant, "variant_options": VARIANTS[variant], "batch": batch, "profiled_steps": steps},
        "wall_ms_per_step_unprofiled": wall_ms,
        "op_ms_per_step_total": sum(r["ms_per_step"] for r in rows),
        "op_ms_by_category": dict(by_cat),
        "ops": rows[:top],
        "note": "op times overlap (two cores) and include profiler overhead; compare ops with each other.",
    }


def format_table(result: dict, top: int = 30) -> str:
    lines = [f"{result['settings']['variant']} ScoreNet train step, batch {result['settings']['batch']}: "
             f"{result['wall_ms_per_step_unprofiled']:.1f} ms/step unprofiled; op times sum to "
             f"{result['op_ms_per_step_total']:.1f} ms/step"]
    lines += [f"  {cat:26s} {ms:7.2f} ms" for cat, ms in sorted(result["op_ms_by_category"].items(), key=lambda kv: -kv[1])]
    lines.append(f"{'ms/step':>8}  {'op':30s} {'shape':28s} source")
    for r in result["ops"][:top]:
        lines.append(f"{r['ms_per_step']:8.2f}  {r['op']:30s} {r['shape'][:28]:28s} {r['source'][:80]}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=sorted(VARIANTS), default="fast")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="train steps under the profiler")
    p.add_argument("--top", type=int, default=60, help="ops kept in the JSON")
    p.add_argument("--out", type=Path, default=Path("results/profile_train_step.json"))
    args = p.parse_args(argv)
    if args.batch < 1 or args.steps < 1 or args.top < 1:
        p.error("--batch, --steps and --top must be positive.")
    command = " ".join(["python -m benchmarks.profile_train_step", *(sys.argv[1:] if argv is None else argv)])
    result = json.loads(json.dumps(profile(args.variant, args.batch, args.steps, args.top, command), default=float))
    write_json(args.out, result)
    print(format_table(result))
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
