"""ScoreNet training throughput of the library's own training step, against the
straightforward Flax port, PyTorch, and the machine's matmul peak.

    python -m benchmarks.train_throughput                  # full run, writes results/bench_train_throughput.json
    python -m benchmarks.train_throughput --quick          # about two minutes
    python -m benchmarks.train_throughput --quick --smoke  # seconds; what tests/test_benchmarks_train.py runs

What is timed (fp32, one device):
  train    `sg.train.dsm_training(ScoreNet, TutorialVESDE(25), mesh, ...)`'s compiled step: the
           function `experiments.score_mnist` trains with, with score_mnist's settings (denoising
           score matching, σ² weighting, eps 1e-5; Adam lr 1e-3 with 200 warm-up steps and
           gradient clipping at 1.0; EMA 0.999), on a fixed random batch already placed on the
           mesh (data loading is not part of it).  The step donates its state, so each call
           trains on from the previous one, as in training.
  forward  ScoreNet's forward pass s_θ(x, t) on a batch (`nnx.merge` inside `jax.jit`).
Variants (same parameters, same function; `sdegen_jax/nets/scorenet.py`):
  fast      ScoreNet() defaults: transposed and strided convolutions as GEMMs with im2col /
            col2im, few-pass GroupNorm.
  plain     ScoreNet(layers="plain"): nnx.ConvTranspose, nnx.Conv, nnx.GroupNorm, the
            straightforward port.
  torch     (when the `[peers]` extra is installed) the same network in PyTorch, one Adam step
            of the same loss (`benchmarks.peers.torch_scorenet`), and its no-grad forward.
The per-layer studies (every convolution and GroupNorm per implementation) are in
`benchmarks.layer_study`.

Method.  The machine is shared and 2-core, so every figure in one section is measured in the
same rounds: each round times every (variant, batch), in an order reversed every other round,
plus a 2048×2048 `jnp.dot` ("peak").  Each round runs a function up to 3 times back to back
(at most 1 s) and keeps the fastest, the steady state of consecutive training steps.  We
report the best round (under contention noise only adds time), the median, and ratios as the
median over rounds of same-round pairs.  `cpu_ms` is the process CPU time of one call.

FLOPs come from XLA's cost analysis of the compiled plain forward and train step, per image
at the first batch size (the step's clipping, Adam and EMA add about 22 MFLOP a step, spread
over the batch: 0.3 MFLOP/img at batch 64); effective GFLOP/s = these useful FLOPs / time for
every variant, and "fraction of peak" divides by the best matmul rate measured in the same
rounds.

Sections of the JSON: scorenet, scorenet_plain, torch {batch: {train_img_s, forward_img_s,
...}}; speedup (fast over plain); vs_torch (fast over torch, paired); flops; peak; xla_flags
(the fast step compiled under alternative XLA CPU options); precision.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from benchmarks._timing import SMOKE_OPTIONS, Timed, cost_flops, logger, metadata, paired_ratios, peak_dot, run_rounds, training_call, write_json

NOMINAL_MFLOP = {"forward": 34.0, "train": 102.0}
VARIANTS = {"fast": {"layers": "fast"}, "plain": {"layers": "plain"}}
RESULT_KEY = {"fast": "scorenet", "plain": "scorenet_plain", "torch": "torch"}
# score_mnist's training settings (experiments/score_mnist.py Config defaults).
TRAINING = dict(sigma=25.0, eps=1e-5, learning_rate=1e-3, warmup_steps=200, grad_clip=1.0, ema_decay=0.999)
_YNN = "LIBRARY_FUSION_TYPE_"
XLA_OPTION_SETS = {
    "default": {},
    "ynn_convolutions_off": {"xla_cpu_experimental_ynn_fusion_type": _YNN + "INDIVIDUAL_DOT"},
    "ynn_dots_off": {"xla_cpu_experimental_ynn_fusion_type": _YNN + "INDIVIDUAL_CONVOLUTION"},
    "onednn": {"xla_cpu_use_onednn": True},
    "prefer_vector_width_512": {"xla_cpu_prefer_vector_width": 512},
}
BURST = 3


def library_training(variant: str, batch: int, seed: int = 0, options=None):
    """The library's ScoreNet training step as score_mnist builds it, compiled (with explicit
    XLA `options`) for a fixed random batch.  Returns (call, forward call, compiled step,
    compiled forward, first-call seconds)."""
    sde = sg.sde.TutorialVESDE(TRAINING["sigma"])
    model = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(seed), **VARIANTS[variant])
    mesh = sg.train.make_mesh()
    optimizer = sg.train.make_optimizer(TRAINING["learning_rate"], warmup_steps=TRAINING["warmup_steps"], grad_clip=TRAINING["grad_clip"])
    training = sg.train.dsm_training(model, sde, mesh, optimizer=optimizer, key=jax.random.key(seed),
                                     ema_decay=TRAINING["ema_decay"], eps=TRAINING["eps"])
    x = jax.random.uniform(jax.random.key(seed + 1), (batch, 28, 28, 1))
    xb = sg.train.shard_batch(np.asarray(x), mesh)
    t0 = time.perf_counter()
    compiled = training.step.lower(training.state, xb).compile(compiler_options=dict(options) if options else None)
    call = training_call(compiled, training.state, xb)

    jax.block_until_ready(call())
    first_s = time.perf_counter() - t0
    graphdef, state = nnx.split(model)
    t = jnp.linspace(1e-3, 1.0, batch)
    forward = jax.jit(lambda s, x, t: nnx.merge(graphdef, s)(x, t))
    fwd_compiled = forward.lower(state, x, t).compile(compiler_options=dict(options) if options else None)
    jax.block_until_ready(fwd_compiled(state, x, t))
    return call, (lambda: fwd_compiled(state, x, t)), compiled, fwd_compiled, first_s


def torch_peer():
    """(module, info) of the PyTorch peer, or (None, reason) when torch is not installed."""
    try:
        from benchmarks.peers import torch_scorenet
    except ImportError as e:
        return None, {"available": False, "reason": f"not installed ({e}); pip install -e '.[peers]' to include it"}
    return torch_scorenet, {"available": True, **torch_scorenet.torch_info()}


def bench_models(variant_batches: dict, rounds: int, seconds, log, options=None, peak_n: int = 2048):
    """Train and forward timings of every (variant, batch), interleaved, plus the peak dot."""
    peaks = {"xla_default": peak_dot(peak_n, options=options),
             "eigen": peak_dot(peak_n, options={**(options or {}), **XLA_OPTION_SETS["ynn_dots_off"]})}
    timed, flops, compile_s = {}, {}, {}
    torch_mod, torch_meta = torch_peer()
    if torch_mod is None:
        log(f"torch peer: {torch_meta['reason']}")
        variant_batches = {v: b for v, b in variant_batches.items() if v != "torch"}
    for v, batches in variant_batches.items():
        for b in batches:
            log(f"compiling {v} batch {b}")
            if v == "torch":
                t0 = time.perf_counter()
                train, fwd = torch_mod.make_train_step(b), torch_mod.make_forward(b)
                train(), fwd()
                compile_s[(v, b)] = time.perf_counter() - t0
            else:
                train, fwd, step_c, fwd_c, compile_s[(v, b)] = library_training(v, b, options=options)
                if b == batches[0]:
                    flops[v] = {"train": cost_flops(step_c) / b / 1e6, "forward": cost_flops(fwd_c) / b / 1e6}
            timed[(v, b, "train")] = Timed(train, burst=BURST)
            timed[(v, b, "forward")] = Timed(fwd, burst=BURST)
    for name, (call, _) in peaks.items():
        timed[("peak", name, "")] = Timed(call)
    log(f"timing {len(timed)} functions, up to {rounds} rounds")
    done = run_rounds(timed, rounds, seconds)

    peak = {}
    for name, (_, fl) in peaks.items():
        tm = timed[("peak", name, "")]
        peak[name] = {"gflops_best": fl / min(tm.wall) / 1e9, "gflops_median": fl / statistics.median(tm.wall) / 1e9,
                      "gflops_per_cpu_s_best": fl / min(tm.cpu) / 1e9,
                      "cpu_parallelism_median": statistics.median(c / w for c, w in zip(tm.cpu, tm.wall))}
    best_peak = max(p["gflops_best"] for p in peak.values())
    peak.update(gflops=best_peak, matrix=f"{peak_n}x{peak_n} float32 jnp.dot",
                note="best round of the default (YNNPACK) dot and the Eigen dot; cpu_parallelism = CPU time / wall time.")
    useful = flops.get("plain") or next(iter(flops.values()))
    results = {}
    for v, batches in variant_batches.items():
        res = {}
        for b in batches:
            row = {}
            for what in ("train", "forward"):
                s = timed[(v, b, what)].summary()
                gf = useful[what] * b / 1e3  # GFLOP per call
                row.update({
                    f"{what}_img_s": b / (s["best_ms"] / 1e3), f"{what}_img_s_median": b / (s["median_ms"] / 1e3),
                    f"{what}_ms_best": s["best_ms"], f"{what}_ms_median": s["median_ms"],
                    f"{what}_cpu_ms_best": s["cpu_best_ms"], f"{what}_img_per_cpu_s": b / (s["cpu_best_ms"] / 1e3),
                    f"{what}_gflops": gf / (s["best_ms"] / 1e3), f"{what}_frac_peak": gf / (s["best_ms"] / 1e3) / best_peak,
                    f"{what}_spread_max_over_min": s["spread"],
                    f"{what}_img_s_first_call_median": b / (s["first_median_ms"] / 1e3),
                })
            row["compile_s"] = compile_s[(v, b)]
            row["reps"] = done
            res[str(b)] = row
        results[v] = res
    pairs = {}
    for b in variant_batches.get("fast", []):
        pair = {}
        for other in ("plain", "torch"):
            if b in variant_batches.get(other, []):
                pair[other] = {w: statistics.median(paired_ratios(timed[(other, b, w)], timed[("fast", b, w)]))
                               for w in ("train", "forward")}
        pairs[str(b)] = pair
    return results, flops, peak, pairs, torch_meta


def bench_flags(batch, rounds, log, option_sets) -> dict:
    """The fast train step compiled under alternative XLA CPU options, interleaved."""
    timed, errors = {}, {}
    for name in option_sets:
        try:
            log(f"compiling fast train batch {batch} with {XLA_OPTION_SETS[name]}")
            timed[name] = Timed(library_training("fast", batch, options=XLA_OPTION_SETS[name])[0])
        except Exception as e:  # an option unknown to this XLA: record, skip
            errors[name] = f"{type(e).__name__}: {str(e)[:200]}"
    run_rounds(timed, rounds)
    out = {name: {"options": XLA_OPTION_SETS[name], **tm.summary(), "train_img_s": batch / min(tm.wall)} for name, tm in timed.items()}
    if "default" in out:
        for d in out.values():
            d["cpu_time_vs_default"] = d["cpu_best_ms"] / out["default"]["cpu_best_ms"]
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
    return {"jax_default_matmul_precision": jax.config.jax_default_matmul_precision, "max_rel_error_vs_float64": errs,
            "note": "all settings give full float32 accuracy (~1e-6) on the CPU backend: CPU dots are not lowered "
            "to bf16/tf32, so all timings are true fp32."}


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.train_throughput", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="about two minutes: fast at 64 and 512, plain and torch at 64")
    p.add_argument("--smoke", action="store_true", help="seconds: batch 2, one round, unoptimised compiles (for the tests)")
    p.add_argument("--batches", type=int, nargs="+", default=None, help="batch sizes (default 64 512)")
    p.add_argument("--rounds", type=int, default=None, help="timing rounds for the model section")
    p.add_argument("--no-torch", action="store_true", help="leave the PyTorch peer out")
    p.add_argument("--no-flags", action="store_true", help="skip the XLA-options comparison")
    p.add_argument("--out", default="results/bench_train_throughput.json")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    t_start = time.perf_counter()
    log = logger()
    if args.smoke:
        preset, batches, options = "smoke", args.batches or [2], SMOKE_OPTIONS  # structure only: unoptimised compiles
        variant_batches = {"fast": batches, "plain": batches, "torch": batches}
        rounds, seconds, flag_rounds, flag_sets, peak_n = args.rounds or 1, None, 1, ["default"], 256
    elif args.quick:
        preset, batches, options = "quick", args.batches or [64, 512], None
        variant_batches = {"fast": batches, "plain": batches[:1], "torch": batches[:1]}
        rounds, seconds, flag_rounds, flag_sets, peak_n = args.rounds or 5, 30.0, 0, [], 2048
    else:
        preset, batches, options = "full", args.batches or [64, 512], None
        variant_batches = {"fast": batches, "plain": batches, "torch": batches}
        rounds, seconds, flag_rounds, flag_sets, peak_n = args.rounds or 12, None, 7, list(XLA_OPTION_SETS), 2048
    if args.no_torch:
        variant_batches.pop("torch")

    out: dict = {"meta": metadata(" ".join(["python -m benchmarks.train_throughput", *argv]))}
    out["meta"]["compiler_options"] = dict(options or {})
    out["settings"] = {
        "preset": preset, "batches": batches, "variant_batches": variant_batches,
        "variants": {**VARIANTS, "torch": "benchmarks.peers.torch_scorenet"}, "rounds": rounds,
        "training": {**TRAINING, "function": "sg.train.dsm_training(...).step, as experiments.score_mnist"},
    }
    out["precision"] = check_precision()
    results, flops, peak, pairs, torch_meta = bench_models(variant_batches, rounds, seconds, log, options, peak_n)
    for v, res in results.items():
        out[RESULT_KEY[v]] = res
    out["torch_peer"] = torch_meta
    out["speedup"] = {b: p["plain"] for b, p in pairs.items() if "plain" in p}
    out["vs_torch"] = {b: p["torch"] for b, p in pairs.items() if "torch" in p}
    out["ratio_method"] = "speedup / vs_torch: median over rounds of other_time / fast_time in the same round (>1: fast is faster)"
    out["flops"] = {"mflop_per_img": flops, "nominal_mflop_per_img": NOMINAL_MFLOP,
                    "source": f"XLA cost_analysis() of the compiled forward and train step at batch {batches[0]}",
                    "effective_gflops_uses": "the plain variant's FLOPs (the useful work) for every variant"}
    out["peak"] = peak
    if not args.no_flags and flag_rounds:
        out["xla_flags"] = bench_flags(batches[0], flag_rounds, log, flag_sets)
    out["meta"]["loadavg_end"] = list(__import__("os").getloadavg())
    out["meta"]["wall_s"] = time.perf_counter() - t_start
    out = json.loads(json.dumps(out, default=float))
    write_json(args.out, out)
    log(f"wrote {args.out}")
    for b in batches:
        for v in [v for v in results if b in variant_batches.get(v, [])]:
            r = results[v][str(b)]
            print(f"batch {b:4d} {v:6s} train {r['train_img_s']:7.1f} img/s (median {r['train_img_s_median']:7.1f}, "
                  f"{r['train_gflops']:5.1f} GFLOP/s, {100 * r['train_frac_peak']:4.1f}% of peak)   "
                  f"forward {r['forward_img_s']:7.1f} img/s (median {r['forward_img_s_median']:7.1f})")
        for other, rat in pairs.get(str(b), {}).items():
            print(f"batch {b:4d} fast vs {other}: train x{rat['train']:.2f}, forward x{rat['forward']:.2f} (paired medians)")
    print(f"matmul peak {peak['gflops']:.1f} GFLOP/s")
    return out


if __name__ == "__main__":
    main()
