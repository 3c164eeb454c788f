"""The reverse-SDE suite shared by toy_ve (seed 002 Example 7) and toy_vp (seed 002 §4.2.2).

Every sampler runs on the exact score of a Gaussian mixture through
`sg.metrics.evaluate_sampler`, so the only errors are the solver's, the start distribution's
and sampling noise.  W1 is to the exact p_eps (the mixture pushed to the final time eps).
This module holds what the two experiments share: the sampler list at an NFE budget, the
sections (a) every sampler from exact p_T, (b) from the prior, (d) the 2-D ring, their tables
and figures.  Section (c) differs and lives in each experiment.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import sdegen_jax as sg
from experiments._cli import command_for
from sdegen_jax.metrics.sampler_suite import evaluate_sampler
from sdegen_jax.results import format_table, markdown_table, write_results

EXACT_KEY = jax.random.PRNGKey(12345)  # exact-sample reference draws, shared by all rows


@dataclasses.dataclass
class SuiteConfig:
    """The settings toy_ve and toy_vp share (each adds its SDE's and its section (c)'s)."""

    steps: int = 5000  # NFE budget of every sampler in (a)
    methods: tuple[str, ...] = sg.samplers.METHODS  # samplers by name
    n_samples: int = 50_000  # samples per sampler in (a), except the headline row
    n_samples_em: int = 200_000  # Euler–Maruyama at `steps`, the headline row
    coarse_steps: tuple[int, ...] = (25,)  # (a) again at few steps, where solvers differ (not ode, annealed_langevin)
    repeats: int = 2  # rerun a 1-D row this often when its W1 exceeds every exact-sample draw
    steps_per_level: int = 10  # annealed Langevin: steps // M levels of M steps each (NFE = steps)
    annealed_step_lrs: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)
    prior_steps: tuple[int, ...] = (500, 1000, 5000)
    prior_methods: tuple[str, ...] = ("euler_maruyama", "reverse_diffusion")
    n_prior: int = 100_000
    ring_steps: int = 500
    n_ring: int = 20_000
    ring_projections: int = 32
    num_saves: int = 100  # states saved along the headline runs (density figures)
    seed: int = 0
    out_dir: str = "results"
    quick: bool = False  # seconds, for CI

    @classmethod
    def quick_overrides(cls) -> dict:
        return dict(
            steps=200, methods=("euler_maruyama", "reverse_diffusion", "ancestral", "ode"), n_samples=2000, n_samples_em=4000,
            coarse_steps=(), annealed_step_lrs=(1.0,), prior_steps=(200,), prior_methods=("euler_maruyama",), n_prior=4000,
            ring_steps=100, n_ring=1000, ring_projections=8, num_saves=20,
        )

    def runs(self, methods, budget):
        return sampler_runs(methods, budget, steps_per_level=self.steps_per_level, step_lrs=self.annealed_step_lrs,
                            pc_snr=self.pc_snr)


def common_sections(cfg: SuiteConfig, key, sde, sde_name: str, mixture, name: str):
    """Sections (a) every sampler from exact p_T (and at the coarse budgets), (b) from the
    prior, (d) the 2-D ring.  Returns (rows_a, rows_b, rows_d, headline from p_T, headline
    from the prior, ring exact-sample sliced W1, ring figure path)."""
    rows_a, fig_pT, _ = run_section(
        jax.random.fold_in(key, 1), sde, mixture, cfg.runs(cfg.methods, cfg.steps), section="a", sde_name=sde_name,
        n=cfg.n_samples, repeats=cfg.repeats, headline=("euler_maruyama", cfg.steps), n_headline=cfg.n_samples_em,
        num_saves=cfg.num_saves)
    for j, s in enumerate(cfg.coarse_steps):
        coarse = [m for m in cfg.methods if m not in ("ode", "annealed_langevin")]
        rows_a += run_section(jax.random.fold_in(key, 100 + j), sde, mixture, cfg.runs(coarse, s), section="a",
                              sde_name=sde_name, n=cfg.n_samples, repeats=cfg.repeats)[0]
    rows_b, fig_prior = [], None
    for j, s in enumerate(cfg.prior_steps):
        r, f, _ = run_section(jax.random.fold_in(key, 200 + j), sde, mixture, cfg.runs(cfg.prior_methods, s), section="b",
                              sde_name=sde_name, n=cfg.n_prior, start="prior", headline=("euler_maruyama", max(cfg.prior_steps)),
                              n_headline=cfg.n_prior, num_saves=cfg.num_saves)
        rows_b, fig_prior = rows_b + r, f or fig_prior
    rows_d, ring_ref, ring_fig = ring_section(
        jax.random.fold_in(key, 4), cfg.out_dir, name, sde, sde_name, cfg.runs(cfg.methods, cfg.ring_steps), n=cfg.n_ring,
        projections=cfg.ring_projections,
        title=f"{sde_name} SDE, 8-Gaussian ring, {cfg.ring_steps} steps from exact p_T, exact score")
    return rows_a, rows_b, rows_d, fig_pT, fig_prior, ring_ref, ring_fig

ROW_COLUMNS = [
    ("method", "sampler", ""),
    ("options", "options", ""),
    ("start", "start", ""),
    ("steps", "steps", "d"),
    ("n", "n", "d"),
    ("nfe", "NFE", "d"),
    ("w1", "W1", ".4f"),
    ("w1_repeat_mean", "W1 of reruns", ".4f"),
    ("exact_w1_mean", "exact-sample W1", ".4f"),
    ("compile_s", "compile s", ".2f"),
    ("wall_s", "wall s", ".2f"),
    ("us_per_sample", "µs/sample", ".1f"),
]


def sampler_runs(methods: Sequence[str], budget: int, *, steps_per_level: int, step_lrs: Sequence[float], pc_snr: float):
    """(name, options text, sampler, steps) for each method at `budget` grid steps.

    Annealed Langevin gets budget // steps_per_level levels, so its NFE equals the budget
    like the one-evaluation-per-step samplers; one run per step_lr.  The ODE is adaptive.
    """
    runs = []
    for m in methods:
        if m == "annealed_langevin":
            for lr in step_lrs:
                s = sg.samplers.AnnealedLangevin(steps_per_level=steps_per_level, step_lr=float(lr))
                runs.append((m, f"levels={budget // steps_per_level}, M={steps_per_level}, step_lr={lr:g}", s,
                             max(1, budget // steps_per_level)))
        elif m == "pc":
            runs.append((m, f"reverse_diffusion + 1 Langevin corrector, snr={pc_snr:g}",
                         sg.samplers.PredictorCorrector(snr=float(pc_snr)), budget))
        elif m == "ode":
            runs.append((m, "tsit5, rtol=atol=1e-5 (adaptive)", sg.samplers.ProbabilityFlowODE(), None))
        else:
            runs.append((m, "", sg.samplers.from_name(m), budget))
    return runs


def _log(section, row):
    rep = f" (reruns mean {row['w1_repeat_mean']:.4f})" if "w1_repeat_mean" in row else ""
    tqdm.write(f"  {section}: {row['method']:20s} {row['start']:5s} steps={row['steps']} n={row['n']:7d} "
               f"W1={row['w1']:.4f}{rep} wall={row['wall_s']:.2f}s", file=sys.stderr)


def run_section(key, sde, mixture, runs, *, section: str, sde_name: str, n: int, start: str = "p_T", repeats: int = 0,
                headline: tuple[str, int] | None = None, n_headline: int | None = None, num_saves: int | None = None,
                projections: int = 64, keep_samples: bool = False):
    """Evaluate every run of `sampler_runs`; returns (rows, headline evaluation or None, kept samples).

    The (method, steps) `headline` run uses n_headline samples and records its path."""
    rows, figure, kept = [], None, []
    for i, (name, options, sampler, steps) in enumerate(tqdm(runs, desc=f"{sde_name} ({section})", leave=False)):
        is_headline = headline is not None and (name, steps) == headline
        ev = evaluate_sampler(
            jax.random.fold_in(key, i), sde, mixture, sampler, steps=steps, start=start, repeats=repeats,
            n=n_headline if is_headline else n, num_saves=num_saves if is_headline else None,
            num_projections=projections, exact_key=EXACT_KEY,
        )
        row = dict(section=section, sde=sde_name, method=name, options=options, **ev.row)
        rows.append(row)
        _log(section, row)
        if is_headline:
            figure = ev
        if keep_samples:
            metric = "W1" if mixture.dim == 1 else "sliced W1"
            kept.append((f"{name}{' ' + options.split(', ')[-1] if name == 'annealed_langevin' else ''} (NFE {row['nfe']})\n"
                         f"{metric} = {row['w1']:.3f}", np.asarray(ev.samples)))
    return rows, figure, kept


def density_figures(out_dir, name, sde, mixture, figures: dict, *, y_range, x_range, title_prefix):
    """One density-evolution PNG per entry of `figures` (tag → (Evaluation, title))."""
    from sdegen_jax import plots

    target = mixture.marginal(sde, sde.default_eps)
    grid = np.linspace(*x_range, 801)
    dens = np.exp(np.asarray(target.log_prob(jnp.asarray(grid)[:, None])))
    paths = []
    for tag, (ev, title) in figures.items():
        if ev is None or ev.info.path is None:
            continue
        fname = os.path.join(out_dir, f"{name}_density_{tag}.png")
        plots.density_evolution_figure(
            np.asarray(ev.info.ts), np.asarray(ev.info.path), np.asarray(ev.samples), grid, dens,
            title=f"{title_prefix}: {title}  (W1 to exact p_eps = {ev.row['w1']:.3f})",
            heatmap_title="sample histogram over reverse time (t from T down to eps)",
            histogram_title="samples at t = eps vs exact p_eps", y_range=y_range,
            time_label="t (reverse time runs left to right)", filename=fname,
        )
        paths.append(fname)
    return paths


def ring_section(key, out_dir, name, sde, sde_name, runs, *, n: int, projections: int, title: str):
    """(d) every run on the 2-D 8-Gaussian ring from exact p_T; sliced W1; a scatter figure.

    Returns (rows, exact-sample sliced W1, figure path)."""
    from sdegen_jax import plots

    ring = sg.toy.ring_mixture(8, radius=4.0, std=0.5)
    rows, _, panels = run_section(key, sde, ring, runs, section="ring", sde_name=sde_name, n=n, projections=projections,
                                  keep_samples=True)
    target = ring.marginal(sde, sde.default_eps)
    k_exact, k_proj = jax.random.split(jax.random.fold_in(key, 7))
    exact = target.sample(k_exact, n)
    ref = sg.metrics.sliced_wasserstein1_to_mixture(exact, target, k_proj, projections)
    panels.append((f"exact p_eps samples\nsliced W1 = {ref:.3f}", np.asarray(exact)))
    xs, ys, d2 = plots.grid_density_2d(lambda p: np.asarray(target.log_prob(jnp.asarray(p))), (-6.5, 6.5), (-6.5, 6.5))
    fname = os.path.join(out_dir, f"{name}_ring.png")
    plots.scatter_2d_figure(panels, xs, ys, d2, ncols=4, title=title, max_points=4000, filename=fname)
    return rows, ref, fname


NOTE = (
    "W1 is to the exact p_eps. 'exact-sample W1' is the mean W1 of 5 independent draws of n exact p_eps samples: "
    "the sampling-noise level. One draw of W1 scatters a lot (mostly through the binomial mode weights: at "
    "n = 50,000 single exact draws range over about 0.01-0.04), so only differences well above that column mean "
    "anything; the JSON also has the max over the draws and the bound ∫ sqrt(F(1-F)/n) on the mean. A row whose W1 "
    "exceeds the largest exact-sample draw is rerun `repeats` more times with fresh p_T samples and noise; "
    "'W1 of reruns' is the mean over those fresh runs only, which tells a sampling outlier from a real error. "
    "NFE = score evaluations per sample; wall s excludes compilation (compile s). The exact score is "
    "`gmm.score_fn(sde)` (its one-sample path is unrolled over components and dimensions for speed)."
)


def report(cfg, name: str, argv, intro: str, sections, payload: dict, figures, metadata=None) -> dict:
    """Print the sections, write results/<name>.json and .md; returns payload + paths.

    sections: (markdown heading, rows, columns, text below the table or "")."""
    print("\n\n".join(f"{h.lstrip('# ')}\n" + format_table(rows, cols) + (f"\n{note}" if note else "")
                      for h, rows, cols, note in sections))
    md = [intro]
    for heading, rows, cols, note in sections:
        md += [heading, markdown_table(rows, cols)] + ([note.replace("\n", "  \n")] if note else [])
    md.append("Figures: " + ", ".join(f"`{os.path.basename(f)}`" for f in figures))
    payload = dict(payload, figures=figures)
    paths = write_results(cfg.out_dir, name, payload, config=cfg, command=command_for(name, argv), markdown="\n\n".join(md),
                          metadata=metadata)
    return {**payload, **paths}
