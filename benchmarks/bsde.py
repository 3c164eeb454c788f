"""BSDE-Gen training throughput (seed 000 Table 1's time per epoch), where its time goes, and
the BSDE-Gen : ScoreNet time ratio.

    python -m benchmarks.bsde               # full run, writes results/bench_bsde.json (~15 min)
    python -m benchmarks.bsde --quick       # a few minutes
    python -m benchmarks.bsde --smoke       # seconds, tiny sizes (tests/test_benchmarks.py)

What is timed (fp32, one device, the functions the experiments train with):
  bsde       `sg.train.bsde_training(BSDEGenNets, FBSDE(32, 32, 784), ...)`'s compiled step
             (reference sizes, N = 200, multiscale MMD², RMSprop 1e-4, dropout 0.2), as
             experiments.bsde_mnist and experiments.table1 train;
  bsde_remat the same step with the scan body rematerialised (`remat=True`: same numbers, the
             backward pass recomputes z_i instead of storing it);
  generate   `sg.bsde.generate`: the forward pass alone (sampling);
  scorenet   `sg.train.dsm_training(ScoreNet, ...)`'s step as experiments.score_mnist / table1;
  peak       a 2048×2048 `jnp.dot`, the attainable GEMM rate.
All in the same rounds (order reversed every other round); ratios are medians of same-round
pairs.  The step times at batch 512 (the seed's batch) give the time per epoch of the embedded
digits (4,096 images an epoch at batch 512).

Analytic cost: N_z's last layer (512 → 784·32) is 2·512·25,088 = 25.7 MFLOP per sample and step,
so 5.14 GFLOP per image forward over N = 200 steps (N_y and the smaller layers add 0.4%),
about 3× that per training image, plus one more forward with remat (4×).  "GFLOP/s" below
divide these analytic FLOPs by the time; `xla_gflop_per_img` is XLA's own count, which
covers ONE iteration of the scan's while loop (×200 for the whole path), and `xla_temp_gb`
the temporaries of the compiled step (XLA's memory analysis).  ScoreNet's training
step is 102 MFLOP an image.
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
from benchmarks._timing import (
    SMOKE_OPTIONS, Timed, cost_flops, logger, metadata, paired_ratios, peak_dot, run_rounds, training_call, write_json,
)
from benchmarks.train_throughput import NOMINAL_MFLOP, library_training

PRESETS = {
    "full": dict(batches=(64, 512), hidden=(64, 32, 64), dims=(32, 32), num_steps=200, rounds=3, epoch_images=4096),
    "quick": dict(batches=(64,), hidden=(64, 32, 64), dims=(32, 32), num_steps=200, rounds=3, epoch_images=4096),
    "smoke": dict(batches=(4,), hidden=(8, 4, 8), dims=(4, 4), num_steps=5, rounds=1, epoch_images=8),
}


def analytic_gflop(dim_x, dim_w, dim_y, hidden, num_steps) -> dict:
    """Matmul FLOPs per image: forward, train (3× forward) and train with remat (4× forward)."""
    h1, h2, h3 = hidden
    z_widths = (dim_x + 1, h1, h2, h3 * dim_w // 4, dim_y * dim_w)
    y_widths = (dim_x, h1, h2, h3, dim_y)
    mm = lambda w: sum(2 * a * b for a, b in zip(w[:-1], w[1:]))
    step = mm(z_widths) + 2 * dim_y * dim_w + 2 * dim_x * dim_w  # N_z, z·ΔW, σ·ΔW
    fwd = (num_steps * step + mm(y_widths)) / 1e9
    return {"forward": fwd, "train": 3 * fwd, "train_remat": 4 * fwd,
            "last_layer_share": num_steps * 2 * z_widths[-2] * z_widths[-1] / 1e9 / fwd}


def bsde_step(batch, hidden, dims, num_steps, remat, options):
    dim_x, dim_w = dims
    fbsde = sg.bsde.FBSDE(dim_x, dim_w, 784, num_steps=num_steps)
    nets = sg.nets.BSDEGenNets(dim_x, dim_w, 784, hidden=hidden, rngs=nnx.Rngs(0))
    mesh = sg.train.make_mesh(jax.devices()[:1])
    training = sg.train.bsde_training(nets, fbsde, mesh, optimizer=sg.train.make_rmsprop(1e-4),
                                      key=jax.random.key(0), ema_decay=0.0, remat=remat)
    x = sg.train.shard_batch(np.asarray(jax.random.uniform(jax.random.key(1), (batch, 28, 28, 1), minval=-1.0)), mesh)
    # The step donates its state: the sampler gets its own copy of the parameters.
    fns = training.fns(jax.tree_util.tree_map(jnp.copy, training.state.params))
    t0 = time.perf_counter()
    compiled = training.step.lower(training.state, x).compile(compiler_options=dict(options) if options else None)
    call = training_call(compiled, training.state, x)
    jax.block_until_ready(call())
    gen = lambda: sg.bsde.generate(jax.random.key(2), fbsde, fns.initial_fn, fns.control_fn, n=batch)
    jax.block_until_ready(gen())
    return call, gen, compiled, time.perf_counter() - t0


def scorenet_step(batch, options):
    call, _, compiled, _, first_s = library_training("fast", batch, options=options)
    return call, compiled, first_s


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.bsde", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--out", default="results/bench_bsde.json")
    args = p.parse_args(argv)
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = PRESETS[preset]
    options = SMOKE_OPTIONS if args.smoke else None
    log = logger()
    t_start = time.perf_counter()
    timed, compile_s, flops_xla, temp_gb = {}, {}, {}, {}
    for b in cfg["batches"]:
        for remat in (False, True):
            name = "bsde_remat" if remat else "bsde"
            log(f"compiling {name} batch {b}")
            call, gen, compiled, compile_s[(name, b)] = bsde_step(b, cfg["hidden"], cfg["dims"], cfg["num_steps"], remat, options)
            flops_xla[(name, b)] = cost_flops(compiled) / b / 1e9
            temp_gb[(name, b)] = compiled.memory_analysis().temp_size_in_bytes / 1e9
            timed[(name, b)] = Timed(call)
            if not remat:
                timed[("generate", b)] = Timed(gen)
        log(f"compiling scorenet batch {b}")
        call, compiled, compile_s[("scorenet", b)] = scorenet_step(b, options)
        flops_xla[("scorenet", b)] = cost_flops(compiled) / b / 1e9
        timed[("scorenet", b)] = Timed(call, burst=3)
    peak_call, peak_flop = peak_dot(256 if args.smoke else 2048, options=options)
    timed[("peak", 0)] = Timed(peak_call)
    log(f"timing {len(timed)} functions, {cfg['rounds']} rounds")
    rounds = run_rounds(timed, cfg["rounds"])
    peak = peak_flop / min(timed[("peak", 0)].wall) / 1e9

    gflop = analytic_gflop(*cfg["dims"], 784, cfg["hidden"], cfg["num_steps"])
    per_img_gflop = {"bsde": gflop["train"], "bsde_remat": gflop["train_remat"], "generate": gflop["forward"],
                     "scorenet": NOMINAL_MFLOP["train"] / 1e3}
    rows = {}
    for (name, b), tm in timed.items():
        if name == "peak":
            continue
        s = tm.summary()
        row = {"img_s": b / (s["best_ms"] / 1e3), "img_s_median": b / (s["median_ms"] / 1e3), "ms_best": s["best_ms"],
               "ms_median": s["median_ms"], "spread": s["spread"], "compile_s": compile_s.get((name, b))}
        row["gflops"] = per_img_gflop[name] * row["img_s"]
        row["frac_peak"] = row["gflops"] / peak
        if (name, b) in flops_xla:
            row["xla_gflop_per_img"] = flops_xla[(name, b)]
        if (name, b) in temp_gb:
            row["xla_temp_gb"] = temp_gb[(name, b)]
        if name != "generate":
            row["seconds_per_epoch"] = cfg["epoch_images"] / row["img_s"]
        rows.setdefault(name, {})[str(b)] = row
    med = lambda a, c: statistics.median(paired_ratios(timed[a], timed[c]))
    ratios = {}
    for b in cfg["batches"]:
        r = {"bsde_over_scorenet_time_per_image": med(("bsde", b), ("scorenet", b))}
        r["remat_over_default_time"] = med(("bsde_remat", b), ("bsde", b))
        r["train_over_generate_time"] = med(("bsde", b), ("generate", b))
        ratios[str(b)] = r
    out = {
        "meta": metadata(" ".join(["python -m benchmarks.bsde", *argv])),
        "settings": {"preset": preset, **{k: v for k, v in cfg.items()}, "rounds_run": rounds,
                     "bsde": "sg.train.bsde_training step: OU forward, f = -y + sum|z|, multiscale MMD^2 (V-statistic), "
                             "RMSprop 1e-4, dropout 0.2, one device",
                     "scorenet": "sg.train.dsm_training step as experiments.score_mnist (benchmarks.train_throughput)"},
        "analytic_gflop_per_image": gflop,
        "peak_gflops": peak,
        "results": rows,
        "paired_ratios": ratios,
        "seed000_reference": {"seconds_per_epoch_gpu": {"scorenet": 9, "bsde": 350}, "ratio": 350 / 9,
                              "note": "full MNIST (60k) on the thesis's GPU; ours: embedded 4,096 images an epoch on this CPU"},
        "ratio_method": "median over rounds of same-round time ratios (per step at equal batch = per image)",
    }
    out["meta"]["wall_s"] = time.perf_counter() - t_start
    write_json(args.out, out)
    log(f"wrote {args.out}")
    for name, res in rows.items():
        for b, r in res.items():
            print(f"{name:13s} batch {b:>4s}: {r['img_s']:9.2f} img/s, {r['gflops']:6.1f} GFLOP/s "
                  f"({100 * r['frac_peak']:4.1f}% of {peak:.0f})" + (f", {r['seconds_per_epoch']:.0f} s/epoch" if "seconds_per_epoch" in r else ""))
    print("paired ratios:", ratios)
    return out


if __name__ == "__main__":
    main()
