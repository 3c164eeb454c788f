"""Quality against NFE for every sampler: the few-step frontier (issue 11).

Toy section: on the exact 1-D mixture of seed 002 (0.3 N(−5, 2²) + 0.7 N(5, 2²)) and the 2-D
ring of 8 Gaussians, under VE (σ 0.01–50) and VP (β 0.1–20), started from the exact p_T and
from the SDE's prior, each sampler runs with its exact score at NFE 5 … 1000 (denoised at eps,
so the NFE counts the final Tweedie evaluation) and is scored by W1 to the exact p_eps (sliced
W1 over 64 directions in 2-D).  Samplers of k evaluations a step (predictor–corrector, EDM,
DPM-Solver++ 2S: k = 2) take (NFE − 1)//k + 1 steps and report their actual NFE.

MNIST section: score_mnist's ScoreNet (the tutorial VE SDE), classifier-FID and classifier-IS
of `--mnist-samples` digits against NFE for a subset of the samplers.

It writes results/nfe_frontier.json and .md (one table per setting, and for each sampler the
smallest NFE within 10 % of its own quality at the largest NFE, and the leader at 10 and 20
NFE), and one PNG per setting (NFE on a log axis).

    python -m experiments.nfe_frontier            # toy ≈ 15 min, MNIST ≈ 30 min on 2 CPUs
    python -m experiments.nfe_frontier --quick    # seconds, no MNIST (CI)
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import numpy as np
from tqdm.auto import tqdm

import sdegen_jax as sg
from experiments._cli import parse_config, settings_key, start_metadata
from sdegen_jax import metrics, plots
from sdegen_jax.metrics.sampler_suite import distance
from sdegen_jax.provenance import code_version
from sdegen_jax.results import markdown_table, write_json, write_results

NAME = "nfe_frontier"


@dataclasses.dataclass
class Config:
    nfes: tuple[int, ...] = (5, 10, 20, 50, 100, 500, 1000)
    samplers: tuple[str, ...] = ("euler_maruyama_scan", "reverse_diffusion", "ancestral", "pc", "euler_flow", "ddim",
                                 "dpmpp_2m", "dpmpp_2s", "unipc", "edm_heun", "edm_stochastic")
    sdes: tuple[str, ...] = ("ve", "vp")
    starts: tuple[str, ...] = ("p_T", "prior")
    targets: tuple[str, ...] = ("mixture_1d", "ring_2d")
    n: int = 20_000
    seed: int = 0
    mnist: bool = True
    mnist_samplers: tuple[str, ...] = ("euler_maruyama_scan", "ddim", "dpmpp_2m", "unipc", "edm_heun")
    mnist_nfes: tuple[int, ...] = (5, 10, 20, 50, 100, 500)
    mnist_samples: int = 500
    mnist_checkpoint_dir: str = "checkpoints/score_mnist"
    cache_dir: str = "checkpoints/nfe_frontier"  # finished settings, so a rerun resumes
    chunk_size: int = 100
    out_dir: str = "results"
    tag: str = NAME
    progress: bool = True
    quick: bool = False

    @classmethod
    def quick_overrides(cls):
        return dict(nfes=(5, 20), samplers=("euler_maruyama_scan", "dpmpp_2m", "edm_heun"), starts=("p_T",),
                    n=2000, mnist=False, tag=f"{NAME}_quick", cache_dir="")


def make_sde(name: str):
    return {"ve": sg.sde.VESDE(0.01, 50.0), "vp": sg.sde.VPSDE(0.1, 20.0)}[name]


def make_target(name: str):
    return {"mixture_1d": sg.toy.seed002_mixture, "ring_2d": sg.toy.ring_mixture}[name]()


def steps_for(method: str, nfe: int) -> int:
    """Grid steps whose denoised run costs at most `nfe` evaluations (exactly nfe when one per step)."""
    per_step = int(getattr(sg.samplers.from_name(method), "nfe_per_step", 1))
    return (nfe - 1) // per_step + 1


def frontier_summary(rows, quality: str, higher_is_better: bool = False) -> list[dict]:
    """Per sampler: its quality at the largest NFE, and the smallest NFE within 10 % of it."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        own = sorted((r for r in rows if r["method"] == method), key=lambda r: r["nfe"])
        best = own[-1][quality]
        ok = [r["nfe"] for r in own
              if (r[quality] >= 0.9 * best if higher_is_better else r[quality] <= 1.1 * best)]
        out.append(dict(method=method, top_nfe=own[-1]["nfe"], top_quality=best, nfe_within_10pct=min(ok)))
    return out


def leader(rows, quality: str, nfe: int, higher_is_better: bool = False):
    """The best sampler among runs of at most `nfe` evaluations that used more than half of it."""
    near = [r for r in rows if nfe // 2 < r["nfe"] <= nfe]
    if not near:
        return None
    pick = (max if higher_is_better else min)(near, key=lambda r: r[quality])
    return dict(method=pick["method"], nfe=pick["nfe"], value=pick[quality])


def _cached(cfg: Config, name: str, compute):
    """compute() once per setting: its result is kept in cfg.cache_dir (keyed by the settings
    that change it), so an interrupted run resumes at the first unfinished setting."""
    if not cfg.cache_dir:
        return compute()
    import json

    ident = [name, cfg.nfes, cfg.samplers, cfg.n, cfg.seed, cfg.mnist_samplers, cfg.mnist_nfes, cfg.mnist_samples,
             cfg.mnist_checkpoint_dir, code_version()]
    path = os.path.join(cfg.cache_dir, name.replace("/", "_") + "_" + settings_key(ident) + ".json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    out = compute()
    write_json(path, out)
    return out


def run_toy(cfg: Config, key):
    settings = {}
    combos = [(t, s, st) for t in cfg.targets for s in cfg.sdes for st in cfg.starts]
    bar = tqdm(total=len(combos) * len(cfg.samplers) * len(cfg.nfes), desc=f"{cfg.tag} toy", disable=not cfg.progress)
    for i, (target_name, sde_name, start) in enumerate(combos):
        name = f"{target_name}/{sde_name}/{start}"
        settings[name] = _cached(cfg, name, lambda: _toy_setting(cfg, key, i, target_name, sde_name, start, bar))
    bar.close()
    return settings


def _toy_setting(cfg, key, i, target_name, sde_name, start, bar):
    """One (target, SDE, start) setting: every sampler at every NFE budget."""
    sde, mixture = make_sde(sde_name), make_target(target_name)
    target = mixture.marginal(sde, sde.default_eps)
    k_init, k_run, k_proj = jax.random.split(jax.random.fold_in(key, i), 3)
    x_init = (mixture.marginal(sde, sde.T).sample(k_init, cfg.n) if start == "p_T"
              else sde.prior_sample(k_init, (cfg.n, mixture.dim)))
    rows = []
    for method in cfg.samplers:
        for nfe in cfg.nfes:
            t0 = time.perf_counter()
            x, info = sg.sample_with_info(k_run, sde, mixture.score_fn(sde), x_init=x_init, method=method,
                                          steps=steps_for(method, nfe), denoise=True)
            rows.append(dict(method=method, nfe_budget=nfe, nfe=int(info.nfe), steps=int(info.num_steps),
                             w1=distance(np.asarray(x), target, k_proj),
                             seconds=time.perf_counter() - t0))
            bar.update()
    floor = metrics.expected_w1_noise_floor(target, cfg.n) if mixture.dim == 1 else None
    return dict(rows=rows, noise_floor=floor, summary=frontier_summary(rows, "w1"),
                leader_10=leader(rows, "w1", 10), leader_20=leader(rows, "w1", 20))


def run_mnist(cfg: Config, key):
    from experiments import likelihood_mnist
    from sdegen_jax import train
    from sdegen_jax.data import load_images

    lcfg = likelihood_mnist.Config(checkpoint_dir=cfg.mnist_checkpoint_dir, quick=cfg.quick)
    sde, score_fn, s_cfg, step = likelihood_mnist.restore_score_model(lcfg, train.make_mesh())
    x_test, _ = load_images("mnist_embedded", "test", scale="unit")
    rows, grids = [], {}
    bar = tqdm(total=len(cfg.mnist_samplers) * len(cfg.mnist_nfes), desc=f"{cfg.tag} mnist", disable=not cfg.progress)
    for method in cfg.mnist_samplers:
        for nfe in cfg.mnist_nfes:
            t0 = time.perf_counter()
            x, info = sg.sample_with_info(key, sde, score_fn, (28, 28, 1), cfg.mnist_samples, method=method,
                                          steps=steps_for(method, nfe), eps=s_cfg.eps, denoise=True,
                                          chunk_size=cfg.chunk_size)
            x = np.clip(np.asarray(x), 0.0, 1.0)
            rows.append(dict(method=method, nfe_budget=nfe, nfe=int(info.nfe), fid=metrics.classifier_fid(x, x_test),
                             inception_score=metrics.classifier_inception_score(x), seconds=time.perf_counter() - t0))
            if nfe in (10, 20):
                grids[f"{method}_{nfe}"] = plots.save_image_grid(
                    x[:64], os.path.join(cfg.out_dir, f"{cfg.tag}_mnist_{method}_nfe{nfe}.png"), nrow=8,
                    title=f"{method}, NFE {int(info.nfe)}")
            bar.update()
    bar.close()
    em_500 = [r for r in rows if r["method"] == "euler_maruyama_scan" and r["nfe_budget"] == 500]
    match = {}
    if em_500:
        ref = em_500[0]["fid"]
        for method in cfg.mnist_samplers:
            hits = [r["nfe"] for r in rows if r["method"] == method and r["fid"] <= ref]
            match[method] = min(hits) if hits else None
    return dict(checkpoint_step=int(step), rows=rows, grids=grids, summary=frontier_summary(rows, "fid"),
                leader_10=leader(rows, "fid", 10), leader_20=leader(rows, "fid", 20),
                em500_fid=em_500[0]["fid"] if em_500 else None, nfe_matching_em500_fid=match)


def plot_setting(path, rows, quality, title, hline=None):
    series = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        own = sorted((r for r in rows if r["method"] == method), key=lambda r: r["nfe"])
        series[method] = ([r["nfe"] for r in own], [r[quality] for r in own])
    plots.line_figure(None, series, xlabel="NFE", ylabel=quality, title=title, logx=True, logy=True,
                      hlines=hline, styles={m: {"marker": "o", "ms": 3} for m in series}, filename=path)
    return path


def _markdown(cfg, toy, mnist) -> str:
    parts = ["W1 to the exact p_eps (sliced over 64 directions for the 2-D ring), all samplers denoised at eps "
             f"with Tweedie's formula (counted in the NFE); {cfg.n} samples; exact scores.\n"]
    for name, s in toy.items():
        nfes = sorted({r["nfe_budget"] for r in s["rows"]})
        table = []
        for method in dict.fromkeys(r["method"] for r in s["rows"]):
            row = {"method": method}
            for r in s["rows"]:
                if r["method"] == method:
                    row[f"nfe{r['nfe_budget']}"] = f"{r['w1']:.3f} ({r['nfe']})"
            summ = next(x for x in s["summary"] if x["method"] == method)
            row["within10"] = summ["nfe_within_10pct"]
            table.append(row)
        cols = [("method", "sampler", "")] + [(f"nfe{n}", f"NFE ≤ {n}", "") for n in nfes] + [
            ("within10", "NFE within 10 % of own best", "")]
        floor = f"; noise floor {s['noise_floor']:.3f}" if s["noise_floor"] is not None else ""
        lead = "; ".join(f"leader at ≤ {n} NFE: {s[f'leader_{n}']['method']} ({s[f'leader_{n}']['value']:.3f})"
                         for n in (10, 20) if s[f"leader_{n}"])
        parts.append(f"## {name}\n\nW1 (actual NFE){floor}. {lead}.\n\n" + markdown_table(table, cols) + "\n")
    if mnist:
        cols = [("method", "sampler", ""), ("nfe", "NFE", "d"), ("fid", "classifier-FID", ".2f"),
                ("inception_score", "classifier-IS", ".3f"), ("seconds", "s", ".1f")]
        lead = "; ".join(f"leader at ≤ {n} NFE: {mnist[f'leader_{n}']['method']} (FID {mnist[f'leader_{n}']['value']:.2f})"
                         for n in (10, 20) if mnist[f"leader_{n}"])
        match = ", ".join(f"{m}: {v if v is not None else 'not reached'}" for m, v in mnist["nfe_matching_em500_fid"].items())
        parts.append(f"## MNIST (score_mnist ScoreNet, checkpoint step {mnist['checkpoint_step']}, "
                     f"{cfg.mnist_samples} samples)\n\n{lead}.\n\nNFE at which each sampler reaches Euler–Maruyama's "
                     f"500-NFE classifier-FID ({mnist['em500_fid']}): {match}.\n\n" + markdown_table(mnist["rows"], cols) + "\n")
    return "\n".join(parts)


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata(NAME, argv)
    os.makedirs(cfg.out_dir, exist_ok=True)
    key = jax.random.key(cfg.seed)
    toy = run_toy(cfg, key)
    figures = [plot_setting(os.path.join(cfg.out_dir, f"{cfg.tag}_{name.replace('/', '_')}.png"), s["rows"], "w1",
                            f"W1 against NFE: {name}", {"noise floor": s["noise_floor"]} if s["noise_floor"] else None)
               for name, s in toy.items()]
    mnist = _cached(cfg, "mnist", lambda: run_mnist(cfg, jax.random.fold_in(key, 99))) if cfg.mnist else None
    if mnist:
        figures.append(plot_setting(os.path.join(cfg.out_dir, f"{cfg.tag}_mnist_fid.png"), mnist["rows"], "fid",
                                    "classifier-FID against NFE (MNIST)"))
    paths = write_results(cfg.out_dir, cfg.tag, {"toy": toy, "mnist": mnist, "figures": figures},
                          config=dataclasses.asdict(cfg), markdown=_markdown(cfg, toy, mnist), metadata=meta)
    print(paths, flush=True)
    return {"toy": toy, "mnist": mnist, "paths": paths}


if __name__ == "__main__":
    main()
