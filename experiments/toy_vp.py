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
from experiments._cli import parse_config, start_metadata
from sdegen_jax.metrics.sampler_suite import exact_w1_1d, prior_mixture

NAME = "toy_vp"


@dataclasses.dataclass
class Config(suite.SuiteConfig):
    beta_min: float = 0.1
    beta_max: float = 20.0
    pc_snr: float = 0.01  # Song et al.'s VP value (the VP SDE's default_snr)
    other_sde_steps: int = 5000  # (c) sub-VP and OU

    @classmethod
    def quick_overrides(cls) -> dict:
        return {**super().quick_overrides(), "other_sde_steps": 200}


def run(cfg: Config, argv=None) -> dict:
    meta = start_metadata(NAME, argv)
    os.makedirs(cfg.out_dir, exist_ok=True)
    key = jax.random.PRNGKey(cfg.seed)
    sde = sg.sde.VPSDE(cfg.beta_min, cfg.beta_max)
    gmm = sg.toy.seed002_mixture()
    rows_a, rows_b, rows_d, fig_pT, fig_prior, ring_ref, ring_fig = suite.common_sections(cfg, key, sde, "VP", gmm, NAME)
    others = {"SubVP": sg.sde.SubVPSDE(cfg.beta_min, cfg.beta_max), "OU (T=10)": sg.sde.OUSDE(T=10.0)}
    rows_c = []
    for i, (name, other) in enumerate(others.items()):
        for start in ("prior", "p_T"):  # the same key: the same noise from both starts
            rows_c += suite.run_section(jax.random.fold_in(key, 30 + i), other, gmm, cfg.runs(("euler_maruyama",), cfg.other_sde_steps),
                                        section="c", sde_name=name, n=cfg.n_prior, start=start)[0]

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
    intro = (f"Seed 002 §4.2.2: VP SDE, β from {cfg.beta_min:g} to {cfg.beta_max:g}, on the exact score of "
             f"0.3 N(-5, 2²) + 0.7 N(5, 2²), eps = {sde.default_eps:g}. " + suite.NOTE)
    coarse = ", ".join(map(str, cfg.coarse_steps)) or "no"
    sections = [
        (f"## (a) Every sampler from exact p_T ({cfg.steps} steps, and {coarse} coarse steps)", rows_a, suite.ROW_COLUMNS, ""),
        ("## (b) From the prior N(0, 1)", rows_b, suite.ROW_COLUMNS, ""),
        ("## (c) Sub-VP and OU (T = 10) from their priors and from p_T", rows_c, [("sde", "SDE", "")] + suite.ROW_COLUMNS,
         fact_text),
        ("## (d) 2-D 8-Gaussian ring, every sampler from exact p_T, sliced W1", rows_d, suite.ROW_COLUMNS, ring_line),
    ]
    payload = dict(rows_a=rows_a, rows_b=rows_b, rows_c=rows_c, rows_d=rows_d, facts=facts)
    return suite.report(cfg, NAME, argv, intro, sections, payload, figures, metadata=meta)


def main(argv=None) -> dict:
    return run(parse_config(Config, argv, description=__doc__), argv)


if __name__ == "__main__":
    main()
