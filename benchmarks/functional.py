"""Functional diffusion throughput: the spectral sampler against grid size and batch, its cost
next to the pixel-space VE sampler, and U-ViT training.

    python -m benchmarks.functional            # writes results/bench_functional.json
    python -m benchmarks.functional --quick    # a few minutes
    python -m benchmarks.functional --smoke    # seconds (tests/test_functional_bench.py)

Section "sampler": `sg.sample` with `EulerMaruyamaScan()` on the exact score of a stationary
Gaussian field (`sg.functional.GaussianField`, spectrum 1/(|k|²/4 + 1)^1.5), under the
driftless SDE with R = the field's spectrum (in Hartley coordinates: one FFT each way per
step, plus the score's two) and under a pixel-space `VESDE(0.01, 10)` (the same score, no
change of basis), for grids 32², 64², 128² and several batch sizes; interleaved rounds, best
of 3 calls each; img/s and the paired ratio driftless / VE at each (grid, batch).

Section "training": one training step of `sg.train.x0_training(<denoiser>, DriftlessSDE)` (the
function `experiments.fdp_mnist` trains with) at 32×32, batch 64, for U-ViT, the modulation
network (ViT + SIREN) and the meta-learning baseline (3 inner steps): img/s, FLOPs per image
from XLA's cost analysis, the fraction of the 2048² fp32 matmul peak measured in the same
rounds, and each INR model's time over U-ViT's (paired).

Section "inr_query": the reference SIREN answering on 32², 64² and 128² coordinates.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from benchmarks._timing import SMOKE_OPTIONS, Timed, cost_flops, logger, metadata, paired_ratios, peak_dot, run_rounds, training_call, write_json
from sdegen_jax import functional as F

PRESETS = {
    "full": dict(grids=(32, 64, 128), batches=(16, 64, 256), steps=100, rounds=7, uvit_batch=64, uvit_rounds=7, peak_n=2048,
                 inr_grids=(32, 64, 128), inr_batch=16),
    "quick": dict(grids=(32, 64), batches=(64,), steps=50, rounds=3, uvit_batch=64, uvit_rounds=3, peak_n=2048,
                  inr_grids=(32, 64, 128), inr_batch=4),
    "smoke": dict(grids=(8,), batches=(4,), steps=4, rounds=1, uvit_batch=2, uvit_rounds=1, peak_n=128,
                  inr_grids=(8, 16), inr_batch=2),
}


def field(size: int) -> F.GaussianField:
    P = 1.0 / (F.frequency_grid(size, size) / 4.0 + 1.0) ** 1.5
    return F.GaussianField(P, (size, size))


def sampler_section(p, log) -> dict:
    key = jax.random.key(0)
    timed, meta = {}, {}
    for size in p["grids"]:
        f = field(size)
        sdes = {"driftless": F.DriftlessSDE((size, size), f.spectrum, T=5.0), "ve_pixel": sg.sde.VESDE(0.01, 10.0)}
        for batch in p["batches"]:
            for name, sde in sdes.items():
                score = f.score_fn(sde)
                call = lambda sde=sde, score=score, batch=batch, size=size: sg.sample(  # noqa: E731
                    key, sde, score, (size, size), batch, method=sg.samplers.EulerMaruyamaScan(), steps=p["steps"])
                t0 = time.perf_counter()
                jax.block_until_ready(call())
                log(f"compiled {name} {size}² batch {batch} in {time.perf_counter() - t0:.1f} s")
                timed[(name, size, batch)] = Timed(call, burst=3)
    rounds = run_rounds(timed, p["rounds"])
    rows = []
    for (name, size, batch), tm in timed.items():
        s = tm.summary()
        rows.append({"sde": name, "grid": size, "batch": batch, "steps": p["steps"], "best_ms": s["best_ms"],
                     "median_ms": s["median_ms"], "img_per_s": batch / (s["best_ms"] / 1e3),
                     "ms_per_step": s["best_ms"] / p["steps"]})
    ratios = [{"grid": size, "batch": batch,
               "driftless_over_ve": statistics.median(paired_ratios(timed[("driftless", size, batch)], timed[("ve_pixel", size, batch)]))}
              for size in p["grids"] for batch in p["batches"]]
    return {"rows": rows, "ratios": ratios, "rounds": rounds,
            "setting": "EulerMaruyamaScan, exact Gaussian-field score, driftless SDE (R = field spectrum, T = 5) vs VESDE(0.01, 10)"}


def _denoiser(name: str, size: int):
    small = size != 32
    if name == "uvit":
        return sg.nets.UViT(size, 1, rngs=nnx.Rngs(0), **(dict(dim=32, depth=2, num_heads=2) if small else {}))
    if name == "modulation":
        kw = dict(latent_dim=8, siren_width=16, siren_depth=2, vit_dim=32, vit_depth=2, num_heads=2) if small else {}
        return sg.nets.ModulationDenoiser(size, 1, rngs=nnx.Rngs(0), **kw)
    kw = dict(siren_width=16, siren_depth=2) if small else {}
    return sg.nets.MetaSirenDenoiser(size, 1, rngs=nnx.Rngs(0), **kw)


def training_section(p, log, options) -> dict:
    """One training step of `sg.train.x0_training(<denoiser>, DriftlessSDE)` (the function
    `experiments.fdp_mnist` trains with) for U-ViT, the modulation network and the meta-learning
    baseline, timed in the same rounds as the matmul peak."""
    size = 32 if p["uvit_batch"] > 2 else 8
    sde = F.DriftlessSDE((size, size, 1), T=10.0)
    mesh = sg.train.make_mesh()
    x = sg.train.shard_batch(np.asarray(jax.random.uniform(jax.random.key(1), (p["uvit_batch"], size, size, 1)) * 2 - 1), mesh)
    calls, info = {}, {}
    for name in ("uvit", "modulation", "meta"):
        model = _denoiser(name, size)
        training = sg.train.x0_training(model, sde, mesh, optimizer=sg.train.make_optimizer(5e-4, warmup_steps=100),
                                        key=jax.random.key(0), time_sampling="log_uniform", eps=1e-3)
        compiled = training.step.lower(training.state, x).compile(compiler_options=dict(options) if options else None)
        calls[name] = training_call(compiled, training.state, x)
        jax.block_until_ready(calls[name]())
        info[name] = {"params": sg.nets.count_params(nnx.state(model)), "flops": cost_flops(compiled) / p["uvit_batch"]}
        log(f"training: {name} compiled ({info[name]['params']:,} params)")
    peak_call, peak_flops = peak_dot(p["peak_n"], options=options)
    timed = {name: Timed(call, burst=3) for name, call in calls.items()}
    timed["peak"] = Timed(peak_call)
    run_rounds(timed, p["uvit_rounds"])
    peak = peak_flops / min(timed["peak"].wall) / 1e9
    out = {"batch": p["uvit_batch"], "image": [size, size, 1], "peak_gflops": peak,
           "function": "sg.train.x0_training(<denoiser>, DriftlessSDE, time_sampling='log_uniform').step, as experiments.fdp_mnist"}
    for name in calls:
        s = timed[name].summary()
        img_s = p["uvit_batch"] / (s["best_ms"] / 1e3)
        flops = info[name]["flops"]
        out[name] = {"params": info[name]["params"], "train_img_s": img_s,
                     "train_img_s_median": p["uvit_batch"] / (s["median_ms"] / 1e3), "mflop_per_img": flops / 1e6,
                     "gflops": img_s * flops / 1e9, "frac_peak": img_s * flops / 1e9 / peak}
    for name in ("modulation", "meta"):
        out[name]["time_over_uvit"] = statistics.median(paired_ratios(timed[name], timed["uvit"]))
    return out


def inr_query_section(p, log) -> dict:
    """The SIREN (reference size) evaluated for a batch of modulations at h×h coordinates: the
    cost of answering on a finer grid, per image and per point."""
    siren = sg.nets.ModulatedSiren(rngs=nnx.Rngs(0))
    batch = p["inr_batch"]
    shifts = 0.1 * jax.random.normal(jax.random.key(0), (batch, siren.num_modulations))
    calls = {}
    for h in p["inr_grids"]:
        coords = sg.nets.grid_coordinates(h, h)
        fn = jax.jit(lambda sh, coords=coords: jax.vmap(lambda si: siren(coords, 0.5, si))(sh))
        jax.block_until_ready(fn(shifts))
        calls[h] = Timed(lambda fn=fn: jax.block_until_ready(fn(shifts)), burst=3)
    run_rounds(calls, p["rounds"])
    rows = []
    for h, t in calls.items():
        best = t.summary()["best_ms"] / 1e3
        rows.append({"grid": h, "points": h * h, "batch": batch, "ms_per_image": 1e3 * best / batch,
                     "ns_per_point": 1e9 * best / batch / (h * h)})
    log(f"inr_query: {[(r['grid'], round(r['ms_per_image'], 3)) for r in rows]}")
    return {"params": sg.nets.count_params(nnx.state(siren)), "rows": rows}


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m benchmarks.functional", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default="results/bench_functional.json")
    args = ap.parse_args(argv)
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    p = PRESETS[preset]
    options = SMOKE_OPTIONS if args.smoke else None
    t_start = time.perf_counter()
    log = logger()
    out = {"meta": metadata(" ".join(["python -m benchmarks.functional", *argv])), "settings": {"preset": preset, **p}}
    out["sampler"] = sampler_section(p, log)
    out["training"] = training_section(p, log, options)
    out["inr_query"] = inr_query_section(p, log)
    out["meta"]["wall_s"] = time.perf_counter() - t_start
    write_json(args.out, out)
    for r in out["sampler"]["ratios"]:
        print(f"grid {r['grid']:4d}² batch {r['batch']:4d}: driftless (Fourier) / VE (pixel) time x{r['driftless_over_ve']:.2f}")
    tr = out["training"]
    for name in ("uvit", "modulation", "meta"):
        u = tr[name]
        extra = f", {u['time_over_uvit']:.2f}x U-ViT's time" if "time_over_uvit" in u else ""
        print(f"{name} ({u['params']:,} params) train {u['train_img_s']:.1f} img/s, {u['mflop_per_img']:.1f} MFLOP/img, "
              f"{u['gflops']:.1f} GFLOP/s = {100 * u['frac_peak']:.1f}% of {tr['peak_gflops']:.0f} GFLOP/s{extra}")
    for r in out["inr_query"]["rows"]:
        print(f"SIREN on {r['grid']}²: {r['ms_per_image']:.3f} ms per image, {r['ns_per_point']:.1f} ns per point")
    return out


if __name__ == "__main__":
    main()
