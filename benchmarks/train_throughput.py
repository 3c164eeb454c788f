"""ScoreNet training and forward throughput on the CPU, fast layers against the plain port.

    python -m benchmarks.train_throughput                  # full run, writes results/bench_train_throughput.json
    python -m benchmarks.train_throughput --quick          # about a minute
    python -m benchmarks.train_throughput --quick --smoke  # seconds; what tests/test_benchmarks_train.py runs

What is timed (fp32, `jax.jit`, one device):
  train    one Adam step (lr 1e-3) of the denoising score-matching loss of Song's tutorial:
           t ~ U[1e-5, 1], z ~ N(0, I), x_t = x + std(t)·z,
           loss = mean over the batch of Σ (std(t)·s_θ(x_t, t) + z)²,  TutorialVESDE(σ=25);
           inputs are a fixed random batch (data loading is not part of it).
  forward  s_θ(x, t) on a batch.
Variants (same parameters, same function; `sdegen_jax/nets/scorenet.py`):
  fast      ScoreNet() defaults: transposed convolutions as GEMM + col2im (backward: im2col
            + 2 GEMMs), strided convolutions with GEMM + col2im input and im2col + GEMM
            kernel gradients, few-pass GroupNorm.
  plain     ScoreNet(upsample="plain", downsample="plain", norm="flax"): nn.ConvTranspose,
            nn.Conv, nn.GroupNorm, i.e. the straightforward port.
  subpixel  (full run only) the sub-pixel / space-to-depth rewrites with plain autodiff.

Method.  The machine is shared and 2-core, so every figure in one section is measured in
the same rounds: each round times every (variant, batch), in an order reversed every
other round, plus a 2048×2048 `jnp.dot` ("peak"), so all see the same load.  In the model
section each round runs a function up to 3 times back to back (at most 1 s) and keeps the
fastest, the steady state of consecutive training steps; the first call after another
function is reported apart (`*_img_s_first_call_median`).  We report the best round (under
contention noise only adds time) and the median; img/s = batch / time.
`cpu_ms` is the process CPU time of one call (all threads); it is far less sensitive to
other processes than wall time, and cpu_ms / wall_ms shows how many cores we actually got.

FLOPs come from XLA's own cost analysis of the compiled plain forward and train step
(`jax.jit(f).lower(...).compile().cost_analysis()`), per image.  Effective GFLOP/s = these
useful FLOPs / time (the same numerator for every variant), and "fraction of peak" divides
by the best 2048×2048 fp32 matmul rate measured in the same rounds (the best of XLA's
default dot and its Eigen dot).

Sections of the JSON:
  scorenet, scorenet_plain, scorenet_subpixel   {batch: {train_img_s, forward_img_s, ...}}
  speedup            fast over plain, per batch (train, forward)
  flops              measured MFLOP/img (forward, train) per variant, against 34 / 102
  peak               matmul GFLOP/s and the CPU parallelism seen
  layers             per-layer profile: forward, input gradient (dx), kernel gradient (dw)
                     and the full backward of every convolution of ScoreNet at its real
                     shape, per implementation, and GroupNorm(+swish) flax vs fast
  xla_flags          the fast train step compiled under alternative XLA CPU options
                     (none is set by default; the table shows why)
  precision          float32 matmul precision: what the setting is and what the CPU does
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import sdegen_jax as sg
from sdegen_jax.nets import ScoreNet
from sdegen_jax.nets.conv_transpose import conv_transpose
from sdegen_jax.nets.group_norm import GroupNorm
from sdegen_jax.nets.strided_conv import strided_conv

NOMINAL_MFLOP = {"forward": 34.0, "train": 102.0}
VARIANTS = {
    "fast": dict(),
    "plain": dict(upsample="plain", downsample="plain", norm="flax"),
    "subpixel": dict(upsample="subpixel", downsample="space_to_depth", norm="fast"),
}
RESULT_KEY = {"fast": "scorenet", "plain": "scorenet_plain", "subpixel": "scorenet_subpixel"}
_YNN = "LIBRARY_FUSION_TYPE_"
XLA_OPTION_SETS = {
    "default": {},
    "ynn_convolutions_off": {"xla_cpu_experimental_ynn_fusion_type": _YNN + "INDIVIDUAL_DOT"},
    "ynn_dots_off": {"xla_cpu_experimental_ynn_fusion_type": _YNN + "INDIVIDUAL_CONVOLUTION"},
    "onednn": {"xla_cpu_use_onednn": True},
    "prefer_vector_width_512": {"xla_cpu_prefer_vector_width": 512},
}
# (name, kind, input H = W, C_in, C_out, stride, output_padding): every convolution of ScoreNet.
LAYERS = [
    ("conv1", "conv", 28, 1, 32, 1, 0),
    ("conv2", "conv", 26, 32, 64, 2, 0),
    ("conv3", "conv", 12, 64, 128, 2, 0),
    ("conv4", "conv", 5, 128, 256, 2, 0),
    ("tconv4", "tconv", 2, 256, 128, 2, 0),
    ("tconv3", "tconv", 5, 256, 64, 2, 1),
    ("tconv2", "tconv", 12, 128, 32, 2, 1),
    ("tconv1", "tconv", 26, 64, 1, 1, 0),
]
LAYER_IMPLS = {"conv": ("plain", "gemm", "space_to_depth"), "tconv": ("plain", "gemm", "subpixel")}
# (name, H = W, channels, groups): every GroupNorm of ScoreNet.
NORMS = [
    ("gnorm1", 26, 32, 4),
    ("gnorm2", 12, 64, 32),
    ("gnorm3", 5, 128, 32),
    ("gnorm4", 2, 256, 32),
    ("tgnorm4", 5, 128, 32),
    ("tgnorm3", 12, 64, 32),
    ("tgnorm2", 26, 32, 32),
]


# ----------------------------------------------------------------------------- timing


class Timed:
    """A compiled callable with its wall and CPU times per call.

    Each call of a Timed (one per round) runs the function up to `burst` times back to back,
    for at most `burst_s` seconds, and records the fastest: the steady state of repeated
    steps, as in training.  The first call after a different function is slower (caches and
    fresh temporary buffers are cold, idle worker threads must wake up); its times are kept
    apart (`first_median_ms`) to show by how much.
    """

    def __init__(self, fn, burst: int = 1, burst_s: float = 1.0):
        self.fn = fn
        self.burst, self.burst_s = burst, burst_s
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.first: list[float] = []

    def __call__(self):
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

    def summary(self, n: int | None = None) -> dict:
        w, c = self.wall, self.cpu
        return {
            "best_ms": 1e3 * min(w),
            "median_ms": 1e3 * statistics.median(w),
            "cpu_best_ms": 1e3 * min(c),
            "cpu_median_ms": 1e3 * statistics.median(c),
            "spread": max(w) / min(w),  # max/min over rounds: the noise
            "reps": len(w),
            "first_median_ms": 1e3 * statistics.median(self.first),  # first call of each round
            "burst": self.burst,
        }


def run_rounds(timed: dict, rounds: int, seconds: float | None = None) -> int:
    """Call every entry once per round, order reversed every other round; stop after
    `rounds` rounds or, when `seconds` is given, once that much time was spent (≥ 1 round)."""
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


BURST = 3  # back-to-back calls per round in the model section (see Timed)
BASE_OPTIONS: dict = {}  # merged into every compile; empty except for --smoke (fast compiles)
SMOKE_OPTIONS = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def compile_fn(fn, *args, options=None):
    """AOT-compile `fn(*args)` (optionally with XLA compiler options) and run it once;
    return (call, seconds for trace + compile + first run, compiled executable)."""
    t0 = time.perf_counter()
    options = {**BASE_OPTIONS, **(options or {})}
    compiled = jax.jit(fn).lower(*args).compile(compiler_options=options or None)
    jax.block_until_ready(compiled(*args))  # first run
    return (lambda: compiled(*args)), time.perf_counter() - t0, compiled


def cost_flops(compiled) -> float:
    """FLOPs of a compiled executable by XLA's cost analysis."""
    ca = compiled.cost_analysis()
    ca = ca[0] if isinstance(ca, (list, tuple)) else ca
    return float(ca.get("flops", float("nan")))


# ----------------------------------------------------------------------------- model


def init_variables(model, x, t, seed: int = 0):
    """ScoreNet variables drawn with numpy from the shapes `model.init` would give.

    Timing does not depend on the values, and `model.init` costs 10–25 s on this machine
    (eagerly, op by op, or to compile); this takes milliseconds.  Kernels ~ N(0, 1/fan_in)
    (LeCun-normal scale), GroupNorm scales 1, biases 0, Fourier W ~ N(0, 30²).  The same
    seed gives the same variables for every variant and batch size.
    """
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(model.init, jax.random.key(seed), x[:1], t[:1])

    def draw(path, leaf):
        name = str(getattr(path[-1], "key", path[-1]))
        if name == "kernel":
            val = rng.standard_normal(leaf.shape) / math.sqrt(math.prod(leaf.shape[:-1]))
        elif name == "scale":
            val = np.ones(leaf.shape)
        elif name == "W":
            val = 30.0 * rng.standard_normal(leaf.shape)
        else:
            val = np.zeros(leaf.shape)
        return jnp.asarray(val, leaf.dtype)

    return jax.tree_util.tree_map_with_path(draw, shapes)


def make_model(variant: str, batch: int, seed: int = 0):
    """ScoreNet of a variant with its train step and forward as (fn, args) pairs."""
    sde = sg.sde.TutorialVESDE(sigma=25.0)
    std = lambda t: sde.marginal_coeffs(t)[1]  # noqa: E731
    model = ScoreNet(marginal_std=std, **VARIANTS[variant])
    k_init, k_x, k_step = jax.random.split(jax.random.key(seed), 3)
    x = jax.random.uniform(k_x, (batch, 28, 28, 1))
    t = jnp.linspace(1e-3, 1.0, batch)
    variables = init_variables(model, x, t, seed)
    params, consts = variables["params"], variables["constants"]
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)

    def loss_fn(p, key, x0):
        kt, kz = jax.random.split(key)
        tt = jax.random.uniform(kt, (x0.shape[0],), minval=1e-5, maxval=1.0)
        z = jax.random.normal(kz, x0.shape)
        s = std(tt)[:, None, None, None]
        score = model.apply({"params": p, "constants": consts}, x0 + s * z, tt)
        return jnp.mean(jnp.sum((score * s + z) ** 2, axis=(1, 2, 3)))

    def train_step(p, o, key, x0):
        loss, grads = jax.value_and_grad(loss_fn)(p, key, x0)
        updates, o = opt.update(grads, o, p)
        return optax.apply_updates(p, updates), o, loss

    def forward(v, x0, tt):
        return model.apply(v, x0, tt)

    return {"train": (train_step, (params, opt_state, k_step, x)), "forward": (forward, (variables, x, t))}


def peak_dot(n: int = 2048, options=None):
    a = jax.random.normal(jax.random.key(1), (n, n))
    b = jax.random.normal(jax.random.key(2), (n, n))
    call, _, _ = compile_fn(jnp.dot, a, b, options=options)
    return call, 2.0 * n**3


# ----------------------------------------------------------------------------- sections


def bench_models(variants, batches, rounds, seconds, log, cache, peak_n=2048) -> tuple[dict, dict, dict]:
    """Train and forward timings of every (variant, batch), interleaved, plus the peak dot.
    `batches` maps each variant to its batch sizes.  Compiled calls are left in
    `cache[(variant, batch, what)]` for later sections."""
    peaks = {"xla_default": peak_dot(peak_n), "eigen": peak_dot(peak_n, options=XLA_OPTION_SETS["ynn_dots_off"])}
    flops, timed, compile_s = {}, {}, {}
    for v in variants:
        for b in batches[v]:
            for what, (fn, args) in make_model(v, b).items():
                log(f"compiling {v} {what} batch {b}")
                call, secs, compiled = compile_fn(fn, *args)
                timed[(v, b, what)] = Timed(call, burst=BURST)
                cache[(v, b, what)] = call
                compile_s[(v, b, what)] = secs
                if b == batches[v][0]:
                    flops.setdefault(v, {})[what] = cost_flops(compiled) / b / 1e6
    for name, (call, _) in peaks.items():
        timed[("peak", name, "")] = Timed(call)
    log(f"timing {len(timed)} functions, up to {rounds} rounds")
    done = run_rounds(timed, rounds, seconds)

    peak = {}
    for name, (_, fl) in peaks.items():
        tm = timed[("peak", name, "")]
        peak[name] = {
            "gflops_best": fl / min(tm.wall) / 1e9,
            "gflops_median": fl / statistics.median(tm.wall) / 1e9,
            "gflops_per_cpu_s_best": fl / min(tm.cpu) / 1e9,
            "cpu_parallelism_median": statistics.median(c / w for c, w in zip(tm.cpu, tm.wall)),
        }
    best_peak = max(p["gflops_best"] for p in peak.values())
    best_peak_cpu = max(p["gflops_per_cpu_s_best"] for p in peak.values())
    peak.update(
        gflops=best_peak,
        gflops_per_cpu_s=best_peak_cpu,
        matrix=f"{peak_n}x{peak_n} float32 jnp.dot",
        note="best round of the default (YNNPACK) dot and the Eigen dot; cpu_parallelism = CPU time / wall "
        "time, ≈1 means the two threads shared about one core (other processes).",
    )

    useful = flops.get("plain") or next(iter(flops.values()))
    results = {}
    for v in variants:
        res = {}
        for b in batches[v]:
            row = {}
            for what in ("train", "forward"):
                s = timed[(v, b, what)].summary()
                wall_best, wall_med, cpu_best = s["best_ms"] / 1e3, s["median_ms"] / 1e3, s["cpu_best_ms"] / 1e3
                gf = useful[what] * b / 1e3  # GFLOP per call
                row.update(
                    {
                        f"{what}_img_s": b / wall_best,
                        f"{what}_img_s_median": b / wall_med,
                        f"{what}_ms_best": s["best_ms"],
                        f"{what}_ms_median": s["median_ms"],
                        f"{what}_cpu_ms_best": s["cpu_best_ms"],
                        f"{what}_img_per_cpu_s": b / cpu_best,
                        f"{what}_gflops": gf / wall_best,
                        f"{what}_frac_peak": gf / wall_best / best_peak,
                        f"{what}_gflops_per_cpu_s": gf / cpu_best,
                        f"{what}_frac_peak_per_cpu_s": gf / cpu_best / best_peak_cpu,
                        f"{what}_spread_max_over_min": s["spread"],
                        f"{what}_compile_s": compile_s[(v, b, what)],
                        f"{what}_img_s_first_call_median": b / (s["first_median_ms"] / 1e3),
                    }
                )
            row["reps"] = done
            res[str(b)] = row
        results[v] = res
    return results, flops, peak


def bench_layers(batch, rounds, seconds, preset, log) -> dict:
    """Per-layer forward / dx / dw / backward of each convolution and GroupNorm, per impl."""
    timed = {}
    quick = preset != "full"
    parts = ("bwd",) if preset == "quick" else ("fwd", "bwd") if quick else ("fwd", "dx", "dw", "bwd")
    layers = [l for l in LAYERS if l[0] in ("conv4", "tconv4")] if preset == "smoke" else LAYERS
    norms = NORMS[3:4] if preset == "smoke" else (NORMS[:1] + NORMS[-1:] if quick else NORMS)
    for name, kind, H, Cin, Cout, s, op in layers:
        x = jax.random.normal(jax.random.key(0), (batch, H, H, Cin))
        w = 0.1 * jax.random.normal(jax.random.key(1), (3, 3, Cin, Cout))
        impls = LAYER_IMPLS[kind][:2] if quick else LAYER_IMPLS[kind]
        for impl in impls:
            if kind == "conv":
                f = lambda x, w, impl=impl, s=s: strided_conv(x, w, (s, s), impl=impl)  # noqa: E731
            else:
                f = lambda x, w, impl=impl, s=s, op=op: conv_transpose(x, w, (s, s), (op, op), impl=impl)  # noqa: E731
            g = jnp.ones(jax.eval_shape(f, x, w).shape)
            fns = {
                "fwd": (f, (x, w)),
                "dx": (lambda x, w, g, f=f: jax.vjp(lambda x_: f(x_, w), x)[1](g)[0], (x, w, g)),
                "dw": (lambda x, w, g, f=f: jax.vjp(lambda w_: f(x, w_), w)[1](g)[0], (x, w, g)),
                "bwd": (lambda x, w, g, f=f: jax.vjp(f, x, w)[1](g), (x, w, g)),
            }
            for part in parts:
                timed[("conv", name, impl, part)] = Timed(compile_fn(fns[part][0], *fns[part][1])[0])
    for name, H, C, G in norms:
        x = jax.random.normal(jax.random.key(0), (batch, H, H, C))
        for impl in ("flax", "fast"):
            mod = GroupNorm(G, 1e-5) if impl == "fast" else __import__("flax").linen.GroupNorm(num_groups=G, epsilon=1e-5)
            v = mod.init(jax.random.key(1), x)
            fwd = lambda v, x, mod=mod: jax.nn.swish(mod.apply(v, x))  # noqa: E731
            bwd = lambda v, x, fwd=fwd: jax.grad(lambda v_, x_: jnp.sum(fwd(v_, x_) ** 2), (0, 1))(v, x)  # noqa: E731
            timed[("norm", name, impl, "fwd")] = Timed(compile_fn(fwd, v, x)[0])
            timed[("norm", name, impl, "fwd+bwd")] = Timed(compile_fn(bwd, v, x)[0])
    log(f"timing {len(timed)} layer functions")
    run_rounds(timed, rounds, seconds)
    out: dict = {"batch": batch, "convolutions": {}, "group_norm_plus_swish": {}}
    for (sect, name, impl, part), tm in timed.items():
        key = "convolutions" if sect == "conv" else "group_norm_plus_swish"
        s = tm.summary()
        out[key].setdefault(name, {}).setdefault(impl, {})[part + "_ms"] = s["best_ms"]
        out[key][name][impl][part + "_cpu_ms"] = s["cpu_best_ms"]
    for name, impls in out["convolutions"].items():
        spec = next(l for l in LAYERS if l[0] == name)
        impls["shape"] = dict(zip(("kind", "H", "C_in", "C_out", "stride", "output_padding"), spec[1:]))
    totals: dict = {}
    for name, impls in out["convolutions"].items():
        for impl, d in impls.items():
            if impl == "shape":
                continue
            key = f"{'up' if name.startswith('t') else 'down'}:{impl}"
            totals[key] = totals.get(key, 0.0) + d.get("fwd_ms", 0.0) + d["bwd_ms"]
    out["totals_ms"] = totals
    out["totals_are"] = "sum over layers of " + " + ".join(p + "_ms" for p in parts if p in ("fwd", "bwd"))
    out["parts"] = list(parts)
    out["rounds"] = rounds
    return out


def bench_flags(batch, rounds, seconds, log, cache, option_sets=None) -> dict:
    """The fast train step under alternative XLA CPU compiler options, interleaved."""
    fn, args = make_model("fast", batch)["train"]
    timed, errors = {}, {}
    for name in option_sets or XLA_OPTION_SETS:
        opts = XLA_OPTION_SETS[name]
        if not opts and ("fast", batch, "train") in cache:
            timed[name] = Timed(cache[("fast", batch, "train")])  # the default is already compiled
            continue
        try:
            log(f"compiling fast train batch {batch} with {opts}")
            timed[name] = Timed(compile_fn(fn, *args, options=opts)[0])
        except Exception as e:  # option unknown to this XLA: record, skip
            errors[name] = f"{type(e).__name__}: {str(e)[:200]}"
    log(f"timing {len(timed)} XLA option sets")
    run_rounds(timed, rounds, seconds)
    out = {
        name: {"options": XLA_OPTION_SETS[name], **{k: v for k, v in tm.summary().items()}, "train_img_s": batch / min(tm.wall)}
        for name, tm in timed.items()
    }
    base = out.get("default")
    if base:
        for d in out.values():
            d["cpu_time_vs_default"] = d["cpu_best_ms"] / base["cpu_best_ms"]
    return {"batch": batch, "results": out, "errors": errors}


def check_precision() -> dict:
    """What float32 dots compute on this backend under each precision setting."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal((512, 512)).astype(np.float32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    errs = {}
    for prec in ("default", "bfloat16", "tensorfloat32", "float32", "highest"):
        p = None if prec == "default" else prec
        y = np.asarray(jax.jit(lambda a, b, p=p: jnp.dot(a, b, precision=p))(a, b), np.float64)
        errs[prec] = float(np.abs(y - ref).max() / np.abs(ref).max())
    return {
        "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
        "max_rel_error_vs_float64": errs,
        "note": "all settings give full float32 accuracy (~1e-6) on the CPU backend: the precision argument does "
        "not lower CPU dots to bf16/tf32, so nothing is gained or lost by setting it; all timings are true fp32.",
    }


# ----------------------------------------------------------------------------- driver


def _git(*args) -> str | None:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except Exception:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except Exception:
        pass
    return platform.processor() or None


def metadata(argv) -> dict:
    import flax
    import jaxlib

    dirty = _git("status", "--porcelain", "--", "sdegen_jax", "benchmarks")
    return {
        "command": " ".join(["python -m benchmarks.train_throughput", *argv]),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty_library_or_benchmarks": bool(dirty) if dirty is not None else None,
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "flax_version": flax.__version__,
        "optax_version": optax.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
        "dtype": "float32",
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
        "compiler_options": {},
        "xla_flags_note": "no XLA flag or compiler option is set for the headline numbers; see section xla_flags.",
        "loadavg_start": list(os.getloadavg()),
    }


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.train_throughput", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="about a minute: fast at 64 and 512, plain at 64, short layer profile")
    p.add_argument("--smoke", action="store_true", help="seconds: batch 2, one round, unoptimised compiles (for the tests)")
    p.add_argument("--batches", type=int, nargs="+", default=None, help="batch sizes (default 64 512)")
    p.add_argument("--rounds", type=int, default=None, help="timing rounds for the model section")
    p.add_argument("--no-layers", action="store_true", help="skip the per-layer profile")
    p.add_argument("--no-flags", action="store_true", help="skip the XLA-options comparison")
    p.add_argument("--out", default="results/bench_train_throughput.json")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    try:
        return _main(argv)
    finally:
        BASE_OPTIONS.clear()  # --smoke's options must not leak into later compile_fn users


def _main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    t_start = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)  # noqa: E731

    BASE_OPTIONS.clear()
    if args.smoke:
        BASE_OPTIONS.update(SMOKE_OPTIONS)  # structure only: unoptimised code compiles ~2× faster
        preset, batches = "smoke", args.batches or [2]
        variant_batches = {"fast": batches, "plain": batches}
        rounds, seconds, layer_batch, layer_rounds, flag_rounds = args.rounds or 1, None, 2, 1, 1
    elif args.quick:
        # About a minute: the plain port's batch-512 step alone takes 5–10 s, so it is left out.
        preset, batches = "quick", args.batches or [64, 512]
        variant_batches = {"fast": batches, "plain": batches[:1]}
        rounds, seconds, layer_batch, layer_rounds, flag_rounds = args.rounds or 5, 20.0, 64, 2, 0
    else:
        preset, batches = "full", args.batches or [64, 512]
        variant_batches = {"fast": batches, "plain": batches, "subpixel": batches}
        rounds, seconds, layer_batch, layer_rounds, flag_rounds = args.rounds or 12, None, 64, 7, 9
    variants = list(variant_batches)

    out: dict = {"meta": metadata(argv)}
    out["meta"]["compiler_options"] = dict(BASE_OPTIONS)
    out["settings"] = {
        "preset": preset,
        "batches": batches,
        "variant_batches": variant_batches,
        "variants": {v: VARIANTS[v] for v in variants},
        "rounds": rounds,
        "sde": "TutorialVESDE(sigma=25)",
        "optimizer": "optax.adam(1e-3)",
        "loss": "denoising score matching, t ~ U[1e-5, 1]",
    }
    out["precision"] = check_precision()

    cache: dict = {}
    results, flops, peak = bench_models(variants, variant_batches, rounds, seconds, log, cache, 256 if preset == "smoke" else 2048)
    for v in variants:
        out[RESULT_KEY[v]] = results[v]
    out["speedup"] = {
        str(b): {w: results["fast"][str(b)][f"{w}_img_s"] / results["plain"][str(b)][f"{w}_img_s"] for w in ("train", "forward")}
        for b in batches
        if b in variant_batches["plain"]
    }
    out["flops"] = {
        "mflop_per_img": flops,
        "nominal_mflop_per_img": NOMINAL_MFLOP,
        "source": "XLA cost_analysis() of the compiled forward and train step at batch " + str(batches[0]),
        "effective_gflops_uses": "the plain variant's FLOPs (the useful work) for every variant",
    }
    out["peak"] = peak

    if not args.no_layers:
        out["layers"] = bench_layers(layer_batch, layer_rounds, None, preset, log)
    if not args.no_flags and flag_rounds:
        sets = ["default"] if preset == "smoke" else None
        out["xla_flags"] = bench_flags(batches[0], flag_rounds, None, log, cache, sets)

    out["meta"]["loadavg_end"] = list(os.getloadavg())
    out["meta"]["wall_s"] = time.perf_counter() - t_start
    out = json.loads(json.dumps(out, default=float))  # plain JSON types
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    log(f"wrote {path}")
    for b in batches:
        for v in [v for v in variants if b in variant_batches[v]]:
            r = results[v][str(b)]
            print(
                f"batch {b:4d} {v:9s} train {r['train_img_s']:7.1f} img/s (median {r['train_img_s_median']:7.1f}, "
                f"{r['train_gflops']:5.1f} GFLOP/s, {100 * r['train_frac_peak']:4.1f}% of peak)   "
                f"forward {r['forward_img_s']:7.1f} img/s (median {r['forward_img_s_median']:7.1f})"
            )
    print(f"matmul peak {peak['gflops']:.1f} GFLOP/s (cpu parallelism {peak['xla_default']['cpu_parallelism_median']:.2f})")
    return out


if __name__ == "__main__":
    main()
