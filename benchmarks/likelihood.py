"""In-device likelihood cost: seconds per image and NFE of the probability-flow log-likelihood
with the exact divergence (a Jacobian trace: D Jacobian-vector products per evaluation)
against Hutchinson's estimator with 1 and 4 probes.

    python -m benchmarks.likelihood            # writes results/bench_likelihood.json (~5 min)
    python -m benchmarks.likelihood --smoke    # seconds (tests)

Two models, each with `sg.likelihood.log_likelihood` as users call it (compiled once, timed on
later calls, interleaved rounds, best round):
  mlp        a TimeMLP score on 64-dimensional data (VP SDE), 64 samples;
  scorenet   the tutorial ScoreNet (untrained weights, TutorialVESDE(25)) on 28×28 images,
             4 images (exact: 1 image), rtol = atol = 1e-3 (the ODE's steps are the same for
             the three divergences, so the ratio is the per-evaluation cost).
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
from flax import nnx

import sdegen_jax as sg
from benchmarks._timing import Timed, logger, metadata, run_rounds, write_json

PRESETS = {
    "full": dict(mlp_dim=64, mlp_n=64, img_n=4, img_exact_n=1, rounds=3, tol=1e-3, img=True),
    "smoke": dict(mlp_dim=4, mlp_n=4, img_n=1, img_exact_n=1, rounds=1, tol=1e-2, img=False),
}
VARIANTS = {"exact": dict(divergence="exact"), "hutchinson_1": dict(divergence="hutchinson", num_probes=1),
            "hutchinson_4": dict(divergence="hutchinson", num_probes=4)}


def cases(cfg):
    mlp_sde = sg.sde.VPSDE(0.1, 20.0)
    mlp = sg.nets.TimeMLP(cfg["mlp_dim"], features=(256, 256), rngs=nnx.Rngs(0))
    out = {"mlp": (mlp_sde, sg.nets.score_fn_from(mlp), jax.random.normal(jax.random.key(0), (cfg["mlp_n"], cfg["mlp_dim"])))}
    if cfg["img"]:
        sde = sg.sde.TutorialVESDE(25.0)
        net = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(0))
        out["scorenet"] = (sde, sg.nets.score_fn_from(net), jax.random.uniform(jax.random.key(1), (cfg["img_n"], 28, 28, 1)))
    return out


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.likelihood", description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--out", default="results/bench_likelihood.json")
    args = p.parse_args(argv)
    cfg = PRESETS["smoke" if args.smoke else "full"]
    log = logger()
    timed, info = {}, {}
    for model, (sde, score_fn, x) in cases(cfg).items():
        for name, kw in VARIANTS.items():
            xs = x[: cfg["img_exact_n"]] if (model == "scorenet" and name == "exact") else x
            call = lambda sde=sde, score_fn=score_fn, xs=xs, kw=kw: sg.likelihood.log_likelihood(
                jax.random.key(2), sde, score_fn, xs, rtol=cfg["tol"], atol=cfg["tol"], **kw)
            log(f"compiling {model} {name}")
            t0 = time.perf_counter()
            lik = jax.block_until_ready(call())
            info[(model, name)] = {"n": int(xs.shape[0]), "dim": int(xs[0].size), "nfe": int(lik.nfe),
                                   "first_call_s": time.perf_counter() - t0,
                                   "mean_logp_per_dim": float(jnp.mean(lik.logp)) / int(xs[0].size)}
            timed[(model, name)] = Timed(lambda call=call: call().logp)
    log(f"timing {len(timed)} functions, {cfg['rounds']} rounds")
    run_rounds(timed, cfg["rounds"])
    results = {}
    for (model, name), tm in timed.items():
        s = tm.summary()
        row = {**info[(model, name)], "best_s": s["best_ms"] / 1e3, "median_s": s["median_ms"] / 1e3}
        row["s_per_image"] = row["best_s"] / row["n"]
        results.setdefault(model, {})[name] = row
    for model, res in results.items():
        for name in res:
            res[name]["time_per_image_over_hutchinson_1"] = res[name]["s_per_image"] / res["hutchinson_1"]["s_per_image"]
    out = {"meta": metadata(" ".join(["python -m benchmarks.likelihood", *argv])), "settings": cfg, "results": results}
    write_json(args.out, out)
    log(f"wrote {args.out}")
    for model, res in results.items():
        for name, r in res.items():
            print(f"{model:9s} {name:13s} dim {r['dim']:4d}: {r['s_per_image']:8.4f} s/image, NFE {r['nfe']:4d}, "
                  f"x{r['time_per_image_over_hutchinson_1']:.2f} of Hutchinson-1")
    return out


if __name__ == "__main__":
    main()
