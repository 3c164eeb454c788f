"""Seed 002 §4.2.2: variance-preserving reverse SDE on the exact score of a Gaussian mixture.

VP SDE dx = −½ β(t) x dt + sqrt(β(t)) dw, β from 0.1 to 20 on [0, 1] (seed 002 eq. 4.2.25),
data 0.3 N(−5, 2²) + 0.7 N(5, 2²), 5000 steps; W1 to the exact p_eps (eps = 1e-3).

(a) every sampler of `sg.samplers.METHODS` from exact p_T samples (the solver error).
(b) from the prior N(0, 1): for VP, p_T is within W1 ≈ 0.01 of it, so the start costs little.
(c) the sub-VP SDE (Song et al. eq. 29) and the OU process of seed 004 (T = 10), from their
    N(0, 1) priors and from p_T.
(d) the 2-D 8-Gaussian ring with every sampler, sliced W1.

    python -m experiments.toy_vp            # full setting (about 5 minutes on 2 CPUs)
    python -m experiments.toy_vp --quick    # seconds
"""

from __future__ import annotations

import dataclasses
import os

import jax

import sdegen_jax as sg
from experiments import _toy_reverse as suite
from experiments._cli import command_for, parse_config
from sdegen_jax.metrics.sampler_suite import exact_w1_1d, prior_mixture
from sdegen_jax.results import format_table, markdown_table, write_results

NAME = "toy_vp"


@dataclasses.dataclass
class Config:
    beta_min: float = 0.1
    beta_max: float = 20.0
    steps: int = 5000  # NFE budget of every sampler in (a)
    methods: tuple[str, ...] = sg.samplers.METHODS  # samplers by name
    n_samples: int = 50_000  # samples per sampler in (a), except the headline row
    n_samples_em: int = 200_000  # Euler–Maruyama at `steps`, the headline row
    coarse_steps: tuple[int, ...] = (25,)  # (a) again at few steps, where solvers differ (not ode, annealed_langevin)
    repeats: int = 2  # rerun a 1-D row this often when its W1 exceeds every exact-sample draw
    steps_per_level: int = 10  # annealed Langevin: steps // M levels of M steps each (NFE = steps)
    annealed_step_lrs: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)
    pc_snr: float = 0.01  # Song et al.'s VP value (the VP SDE's default_snr)
    prior_steps: tuple[int, ...] = (500, 1000, 5000)
    prior_methods: tuple[str, ...] = ("euler_maruyama", "reverse_diffusion")
    n_prior: int = 100_000
    other_sde_steps: int = 5000
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
            other_sde_steps=200, ring_steps=100, n_ring=1000, ring_projections=8, num_saves=20,
        )


def run(cfg: Config, argv=None) -> dict:
    os.makedirs(cfg.out_dir, exist_ok=True)
    key = jax.random.PRNGKey(cfg.seed)
    sde = sg.sde.VPSDE(cfg.beta_min, cfg.beta_max)
    gmm = sg.toy.seed002_mixture()
    runs = lambda methods, budget: suite.sampler_runs(  # noqa: E731
        methods, budget, steps_per_level=cfg.steps_per_level, step_lrs=cfg.annealed_step_lrs, pc_snr=cfg.pc_snr)

    rows_a, fig_pT, _ = suite.run_section(
        jax.random.fold_in(key, 1), sde, gmm, runs(cfg.methods, cfg.steps), section="a", sde_name="VP", n=cfg.n_samples,
        repeats=cfg.repeats, headline=("euler_maruyama", cfg.steps), n_headline=cfg.n_samples_em, num_saves=cfg.num_saves)
    for j, s in enumerate(cfg.coarse_steps):
        coarse = [m for m in cfg.methods if m not in ("ode", "annealed_langevin")]
        rows_a += suite.run_section(jax.random.fold_in(key, 100 + j), sde, gmm, runs(coarse, s), section="a", sde_name="VP",
                                    n=cfg.n_samples, repeats=cfg.repeats)[0]
    rows_b, fig_prior = [], None
    for j, s in enumerate(cfg.prior_steps):
        head = ("euler_maruyama", max(cfg.prior_steps))
        r, f, _ = suite.run_section(jax.random.fold_in(key, 200 + j), sde, gmm, runs(cfg.prior_methods, s), section="b",
                                    sde_name="VP", n=cfg.n_prior, start="prior", headline=head, n_headline=cfg.n_prior,
                                    num_saves=cfg.num_saves)
        rows_b, fig_prior = rows_b + r, f or fig_prior
    others = {"SubVP": sg.sde.SubVPSDE(cfg.beta_min, cfg.beta_max), "OU (T=10)": sg.sde.OUSDE(T=10.0)}
    rows_c = []
    for i, (name, other) in enumerate(others.items()):
        for start in ("prior", "p_T"):  # the same key: the same noise from both starts
            rows_c += suite.run_section(jax.random.fold_in(key, 30 + i), other, gmm, runs(("euler_maruyama",), cfg.other_sde_steps),
                                        section="c", sde_name=name, n=cfg.n_prior, start=start)[0]
    rows_d, ring_ref, ring_fig = suite.ring_section(
        jax.random.fold_in(key, 4), cfg.out_dir, NAME, sde, "VP", runs(cfg.methods, cfg.ring_steps), n=cfg.n_ring,
        projections=cfg.ring_projections, title=f"VP SDE, 8-Gaussian ring, {cfg.ring_steps} steps from exact p_T, exact score")

    figures = suite.density_figures(
        cfg.out_dir, NAME, sde, gmm,
        {"pT": (fig_pT, f"Euler–Maruyama, {cfg.steps} steps, from exact p_T, n={cfg.n_samples_em}"),
         "prior": (fig_prior, f"Euler–Maruyama, {max(cfg.prior_steps)} steps, from the prior N(0, 1)")},
        y_range=(-11, 11), x_range=(-15, 15), title_prefix=f"VP SDE β∈[{cfg.beta_min:g}, {cfg.beta_max:g}]",
    ) + [ring_fig]

    facts = {"ring_exact_sliced_w1": ring_ref}
    lines = []
    for name, s in {"VP": sde, **others}.items():
        pT = gmm.marginal(s, s.T)
        mean, var, w1 = float(pT.mean()[0]), float(pT.variance()[0]), exact_w1_1d(prior_mixture(s), pT)
        facts[name] = dict(pT_mean=mean, pT_var=var, prior_var=float(s.prior_std) ** 2, w1_prior_to_pT=w1)
        lines.append(f"{name}: p_T mean {mean:.4f}, variance {var:.4f}; prior N(0, {float(s.prior_std) ** 2:g}); W1(prior, p_T) = {w1:.4f}.")
    fact_text = "\n".join(lines)
    ring_line = f"Ring: sliced W1 of {cfg.n_ring} exact p_eps samples = {ring_ref:.4f} (the sampling-noise level)."
    sde_columns = [("sde", "SDE", "")] + suite.ROW_COLUMNS
    print("\n\n".join([
        "(a) samplers from exact p_T\n" + format_table(rows_a, suite.ROW_COLUMNS),
        "(b) from the prior\n" + format_table(rows_b, suite.ROW_COLUMNS),
        "(c) sub-VP and OU, Euler-Maruyama\n" + format_table(rows_c, sde_columns) + "\n" + fact_text,
        "(d) 2-D ring, sliced W1\n" + format_table(rows_d, suite.ROW_COLUMNS) + "\n" + ring_line,
    ]))
    md = "\n\n".join([
        f"Seed 002 §4.2.2: VP SDE, β from {cfg.beta_min:g} to {cfg.beta_max:g}, on the exact score of "
        f"0.3 N(-5, 2²) + 0.7 N(5, 2²), eps = {sde.default_eps:g}. " + suite.NOTE,
        f"## (a) Every sampler from exact p_T ({cfg.steps} steps, and {', '.join(map(str, cfg.coarse_steps)) or 'no'} coarse steps)",
        markdown_table(rows_a, suite.ROW_COLUMNS),
        "## (b) From the prior N(0, 1)",
        markdown_table(rows_b, suite.ROW_COLUMNS),
        "## (c) Sub-VP and OU (T = 10) from their priors and from p_T",
        markdown_table(rows_c, sde_columns),
        fact_text.replace("\n", "  \n"),
        "## (d) 2-D 8-Gaussian ring, every sampler from exact p_T, sliced W1",
        markdown_table(rows_d, suite.ROW_COLUMNS),
        ring_line,
        "Figures: " + ", ".join(f"`{os.path.basename(f)}`" for f in figures),
    ])
    payload = dict(rows_a=rows_a, rows_b=rows_b, rows_c=rows_c, rows_d=rows_d, facts=facts, figures=figures)
    paths = write_results(cfg.out_dir, NAME, payload, config=cfg, command=command_for(NAME, argv), markdown=md)
    return {**payload, **paths}


def main(argv=None) -> dict:
    return run(parse_config(Config, argv, description=__doc__), argv)


if __name__ == "__main__":
    main()
