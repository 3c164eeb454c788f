"""Sampler throughput: img/s and NFE/s of every sampler against batch size and steps.

    python -m benchmarks.samplers              # full grid, writes results/bench_samplers.json
    python -m benchmarks.samplers --quick      # about a minute
    python -m benchmarks.samplers --quick --smoke   # seconds; what tests/test_benchmarks.py runs

Two score functions on 2-D samples under VESDE(σ_min=0.001, σ_max=10):
  exact  the closed-form score of an 8-Gaussian ring mixture (cheap: ~40 flops/sample);
  mlp    a random-init Flax MLP (Fourier time embedding, 2 hidden layers of 128 SiLU units,
         output divided by the marginal std, as in NCSN-style score nets): matmul-bound.

Method.  Every configuration goes through the public `sg.sample_with_info` (end to end,
including its Python-side argument checks and prior draw), timed with
`time.perf_counter` around a call followed by `jax.block_until_ready`.  The methods of one
(score, steps, batch) group are timed round-robin (the order reversed every other round),
so all of them see the same load on this shared, noisy machine; the number of rounds
adapts to the group's cost (between --min-reps and --max-reps, aiming at --target-s of
timing per group).  img/s = batch / median time, NFE/s = NFE per sample × batch / median
time; the `_best` variants use the minimum time, and the printed table shows those: when
other processes compete for the CPUs, noise only ever adds time (single calls were seen
to take 10× their minimum), so the minimum is the stable figure.

Compile time = first call (trace + XLA compile + one run) − fastest steady-state call
(the median would go negative whenever the load rose after the first call).

The diffrax Euler–Maruyama ("euler_maruyama", the batch solved as one flattened state)
is compared with the hand-written `lax.scan` ("euler_maruyama_scan") in a separate
section: the two are called alternately (A B, B A, A B, ...) --ratio-reps times at
--ratio-steps/--ratio-batch for both score functions.  The headline ratio is the median
over the alternations of diffrax_i / scan_i, each pair timed back to back: the two calls
of a pair see the same load, so a load that drifts over the run cancels, and one lucky or
unlucky call moves the median little.  (A ratio of minimum times rests on the single
fastest call of each; in one full run under load 7 on 2 CPUs it read 1.16 where the
paired median read 1.04, from one scan call 25% faster than its other 14.)  The ratio of
minima and of medians are recorded too.  Target: ≤ 1.15.

EQX_ON_ERROR=nan is set before equinox is imported when this runs as a script (checks
inside compiled code then produce NaNs rather than host callbacks); when `main` is called
from an already-running process (the tests) the value in force is recorded instead.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("EQX_ON_ERROR", "nan")

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
from tqdm.auto import tqdm

import sdegen_jax as sg

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "results" / "bench_samplers.json"
SHAPE = (2,)
SCORES = ("exact", "mlp")
EM_DIFFRAX, EM_SCAN = "euler_maruyama", "euler_maruyama_scan"
ADAPTIVE = ("ode",)  # step count chosen by the solver: timed once per batch, steps=None
RATIO_TARGET = 1.15

PRESETS = {
    "full": dict(
        batches=(64, 256, 1024, 4096), steps=(100, 1000), methods=sg.METHODS,
        min_reps=5, max_reps=15, target_s=5.0, ratio_reps=21, ratio_steps=1000, ratio_batch=1024,
    ),
    "quick": dict(
        batches=(256,), steps=(100,), methods=sg.METHODS,
        min_reps=2, max_reps=5, target_s=0.3, ratio_reps=5, ratio_steps=1000, ratio_batch=1024,
    ),
    # For the test suite: both score functions, the diffrax and scan paths, the ratio
    # section, JSON and table, in about ten seconds (four compilations).
    "smoke": dict(
        batches=(8,), steps=(10,), methods=(EM_DIFFRAX, EM_SCAN),
        min_reps=1, max_reps=1, target_s=0.0, ratio_reps=1, ratio_steps=10, ratio_batch=8,
    ),
}


# ----------------------------------------------------------------------------- scores


class TimeMLP(nn.Module):
    """s_θ(x, t) for one sample: [x, sin/cos(2π W t)] → 128 → 128 → dim (SiLU)."""

    hidden: int = 128
    num_freqs: int = 16
    fourier_scale: float = 16.0

    @nn.compact
    def __call__(self, x, t):
        w = self.param("fourier_w", nn.initializers.normal(self.fourier_scale), (self.num_freqs,))
        angle = 2.0 * jnp.pi * jax.lax.stop_gradient(w) * t
        h = jnp.concatenate([x, jnp.sin(angle), jnp.cos(angle)])
        h = nn.silu(nn.Dense(self.hidden)(h))
        h = nn.silu(nn.Dense(self.hidden)(h))
        return nn.Dense(x.shape[-1])(h)


class MLPScore(eqx.Module):
    """The Flax MLP with its parameters as one pytree, so `sample_with_info` compiles once.

    Output divided by the marginal std s(t), as NCSN-style score nets do.
    """

    params: dict
    sde: eqx.Module
    model: TimeMLP = eqx.field(static=True)

    def __call__(self, x, t):
        return self.model.apply(self.params, x, t) / self.sde.marginal_coeffs(t)[1]


def make_scores(sde, seed: int = 0) -> dict:
    gmm = sg.toy.ring_mixture(8, radius=4.0, std=0.5)
    model = TimeMLP()
    params = model.init(jax.random.key(seed), jnp.zeros(SHAPE), jnp.asarray(0.5))
    return {"exact": gmm.score_fn(sde), "mlp": MLPScore(params, sde, model)}


def score_descriptions() -> dict:
    return {
        "exact": "closed-form score of sg.toy.ring_mixture(8, radius=4.0, std=0.5) under the VESDE",
        "mlp": "random-init Flax MLP: [x, sin/cos(2π W t) (16 freqs)] -> Dense 128 -> SiLU -> Dense 128 "
        "-> SiLU -> Dense 2, divided by the marginal std; params in an equinox Module",
    }


# ----------------------------------------------------------------------------- timing


class Case:
    """One (score, method, steps, batch) configuration and its timings."""

    def __init__(self, key, sde, scores, score, method, steps, batch):
        self.score, self.method, self.steps, self.batch = score, method, steps, batch
        self._args = (key, sde, scores[score])
        self.times: list[float] = []
        self.first_call_s = None
        self.nfe = self.num_steps = None
        self.finite = None

    def call(self):
        key, sde, score_fn = self._args
        steps = 1 if self.steps is None else self.steps  # adaptive: the grid sets only the end points
        x, info = sg.sample_with_info(key, sde, score_fn, shape=SHAPE, n=self.batch, method=self.method, steps=steps)
        return jax.block_until_ready((x, info))

    def timed(self):
        t0 = time.perf_counter()
        out = self.call()
        dt = time.perf_counter() - t0
        return dt, out

    def first(self):
        """First call: compiles unless this configuration already ran in this process."""
        dt, (x, info) = self.timed()
        self.first_call_s = dt
        self.nfe, self.num_steps = int(info.nfe), int(info.num_steps)
        self.finite = bool(jnp.all(jnp.isfinite(x)))

    def rep(self):
        self.times.append(self.timed()[0])

    def summary(self) -> dict:
        med, best = statistics.median(self.times), min(self.times)
        compile_s = max(self.first_call_s - best, 0.0)
        return {
            "score": self.score,
            "method": self.method,
            "steps": self.steps,
            "adaptive": self.steps is None,
            "batch": self.batch,
            "dim": math.prod(SHAPE),
            "nfe_per_sample": self.nfe,
            "num_steps": self.num_steps,
            "reps": len(self.times),
            "times_s": self.times,
            "median_s": med,
            "min_s": best,
            "img_per_s": self.batch / med,
            "img_per_s_best": self.batch / best,
            "nfe_per_s": self.nfe * self.batch / med,
            "nfe_per_s_best": self.nfe * self.batch / best,
            "first_call_s": self.first_call_s,
            "compile_s": compile_s,
            "samples_finite": self.finite,
        }


def run_group(cases: list[Case], min_reps: int, max_reps: int, target_s: float, on_method=None):
    """First-call every case, then time them round-robin (order reversed every other round)."""
    for c in cases:
        if on_method:
            on_method(f"compile {c.method}")
        c.first()
    if on_method:
        on_method("timing")
    rounds = 0

    def one_round():
        nonlocal rounds
        for c in cases if rounds % 2 == 0 else reversed(cases):
            c.rep()
        rounds += 1

    one_round()
    round_s = sum(c.times[-1] for c in cases)
    wanted = math.ceil(target_s / max(round_s, 1e-9))
    for _ in range(max(min_reps, min(max_reps, wanted)) - 1):
        one_round()


def em_ratio(diffrax: Case, scan: Case, reps: int, already_compiled: bool) -> dict:
    """Alternate the two Euler–Maruyama samplers `reps` times (A B, B A, ...) and compare."""
    for c in (diffrax, scan):
        c.first()
    for r in range(reps):
        for c in (diffrax, scan) if r % 2 == 0 else (scan, diffrax):
            c.rep()
    a, b = diffrax.times, scan.times
    paired = [x / y for x, y in zip(a, b)]
    ratio_paired = statistics.median(paired)
    return {
        "score": diffrax.score,
        "steps": diffrax.steps,
        "batch": diffrax.batch,
        "dim": math.prod(SHAPE),
        "reps": reps,
        "diffrax_times_s": a,
        "scan_times_s": b,
        "diffrax_min_s": min(a),
        "scan_min_s": min(b),
        "diffrax_median_s": statistics.median(a),
        "scan_median_s": statistics.median(b),
        "ratio_min": min(a) / min(b),
        "ratio_median": statistics.median(a) / statistics.median(b),
        "ratio_paired_median": ratio_paired,
        "headline": "ratio_paired_median",
        "target": RATIO_TARGET,
        "within_target": ratio_paired <= RATIO_TARGET,
        "diffrax_compile_s": None if already_compiled else max(diffrax.first_call_s - min(a), 0.0),
        "scan_compile_s": None if already_compiled else max(scan.first_call_s - min(b), 0.0),
    }


# ----------------------------------------------------------------------------- metadata


def _git(*args) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return None


def metadata(argv) -> dict:
    import diffrax
    import flax

    try:
        import equinox._config as eqx_config

        on_error = eqx_config.EQX_ON_ERROR
    except Exception:  # private module; informative only
        on_error = os.environ.get("EQX_ON_ERROR")
    dirty = _git("status", "--porcelain", "--", "sdegen_jax", "benchmarks")
    return {
        "command": " ".join(["python -m benchmarks.samplers", *argv]),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty_library_or_benchmarks": bool(dirty) if dirty is not None else None,
        "jax_version": jax.__version__,
        "diffrax_version": diffrax.__version__,
        "equinox_version": eqx.__version__,
        "flax_version": flax.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "devices": [str(d) for d in jax.devices()],
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "EQX_ON_ERROR": on_error,
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
    }


# ----------------------------------------------------------------------------- output


def _si(v: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def format_tables(results: list[dict], ratios: list[dict], grid_ratios: list[dict] = ()) -> str:
    lines = ["img/s and NFE/s from the fastest of each configuration's timed calls (medians in the JSON);",
             "compile s: median over batch sizes of (first call - fastest call)."]
    batches = sorted({r["batch"] for r in results})
    steps_list = sorted({r["steps"] for r in results if r["steps"] is not None})
    methods = list(dict.fromkeys(r["method"] for r in results))
    by = {(r["score"], r["method"], r["steps"], r["batch"]): r for r in results}
    for score in dict.fromkeys(r["score"] for r in results):
        for steps in steps_list + [None]:
            rows = [m for m in methods if any((score, m, steps, b) in by for b in batches)]
            if not rows:
                continue
            title = f"score={score}  steps={'adaptive' if steps is None else steps}"
            head = f"{'method':<20}{'NFE/smp':>8}" + "".join(f"{'img/s@' + str(b):>12}" for b in batches)
            head += "".join(f"{'NFE/s@' + str(b):>12}" for b in batches) + f"{'compile s':>11}"
            lines += ["", title, head, "-" * len(head)]
            for m in rows:
                cells = [by.get((score, m, steps, b)) for b in batches]
                nfe = next(c["nfe_per_sample"] for c in cells if c)
                row = f"{m:<20}{nfe:>8}"
                row += "".join(f"{_si(c['img_per_s_best']) if c else '-':>12}" for c in cells)
                row += "".join(f"{_si(c['nfe_per_s_best']) if c else '-':>12}" for c in cells)
                comp = [c["compile_s"] for c in cells if c]
                row += f"{statistics.median(comp):>11.2f}"
                lines.append(row)
    if grid_ratios:
        lines += ["", "Euler–Maruyama diffrax / scan over the grid (median of same-round ratios; fewer reps than below)"]
        head = f"{'score':<7}{'steps':>6}" + "".join(f"{'@' + str(b):>8}" for b in batches)
        lines += [head, "-" * len(head)]
        g = {(r["score"], r["steps"], r["batch"]): r["ratio_paired_median"] for r in grid_ratios}
        for score, steps in dict.fromkeys((r["score"], r["steps"]) for r in grid_ratios):
            cells = [g.get((score, steps, b)) for b in batches]
            lines.append(f"{score:<7}{steps:>6}" + "".join(f"{c:>8.2f}" if c else f"{'-':>8}" for c in cells))
    if ratios:
        lines += ["", "Euler–Maruyama: diffrax / hand-written scan (interleaved; headline: median of paired ratios)"]
        head = (f"{'score':<7}{'steps':>6}{'batch':>6}{'reps':>5}{'diffrax min s':>15}{'scan min s':>12}"
                f"{'paired med':>12}{'ratio(min)':>12}{'ratio(med)':>12}  target ≤ {RATIO_TARGET}")
        lines += [head, "-" * len(head)]
        for r in ratios:
            lines.append(
                f"{r['score']:<7}{r['steps']:>6}{r['batch']:>6}{r['reps']:>5}{r['diffrax_min_s']:>15.4f}"
                f"{r['scan_min_s']:>12.4f}{r['ratio_paired_median']:>12.3f}{r['ratio_min']:>12.3f}"
                f"{r['ratio_median']:>12.3f}  {'ok' if r['within_target'] else 'OVER'}"
            )
    return "\n".join(lines)


def grid_em_ratios(results: list[dict]) -> list[dict]:
    """diffrax/scan EM ratios at every grid point, from the round-robin timings."""
    grid_ratios = []
    by = {(r["score"], r["method"], r["steps"], r["batch"]): r for r in results}
    for (score, method, steps, batch), r in by.items():
        other = by.get((score, EM_SCAN, steps, batch))
        if method == EM_DIFFRAX and other:
            grid_ratios.append({"score": score, "steps": steps, "batch": batch,
                                "ratio_paired_median": statistics.median(
                                    x / y for x, y in zip(r["times_s"], other["times_s"])),
                                "ratio_min": r["min_s"] / other["min_s"],
                                "ratio_median": r["median_s"] / other["median_s"]})
    return grid_ratios


def document(args, meta, results, ratios, complete: bool) -> dict:
    return {
        "meta": dict(meta, complete=complete),
        "settings": {
            "preset": args.preset,
            "sde": "VESDE(sigma_min=0.001, sigma_max=10.0)",
            "shape": list(SHAPE),
            "scores": score_descriptions(),
            "batches": list(args.batches),
            "steps": list(args.steps),
            "methods": list(args.methods),
            "min_reps": args.min_reps,
            "max_reps": args.max_reps,
            "target_s_per_group": args.target_s,
            "timing": "time.perf_counter around sg.sample_with_info(...) + jax.block_until_ready; methods of a "
            "(score, steps, batch) group timed round-robin, order reversed every other round",
            "img_per_s": "batch / median time (img_per_s_best: batch / min time)",
            "nfe_per_s": "NFE per sample (SampleInfo.nfe) x batch / median time",
            "compile_s": "first call (trace + compile + one run) minus the fastest steady-state call; 0 when the "
            "configuration had already been compiled in this process",
            "adaptive": f"{list(ADAPTIVE)} choose their own steps (Tsit5, rtol=atol=1e-5): steps=None, "
            "timed once per batch",
            "em_ratio": f"diffrax euler_maruyama / euler_maruyama_scan, alternated {args.ratio_reps} times at "
            f"steps={args.ratio_steps}, batch={args.ratio_batch}; headline = median of the paired ratios "
            "diffrax_i / scan_i (pairs timed back to back), "
            f"target <= {RATIO_TARGET}",
        },
        "results": results,
        "em_ratio": ratios,
        "em_ratio_grid": grid_em_ratios(results),
    }


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="about a minute: one batch/steps, fewer repetitions")
    p.add_argument("--smoke", action="store_true", help="seconds: tiny batch, steps=10, one repetition (tests)")
    p.add_argument("--batches", type=int, nargs="+", help="batch sizes")
    p.add_argument("--steps", type=int, nargs="+", help="numbers of steps")
    p.add_argument("--methods", nargs="+", choices=sg.METHODS, help="samplers (default all)")
    p.add_argument("--scores", nargs="+", choices=SCORES, default=list(SCORES))
    p.add_argument("--min-reps", type=int)
    p.add_argument("--max-reps", type=int)
    p.add_argument("--target-s", type=float, help="seconds of timing aimed at per (score, steps, batch) group")
    p.add_argument("--ratio-reps", type=int, help="alternations for the diffrax/scan EM ratio")
    p.add_argument("--ratio-steps", type=int)
    p.add_argument("--ratio-batch", type=int)
    p.add_argument("--no-ratio", action="store_true", help="skip the EM diffrax/scan section")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    preset = PRESETS["smoke" if args.smoke else "quick" if args.quick else "full"]
    for k, v in preset.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    return args


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    meta = metadata([str(a) for a in argv])
    meta["load_average_start"] = os.getloadavg()
    t_start = time.perf_counter()

    sde = sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0)
    scores = make_scores(sde, args.seed)
    key = jax.random.key(args.seed)
    seen: set = set()  # configurations already compiled in this process

    groups = []
    for score in args.scores:
        for i, steps in enumerate(args.steps):
            for batch in args.batches:
                ms = [m for m in args.methods if m not in ADAPTIVE]
                if i == 0:  # adaptive samplers ignore `steps`: time them once per batch
                    ms += [m for m in args.methods if m in ADAPTIVE]
                if ms:
                    groups.append([Case(key, sde, scores, score, m, None if m in ADAPTIVE else steps, batch) for m in ms])

    # Checkpointed after every group (a killed run leaves its figures so far), removed at the end.
    partial = args.out.with_name(args.out.stem + ".partial.json")
    results, ratios = [], []
    bar = tqdm(groups, desc="samplers", unit="group", dynamic_ncols=True)
    for cases in bar:
        c0 = cases[0]
        label = f"{c0.score} steps={c0.steps} batch={c0.batch}"
        run_group(cases, args.min_reps, args.max_reps, args.target_s,
                  on_method=lambda s, label=label: bar.set_postfix_str(f"{label}: {s}"))
        for c in cases:
            seen.add((c.score, c.method, c.steps, c.batch))
            results.append(c.summary())
        best = max(cases, key=lambda c: c.batch / statistics.median(c.times))
        bar.write(f"{label}: {len(cases)} methods × {len(c0.times)} reps; fastest {best.method} "
                  f"{_si(best.batch / statistics.median(best.times))} img/s")
        write_json(partial, document(args, meta, results, ratios, complete=False))
    bar.close()

    if not args.no_ratio:
        for score in tqdm(args.scores, desc="EM diffrax/scan", unit="score", dynamic_ncols=True):
            cases = [Case(key, sde, scores, score, m, args.ratio_steps, args.ratio_batch) for m in (EM_DIFFRAX, EM_SCAN)]
            compiled = all((score, m, args.ratio_steps, args.ratio_batch) in seen for m in (EM_DIFFRAX, EM_SCAN))
            ratios.append(em_ratio(*cases, reps=args.ratio_reps, already_compiled=compiled))
            write_json(partial, document(args, meta, results, ratios, complete=False))

    meta["load_average_end"] = os.getloadavg()
    meta["wall_time_s"] = time.perf_counter() - t_start
    out = document(args, meta, results, ratios, complete=True)
    write_json(args.out, out)
    partial.unlink(missing_ok=True)
    print(format_tables(results, ratios, out["em_ratio_grid"]))
    print(f"\nwrote {args.out}  ({meta['wall_time_s']:.0f} s, load average {meta['load_average_start'][0]:.1f} -> "
          f"{meta['load_average_end'][0]:.1f} on {meta['cpu_count']} CPUs)")
    return out


if __name__ == "__main__":
    main()
