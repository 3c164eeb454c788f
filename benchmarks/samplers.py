"""Sampler throughput: img/s and NFE/s of every sampler against batch size and steps, the
samplers' overhead against the bare minimum and a peer library, and chunked score evaluation.

    python -m benchmarks.samplers              # everything, writes results/bench_samplers.json
    python -m benchmarks.samplers --quick      # a few minutes
    python -m benchmarks.samplers --quick --smoke   # seconds; what tests/test_benchmarks.py runs

Section "grid".  Two score functions on 2-D samples under VESDE(0.001, 10):
  exact  the closed-form score of an 8-Gaussian ring mixture (cheap: ~40 flops/sample);
  mlp    a random-init `sg.nets.TimeMLP` (Fourier time embedding, 2 hidden layers of 128
         swish units, output divided by the marginal std): matmul-bound.
Every configuration goes through the public `sg.sample_with_info(..., method=<sampler>)`,
end to end (argument checks, dispatch), timed with `time.perf_counter` around a call and
`jax.block_until_ready`.  The samplers of one (score, steps, batch) group are timed
round-robin (order reversed every other round), so all see the same load; img/s uses the
fastest call (noise only adds time), medians are in the JSON.  Compile time = first call −
fastest call.

Section "em_ratio".  The Diffrax Euler–Maruyama (the batch as one flattened state) against
the hand-written `lax.scan` (`EulerMaruyamaScan`), alternated A B, B A, ...; the headline is
the median of the paired ratios (each pair back to back, so a drifting load cancels).

Section "overhead" (seed 002 Ex. 7 mixture, exact score, 1-D, batch 1024, 1000 steps):
`sg.sample` with `EulerMaruyamaScan()` and with `EulerMaruyama()` (Diffrax) against
`benchmarks.baselines` (a bare `lax.scan` EM and a minimal direct `diffeqsolve`) and
diffusionjax 0.1.8's jitted EM (`benchmarks.peers.diffusionjax_em`, when installed; the
benchmark says so and goes on when it is not).  Interleaved rounds, best of 3 calls each;
targets: scan ≤ 1.05 × bare scan; Diffrax ≤ max(diffusionjax, 1.05 × minimal diffeqsolve).

Section "few_step".  The few-step samplers (DDIM, DPM-Solver++ 2M/2S, UniPC, EDM) against
Euler–Maruyama and predictor–corrector at equal NFE (denoised), MLP score, batch 1024: img/s,
and each one's time per score evaluation over a bare `lax.scan` of the same number of batched
network evaluations (the per-step overhead of the solver).

Section "chunking".  `experiments.score_mnist`'s sampling: ScoreNet (random init) under the
tutorial VE SDE, Euler–Maruyama at batch 500, evaluated in chunks of `chunk_size` samples
(`lax.map` over chunks), against the whole batch at once.

EQX_ON_ERROR=nan is set before equinox is imported when this runs as a script (checks
inside compiled code then produce NaNs rather than host callbacks); when `main` is called
from an already-running process (the tests) the value in force is recorded instead.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("EQX_ON_ERROR", "nan")

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from tqdm.auto import tqdm

import sdegen_jax as sg
from benchmarks._timing import Timed, metadata, paired_ratios, run_rounds, write_json
from benchmarks.baselines import bare_scan_em, minimal_diffeqsolve_em

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "results" / "bench_samplers.json"
SHAPE = (2,)
SCORES = ("exact", "mlp")
EM_DIFFRAX, EM_SCAN = "euler_maruyama", "euler_maruyama_scan"
RATIO_TARGET = 1.15
OVERHEAD_TARGET = 1.05
FEW_STEP_METHODS = ("euler_maruyama_scan", "ddim", "dpmpp_2m", "dpmpp_2s", "unipc", "edm_heun", "edm_stochastic", "pc")

PRESETS = {
    "full": dict(
        batches=(64, 256, 1024, 4096), steps=(100, 1000), methods=sg.samplers.METHODS,
        min_reps=5, max_reps=15, target_s=5.0, ratio_reps=21, ratio_steps=1000, ratio_batch=1024,
        overhead_rounds=21, chunk_sizes=(0, 25, 50, 100, 250), chunk_rounds=7, chunk_steps=10,
        few_step_nfe=(10, 20, 100), few_step_batch=1024, few_step_methods=FEW_STEP_METHODS,
    ),
    "quick": dict(
        batches=(256,), steps=(100,), methods=sg.samplers.METHODS,
        min_reps=2, max_reps=5, target_s=0.3, ratio_reps=5, ratio_steps=1000, ratio_batch=1024,
        overhead_rounds=7, chunk_sizes=(0, 50), chunk_rounds=3, chunk_steps=4,
        few_step_nfe=(20,), few_step_batch=1024, few_step_methods=FEW_STEP_METHODS,
    ),
    # For the test suite: both score functions, the diffrax and scan paths, every section, JSON
    # and table, in seconds.
    "smoke": dict(
        batches=(8,), steps=(10,), methods=(EM_DIFFRAX, EM_SCAN),
        min_reps=1, max_reps=1, target_s=0.0, ratio_reps=1, ratio_steps=10, ratio_batch=8,
        overhead_rounds=1, chunk_sizes=(0, 2), chunk_rounds=1, chunk_steps=2,
        few_step_nfe=(5,), few_step_batch=8, few_step_methods=("ddim", "dpmpp_2m"),
    ),
}


# ----------------------------------------------------------------------------- scores


def make_scores(sde, seed: int = 0) -> dict:
    from flax import nnx

    gmm = sg.toy.ring_mixture(8, radius=4.0, std=0.5)
    mlp = sg.nets.TimeMLP(SHAPE[0], features=(128, 128), embedding="fourier", fourier_scale=16.0, embed_dim=32,
                          marginal_std=lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(seed))
    return {"exact": gmm.score_fn(sde), "mlp": sg.nets.score_fn_from(mlp)}


def score_descriptions() -> dict:
    return {
        "exact": "closed-form score of sg.toy.ring_mixture(8, radius=4.0, std=0.5) under the VESDE",
        "mlp": "random-init sg.nets.TimeMLP(2, features=(128, 128), embedding='fourier', embed_dim=32) divided by "
        "the marginal std, through sg.nets.score_fn_from (a pytree: one compilation for any weights)",
    }


def sampler_of(name: str):
    """The library sampler behind a CLI name, at the settings this benchmark times."""
    if name == "annealed_langevin":
        return sg.samplers.AnnealedLangevin(steps_per_level=1)  # one step per level: NFE = steps
    return sg.samplers.from_name(name)


# ----------------------------------------------------------------------------- timing


class Case:
    """One (score, sampler, steps, batch) configuration and its timings."""

    def __init__(self, key, sde, scores, score, method, steps, batch):
        self.score, self.method, self.steps, self.batch = score, method, steps, batch
        self.sampler = sampler_of(method)
        self._args = (key, sde, scores[score])
        self.times: list[float] = []
        self.first_call_s = None
        self.nfe = self.num_steps = None
        self.finite = None

    def call(self):
        key, sde, score_fn = self._args
        x, info = sg.sample_with_info(key, sde, score_fn, shape=SHAPE, n=self.batch, method=self.sampler, steps=self.steps)
        return jax.block_until_ready((x, info))

    def timed(self):
        t0 = time.perf_counter()
        out = self.call()
        return time.perf_counter() - t0, out

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
        return {
            "score": self.score, "method": self.method, "steps": self.steps, "adaptive": self.steps is None,
            "batch": self.batch, "dim": math.prod(SHAPE), "nfe_per_sample": self.nfe, "num_steps": self.num_steps,
            "reps": len(self.times), "times_s": self.times, "median_s": med, "min_s": best,
            "img_per_s": self.batch / med, "img_per_s_best": self.batch / best,
            "nfe_per_s": self.nfe * self.batch / med, "nfe_per_s_best": self.nfe * self.batch / best,
            "first_call_s": self.first_call_s, "compile_s": max(self.first_call_s - best, 0.0),
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
    for _ in range(max(min_reps, min(max_reps, math.ceil(target_s / max(round_s, 1e-9)))) - 1):
        one_round()


def em_ratio(diffrax: Case, scan: Case, reps: int, already_compiled: bool) -> dict:
    """Alternate the two Euler–Maruyama samplers `reps` times (A B, B A, ...) and compare."""
    for c in (diffrax, scan):
        c.first()
    for r in range(reps):
        for c in (diffrax, scan) if r % 2 == 0 else (scan, diffrax):
            c.rep()
    a, b = diffrax.times, scan.times
    ratio_paired = statistics.median(x / y for x, y in zip(a, b))
    return {
        "score": diffrax.score, "steps": diffrax.steps, "batch": diffrax.batch, "dim": math.prod(SHAPE), "reps": reps,
        "diffrax_times_s": a, "scan_times_s": b, "diffrax_min_s": min(a), "scan_min_s": min(b),
        "diffrax_median_s": statistics.median(a), "scan_median_s": statistics.median(b),
        "ratio_min": min(a) / min(b), "ratio_median": statistics.median(a) / statistics.median(b),
        "ratio_paired_median": ratio_paired, "headline": "ratio_paired_median", "target": RATIO_TARGET,
        "within_target": ratio_paired <= RATIO_TARGET,
        "diffrax_compile_s": None if already_compiled else max(diffrax.first_call_s - min(a), 0.0),
        "scan_compile_s": None if already_compiled else max(scan.first_call_s - min(b), 0.0),
    }


def grid_em_ratios(results: list[dict]) -> list[dict]:
    """diffrax/scan EM ratios at every grid point, from the round-robin timings."""
    by = {(r["score"], r["method"], r["steps"], r["batch"]): r for r in results}
    out = []
    for (score, method, steps, batch), r in by.items():
        other = by.get((score, EM_SCAN, steps, batch))
        if method == EM_DIFFRAX and other:
            out.append({"score": score, "steps": steps, "batch": batch,
                        "ratio_paired_median": statistics.median(x / y for x, y in zip(r["times_s"], other["times_s"])),
                        "ratio_min": r["min_s"] / other["min_s"], "ratio_median": r["median_s"] / other["median_s"]})
    return out


# ----------------------------------------------------------------------------- overhead


def overhead(args, log) -> dict:
    """sg.sample's EM paths against the bare minimum and diffusionjax (module docstring)."""
    sigma_min, sigma_max, eps = 0.001, 10.0, 1e-5
    sde = sg.sde.VESDE(sigma_min, sigma_max)
    gmm = sg.toy.seed002_mixture()
    score_fn = gmm.score_fn(sde)
    batch, steps = args.ratio_batch, args.ratio_steps
    x_init = gmm.marginal(sde, sde.T).sample(jax.random.key(1), batch)
    key = jax.random.key(0)
    kw = dict(sigma_min=sigma_min, sigma_max=sigma_max, steps=steps, eps=eps)
    bare, minimal = bare_scan_em(score_fn, **kw), minimal_diffeqsolve_em(score_fn, **kw)
    fns = {
        "sample_scan": lambda: sg.sample(key, sde, score_fn, x_init=x_init, method=sg.samplers.EulerMaruyamaScan(), steps=steps),
        "sample_diffrax": lambda: sg.sample(key, sde, score_fn, x_init=x_init, method=sg.samplers.EulerMaruyama(), steps=steps),
        "bare_scan": lambda: bare(key, x_init),
        "minimal_diffeqsolve": lambda: minimal(key, x_init),
    }
    peer = {"name": "diffusionjax", "available": False}
    try:
        import diffusionjax  # noqa: F401

        from benchmarks.peers.diffusionjax_em import make_em_sampler

        djx = make_em_sampler(score_fn, batch=batch, shape=(1,), **kw)
        fns["diffusionjax"] = lambda: djx(key, x_init)
        peer.update(available=True, version=getattr(diffusionjax, "__version__", None) or _dist_version("diffusionjax"))
    except ImportError as e:
        peer["reason"] = f"not installed ({e}); pip install -e '.[peers]' to include it"
        log(f"overhead: diffusionjax is not installed, timing without it ({e})")
    target = gmm.marginal(sde, eps)
    w1 = {}
    for name, fn in fns.items():
        w1[name] = sg.metrics.wasserstein1_to_mixture(jax.block_until_ready(fn()), target)  # also compiles
    timed = {name: Timed(fn, burst=3) for name, fn in fns.items()}
    log(f"overhead: {len(timed)} samplers x {args.overhead_rounds} rounds")
    rounds = run_rounds(timed, args.overhead_rounds)
    times = {name: {**t.summary(), "w1": w1[name]} for name, t in timed.items()}
    ratio = lambda a, b: statistics.median(paired_ratios(timed[a], timed[b]))  # noqa: E731
    ratios = {"scan_over_bare_scan": ratio("sample_scan", "bare_scan"),
              "diffrax_over_minimal_diffeqsolve": ratio("sample_diffrax", "minimal_diffeqsolve"),
              "minimal_diffeqsolve_over_bare_scan": ratio("minimal_diffeqsolve", "bare_scan")}
    if "diffusionjax" in timed:
        ratios["diffrax_over_diffusionjax"] = ratio("sample_diffrax", "diffusionjax")
        ratios["diffusionjax_over_bare_scan"] = ratio("diffusionjax", "bare_scan")
    # Diffrax's bound: max(diffusionjax, 1.05 × minimal), as a ratio to the minimal diffeqsolve.
    bound = OVERHEAD_TARGET
    if "diffrax_over_diffusionjax" in ratios:
        bound = max(bound, ratios["diffrax_over_minimal_diffeqsolve"] / ratios["diffrax_over_diffusionjax"])
    return {
        "setting": {"sde": "VESDE(0.001, 10.0)", "score": "exact seed 002 mixture score", "dim": 1, "batch": batch,
                    "steps": steps, "rounds": rounds, "burst": 3, "x_init": "exact p_T samples"},
        "peer": peer, "times": times, "ratios": ratios,
        "targets": {
            "scan_over_bare_scan": {"bound": OVERHEAD_TARGET, "met": ratios["scan_over_bare_scan"] <= OVERHEAD_TARGET},
            "diffrax": {"bound_over_minimal_diffeqsolve": bound, "met": ratios["diffrax_over_minimal_diffeqsolve"] <= bound,
                        "rule": "Diffrax EM <= max(diffusionjax, 1.05 x minimal diffeqsolve), paired medians"},
        },
        "ratio_method": "median over rounds of the paired ratio (the two calls of a round see the same load)",
    }


def few_step(args, log) -> dict:
    """The few-step samplers at equal NFE, with the MLP score (matmul-bound), against the bare
    network: the same number of batched score evaluations in a hand-written `lax.scan`
    (x ← x + 0·score, so nothing is skipped).  overhead = sampler / bare at equal NFE."""
    sde = sg.sde.VESDE(0.001, 10.0)
    score_fn = make_scores(sde, args.seed)["mlp"]
    batch, key = args.few_step_batch, jax.random.key(0)
    x_init = sde.prior_sample(jax.random.key(1), (batch, *SHAPE))
    two = {"pc", "edm_heun", "edm_stochastic", "dpmpp_2s"}
    out = {"setting": {"sde": "VESDE(0.001, 10.0)", "score": "mlp (see grid)", "batch": batch, "denoise": True,
                       "nfe": list(args.few_step_nfe), "rounds": args.overhead_rounds, "burst": 3}, "rows": []}
    for nfe in args.few_step_nfe:
        fns, nfes = {}, {}
        for m in args.few_step_methods:
            steps = (nfe - 1) // (2 if m in two else 1) + 1
            fns[m] = (lambda m=m, steps=steps: sg.sample_with_info(key, sde, score_fn, x_init=x_init, method=m,
                                                                    steps=steps, denoise=True))
            nfes[m] = int(jax.block_until_ready(fns[m]())[1].nfe)

        def bare(x, nfe=nfe):
            ts = jnp.linspace(1.0, 1e-5, nfe)

            def body(x, t):
                return x + 0.0 * score_fn.batched(x, jnp.full((x.shape[0],), t)), None

            return jax.lax.scan(body, x, ts)[0]

        bare_c = jax.jit(bare).lower(x_init).compile()
        jax.block_until_ready(bare_c(x_init))
        timed = {m: Timed(lambda f=f: jax.block_until_ready(f()), burst=3) for m, f in fns.items()}
        timed["bare"] = Timed(lambda: jax.block_until_ready(bare_c(x_init)), burst=3)
        log(f"few_step: NFE {nfe}, {len(timed)} entries x {args.overhead_rounds} rounds")
        run_rounds(timed, args.overhead_rounds)
        bare_s = timed["bare"].summary()
        for m in args.few_step_methods:
            summ = timed[m].summary()
            per_nfe = statistics.median(paired_ratios(timed[m], timed["bare"])) * nfe / max(nfes[m], 1)
            out["rows"].append({"method": m, "nfe_budget": nfe, "nfe": nfes[m], "best_ms": summ["best_ms"],
                                "img_per_s_best": batch / (summ["best_ms"] / 1e3),
                                "bare_best_ms": bare_s["best_ms"], "overhead_per_evaluation": per_nfe})
    out["ratio_method"] = ("overhead_per_evaluation: median paired ratio sampler/bare, scaled by budget/actual NFE "
                           "(the bare scan evaluates the budget)")
    return out


def _dist_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


# ----------------------------------------------------------------------------- chunking


def chunking(args, log) -> dict:
    """Euler–Maruyama with ScoreNet at batch 500 (score_mnist's sampling), by chunk size."""
    from flax import nnx

    sde = sg.sde.TutorialVESDE(25.0)
    net = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(0))
    score_fn = sg.nets.score_fn_from(net)
    n = 500 if args.preset != "smoke" else 4
    steps = args.chunk_steps
    key = jax.random.key(0)
    fns = {}
    for c in args.chunk_sizes:
        chunk = None if c == 0 else c
        fns[str(c or "none")] = lambda chunk=chunk: sg.sample(key, sde, score_fn, (28, 28, 1), n, steps=steps, chunk_size=chunk)
    compile_s = {}
    for name, fn in fns.items():
        log(f"chunking: compiling chunk_size={name}")
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        compile_s[name] = time.perf_counter() - t0
    timed = {name: Timed(fn) for name, fn in fns.items()}
    rounds = run_rounds(timed, args.chunk_rounds)
    rows = {}
    for name, t in timed.items():
        s = t.summary()
        rows[name] = {"chunk_size": None if name == "none" else int(name), "best_ms": s["best_ms"], "median_ms": s["median_ms"],
                      "score_evals_per_s": n * steps / (s["best_ms"] / 1e3), "first_call_s": compile_s[name],
                      "speedup_vs_whole_batch": statistics.median(paired_ratios(timed["none"], t)) if "none" in timed else None}
    best = max(rows, key=lambda k: rows[k]["score_evals_per_s"])
    return {"setting": {"model": "sg.nets.ScoreNet (random init, 1,115,425 params)", "sde": "TutorialVESDE(25)",
                        "sampler": "EulerMaruyama()", "n": n, "steps": steps, "rounds": rounds},
            "rows": rows, "fastest": best}


# ----------------------------------------------------------------------------- output


def _si(v: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def format_tables(doc: dict) -> str:
    results, ratios = doc["results"], doc["em_ratio"]
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
            head = f"{'method':<20}{'NFE/smp':>8}" + "".join(f"{'img/s@' + str(b):>12}" for b in batches)
            head += "".join(f"{'NFE/s@' + str(b):>12}" for b in batches) + f"{'compile s':>11}"
            lines += ["", f"score={score}  steps={'adaptive' if steps is None else steps}", head, "-" * len(head)]
            for m in rows:
                cells = [by.get((score, m, steps, b)) for b in batches]
                nfe = next(c["nfe_per_sample"] for c in cells if c)
                row = f"{m:<20}{nfe:>8}" + "".join(f"{_si(c['img_per_s_best']) if c else '-':>12}" for c in cells)
                row += "".join(f"{_si(c['nfe_per_s_best']) if c else '-':>12}" for c in cells)
                lines.append(row + f"{statistics.median([c['compile_s'] for c in cells if c]):>11.2f}")
    grid = doc.get("em_ratio_grid") or []
    if grid:
        lines += ["", "Euler–Maruyama diffrax / scan over the grid (median of same-round ratios)"]
        for r in grid:
            lines.append(f"  {r['score']:<6} steps {r['steps']:>5} batch {r['batch']:>5}: {r['ratio_paired_median']:.2f}")
    if ratios:
        lines += ["", "Euler–Maruyama: diffrax / hand-written scan (interleaved; headline: median of paired ratios)"]
        for r in ratios:
            lines.append(f"  {r['score']:<6} steps {r['steps']} batch {r['batch']}: paired median {r['ratio_paired_median']:.3f} "
                         f"(min ratio {r['ratio_min']:.3f}), target <= {RATIO_TARGET}: {'ok' if r['within_target'] else 'OVER'}")
    ov = doc.get("overhead")
    if ov:
        lines += ["", f"Overhead (1-D mixture, batch {ov['setting']['batch']}, {ov['setting']['steps']} steps, "
                      f"{ov['setting']['rounds']} rounds): best ms, median ms, W1"]
        for name, t in ov["times"].items():
            lines.append(f"  {name:<20} {t['best_ms']:8.2f} {t['median_ms']:8.2f}   W1 {t['w1']:.4f}")
        for name, v in ov["ratios"].items():
            lines.append(f"  {name:<36} {v:.3f}")
        tg = ov["targets"]
        lines.append(f"  targets: scan <= {OVERHEAD_TARGET} x bare: {'met' if tg['scan_over_bare_scan']['met'] else 'NOT met'}; "
                     f"diffrax <= {tg['diffrax']['bound_over_minimal_diffeqsolve']:.3f} x minimal diffeqsolve: "
                     f"{'met' if tg['diffrax']['met'] else 'NOT met'}")
        if not ov["peer"]["available"]:
            lines.append(f"  diffusionjax: {ov['peer']['reason']}")
    ch = doc.get("chunking")
    if ch:
        lines += ["", f"Chunked score evaluation: ScoreNet EM, n={ch['setting']['n']}, {ch['setting']['steps']} steps"]
        for name, r in ch["rows"].items():
            sp = r["speedup_vs_whole_batch"]
            lines.append(f"  chunk_size {name:>5}: {r['score_evals_per_s']:8.1f} img-evals/s (best), "
                         f"speed-up vs whole batch {'' if sp is None else f'{sp:.2f}'}")
    fs = doc.get("few_step")
    if fs:
        lines += ["", f"Few-step samplers at equal NFE (MLP score, batch {fs['setting']['batch']}, denoised): "
                      "NFE, best ms, img/s, time per evaluation over a bare scan of the network"]
        for r in fs["rows"]:
            lines.append(f"  {r['method']:<20} NFE {r['nfe']:>4} (budget {r['nfe_budget']:>4}) {r['best_ms']:9.2f} ms "
                         f"{_si(r['img_per_s_best']):>8} img/s  overhead {r['overhead_per_evaluation']:.2f}")
    return "\n".join(lines)


def document(args, meta, results, ratios, complete: bool, **sections) -> dict:
    return {
        "meta": dict(meta, complete=complete),
        "settings": {
            "preset": args.preset, "sde": "VESDE(sigma_min=0.001, sigma_max=10.0)", "shape": list(SHAPE),
            "scores": score_descriptions(), "batches": list(args.batches), "steps": list(args.steps),
            "methods": list(args.methods), "min_reps": args.min_reps, "max_reps": args.max_reps,
            "target_s_per_group": args.target_s,
            "timing": "time.perf_counter around sg.sample_with_info(..., method=<sampler object>) + "
            "jax.block_until_ready; samplers of a (score, steps, batch) group timed round-robin",
            "annealed_langevin": "AnnealedLangevin(steps_per_level=1): NFE = steps",
            "adaptive": "ProbabilityFlowODE() (Tsit5, rtol=atol=1e-5) chooses its own steps: steps=None, timed once per batch",
            "em_ratio": f"diffrax EulerMaruyama / EulerMaruyamaScan alternated {args.ratio_reps} times at steps={args.ratio_steps}, "
            f"batch={args.ratio_batch}; headline = median of paired ratios, target <= {RATIO_TARGET}",
        },
        "results": results,
        "em_ratio": ratios,
        "em_ratio_grid": grid_em_ratios(results),
        **sections,
    }


# ----------------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.samplers", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="a few minutes: one batch/steps, fewer repetitions")
    p.add_argument("--smoke", action="store_true", help="seconds: tiny batch, steps=10, one repetition (tests)")
    p.add_argument("--batches", type=int, nargs="+", help="batch sizes")
    p.add_argument("--steps", type=int, nargs="+", help="numbers of steps")
    p.add_argument("--methods", nargs="+", choices=sg.samplers.METHODS, help="samplers (default all)")
    p.add_argument("--scores", nargs="+", choices=SCORES, default=list(SCORES))
    p.add_argument("--min-reps", type=int)
    p.add_argument("--max-reps", type=int)
    p.add_argument("--target-s", type=float, help="seconds of timing aimed at per (score, steps, batch) group")
    p.add_argument("--ratio-reps", type=int, help="alternations for the diffrax/scan EM ratio")
    p.add_argument("--ratio-steps", type=int)
    p.add_argument("--ratio-batch", type=int)
    p.add_argument("--overhead-rounds", type=int)
    p.add_argument("--chunk-sizes", type=int, nargs="+", help="chunk sizes for the chunking section (0 = whole batch)")
    p.add_argument("--chunk-rounds", type=int)
    p.add_argument("--chunk-steps", type=int)
    p.add_argument("--few-step-nfe", type=int, nargs="+", help="NFE budgets of the few_step section")
    p.add_argument("--few-step-batch", type=int)
    p.add_argument("--few-step-methods", nargs="+", choices=sg.samplers.METHODS)
    p.add_argument("--sections", nargs="+", default=["grid", "em_ratio", "overhead", "chunking", "few_step"],
                   choices=["grid", "em_ratio", "overhead", "chunking", "few_step"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    for k, v in PRESETS[args.preset].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def main(argv=None) -> dict:
    argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    args = parse_args(argv)
    meta = metadata(" ".join(["python -m benchmarks.samplers", *argv]))
    meta["EQX_ON_ERROR"] = os.environ.get("EQX_ON_ERROR")
    t_start = time.perf_counter()
    log = lambda msg: tqdm.write(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr)  # noqa: E731

    sde = sg.sde.VESDE(0.001, 10.0)
    scores = make_scores(sde, args.seed)
    key = jax.random.key(args.seed)
    seen: set = set()  # configurations already compiled in this process
    partial = args.out.with_name(args.out.stem + ".partial.json")
    results, ratios, sections = [], [], {}

    def checkpoint():  # a killed run keeps what it measured
        write_json(partial, document(args, meta, results, ratios, complete=False, **sections))

    if "grid" in args.sections:
        groups = []
        for score in args.scores:
            for i, steps in enumerate(args.steps):
                for batch in args.batches:
                    ms = [m for m in args.methods if not sampler_of(m).adaptive]
                    if i == 0:  # adaptive samplers ignore `steps`: time them once per batch
                        ms += [m for m in args.methods if sampler_of(m).adaptive]
                    groups.append([Case(key, sde, scores, score, m, None if sampler_of(m).adaptive else steps, batch) for m in ms])
        bar = tqdm(groups, desc="samplers", unit="group", dynamic_ncols=True)
        for cases in bar:
            c0 = cases[0]
            label = f"{c0.score} steps={c0.steps} batch={c0.batch}"
            run_group(cases, args.min_reps, args.max_reps, args.target_s,
                      on_method=lambda s, label=label: bar.set_postfix_str(f"{label}: {s}"))
            for c in cases:
                seen.add((c.score, c.method, c.steps, c.batch))
                results.append(c.summary())
            checkpoint()
        bar.close()
    if "em_ratio" in args.sections:
        for score in args.scores:
            cases = [Case(key, sde, scores, score, m, args.ratio_steps, args.ratio_batch) for m in (EM_DIFFRAX, EM_SCAN)]
            compiled = all((score, m, args.ratio_steps, args.ratio_batch) in seen for m in (EM_DIFFRAX, EM_SCAN))
            ratios.append(em_ratio(*cases, reps=args.ratio_reps, already_compiled=compiled))
            checkpoint()
    if "overhead" in args.sections:
        sections["overhead"] = overhead(args, log)
        checkpoint()
    if "chunking" in args.sections:
        sections["chunking"] = chunking(args, log)
        checkpoint()
    if "few_step" in args.sections:
        sections["few_step"] = few_step(args, log)

    meta["loadavg_end"] = list(os.getloadavg())
    meta["wall_s"] = time.perf_counter() - t_start
    out = document(args, meta, results, ratios, complete=True, **sections)
    write_json(args.out, out)
    partial.unlink(missing_ok=True)
    print(format_tables(out))
    print(f"\nwrote {args.out}  ({meta['wall_s']:.0f} s, load average {meta['loadavg_start'][0]:.1f} -> "
          f"{meta['loadavg_end'][0]:.1f} on {meta['cpu_count']} CPUs)")
    return out


if __name__ == "__main__":
    main()
