"""Why the meta-learning baseline of `fdp_mnist --table meta` (seed 003 eq. 4.1–4.2) grew
unstable: the Meta-SGD rates' sign, or the outer step on the SIREN's small hidden weights.

At step 220 of that run the loss had risen from 174 (step 125) to 292 while the raw gradient
norm grew 25× (8e3 → 2e5), and 288 of the 896 learned inner rates had gone below zero: the
inner loop did gradient *ascent* on those modulations.  functa (Dupont et al. 2022), whose
meta-learned SIRENs the baseline follows, clips its Meta-SGD rates to [0, 1] in its experiment
configs (its module's default, (−5, 5), clips in effect nothing), and takes outer Adam steps of
3e-6, against the table's 5e-4 before 2026-12-03 (now `--meta-learning-rate` 5e-5): with ω₀ = 30 a hidden SIREN weight starts at
U(±√(6/width)/ω₀) (rms 0.0042 at width 128), so an Adam step of 5e-4 moves it by about a tenth
of its size.  This experiment trains the baseline's cell from the same start on the same
batches in three arms:

- "free": the rates in (−5, 5), the outer learning rate 5e-4 (the table's until the clip);
- "clipped": the rates in [0, 1] (the default since 9fe7466), the same learning rate;
- "slow": the rates in [0, 1] and a 10× smaller outer learning rate, 5e-5 (the table's default since);

and records every `--probe-every` steps:

- the training loss and the raw gradient norm (before the optimiser's clip at 1), from the log;
- the learned rates as stored: how many are below zero, their min and max (the clipped arms
  use those below zero as 0, and their gradient is then zero);
- the inner loop's fit ratio at t = T on held-out digits: the fitting loss after the K inner
  steps over the loss before them (above 1: the inner loop moves away from x_t);

and, at the end, how far each SIREN weight matrix has grown: its rms over its rms at the start.

The batch is smaller than the table's (16 against 64) so that an arm takes about 20 minutes
on 2 CPUs; the other settings are `fdp_mnist --table meta`'s.  Each arm resumes from its
checkpoints (`checkpoints/fdp_meta_stability/<arm>`).

    python -m experiments.fdp_meta_stability            # the three arms, 250 steps each
    python -m experiments.fdp_meta_stability --quick    # seconds (CI)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np

from experiments import fdp_mnist
from experiments._cli import check_resumable, command_for, fast_compile_when_quick, parse_config, start_metadata
from sdegen_jax import plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.nets.siren import grid_coordinates
from sdegen_jax.results import markdown_table, write_results

# Each arm's changes to `fdp_mnist --table meta`'s cell: functa's module default rate range, its
# experiments' range, and that range with a 10× smaller outer learning rate.
ARMS = {"free": {"inner_lr_range": (-5.0, 5.0), "meta_learning_rate": 5e-4},
        "clipped": {"inner_lr_range": (0.0, 1.0), "meta_learning_rate": 5e-4},
        "slow": {"inner_lr_range": (0.0, 1.0), "meta_learning_rate": 5e-5}}


@dataclasses.dataclass
class Config:
    arms: tuple[str, ...] = tuple(ARMS)  # "free": rates in (−5, 5); "clipped": in [0, 1]; "slow": [0, 1], outer lr 5e-5
    steps: int = 250  # training steps per arm (the table's run went unstable after ≈ 125 at batch 64)
    batch_size: int = 16
    probe_every: int = 25
    probe_images: int = 8  # held-out digits for the inner-loop fit ratio
    seed: int = 0
    checkpoint_dir: str = "checkpoints/fdp_meta_stability"
    fresh: bool = False
    progress: bool = True
    out_dir: str = "results"
    quick: bool = False  # seconds, for CI

    @classmethod
    def quick_overrides(cls) -> dict:
        return dict(steps=6, batch_size=4, probe_every=3, probe_images=2, checkpoint_dir="checkpoints/fdp_meta_stability_quick")

    @property
    def tag(self) -> str:
        return "fdp_meta_stability" + ("_quick" if self.quick else "")


def check_config(cfg: Config) -> None:
    for arm in cfg.arms:
        if arm not in ARMS:
            raise ValueError(f"unknown arm {arm!r}; choose from {tuple(ARMS)}.")
    if cfg.probe_every < 1 or cfg.steps % cfg.probe_every:
        raise ValueError(f"steps ({cfg.steps}) must be a positive multiple of probe_every ({cfg.probe_every}).")


def cell_config(cfg: Config, arm: str) -> fdp_mnist.Config:
    """`fdp_mnist --table meta`'s settings (quick: its quick sizes) with this arm's rate range."""
    base = fdp_mnist.Config(**fdp_mnist.Config.quick_overrides(), quick=True) if cfg.quick else fdp_mnist.Config()
    return dataclasses.replace(base, table="meta", batch_size=cfg.batch_size, seed=cfg.seed, **ARMS[arm],
                               log_every=min(5, cfg.probe_every), progress=cfg.progress)


def arm_label(ccfg: fdp_mnist.Config) -> str:
    return "rates in [%g, %g], outer lr %g" % (*ccfg.inner_lr_range, ccfg.meta_learning_rate)


def probe(model, sde, digits, key) -> dict:
    """The learned rates and the inner loop's fit ratio at t = T on `digits` noised to x_T."""
    rates = np.asarray(model.inner_lr[...])
    t = jnp.float32(sde.T)
    x_t = fdp_mnist.diffuse(sde, digits, t, key)
    coords = grid_coordinates(*digits.shape[1:3])
    fits = jax.vmap(lambda x: model.inner_loop(coords, t, x.reshape(-1, digits.shape[-1]))[1])(x_t)
    return dict(negative_rates=int((rates < 0).sum()), num_rates=int(rates.size), min_rate=float(rates.min()),
                max_rate=float(rates.max()), fit_ratio_T=float(jnp.mean(fits[:, -1] / fits[:, 0])))


def weight_growth(start, end) -> dict[str, float]:
    """rms(end) / rms(start) of every SIREN weight matrix (the hidden ones set its frequencies)."""
    growth = {}
    for (path, a), (_, b) in zip(jax.tree_util.tree_flatten_with_path(start)[0],
                                 jax.tree_util.tree_flatten_with_path(end)[0]):
        name = jax.tree_util.keystr(path, simple=True, separator=".").removesuffix(".value")
        if name.startswith("siren.weights") or name == "siren.out_w":
            growth[name] = float(jnp.sqrt(jnp.mean(jnp.square(b)) / jnp.mean(jnp.square(a))))
    return dict(sorted(growth.items(), key=lambda kv: (kv[0] == "siren.out_w", kv[0])))  # by layer, the output last


def run_arm(cfg: Config, arm: str, x_train, digits) -> tuple[list[dict], dict]:
    """Train one arm (resuming), probing every `probe_every` steps; returns its probe records and
    its final `weight_growth` row."""
    ccfg = cell_config(cfg, arm)
    (cell,) = [c for c in fdp_mnist.table_cells(ccfg) if c.model == "meta"]
    folder = os.path.join(cfg.checkpoint_dir, arm)
    sde = fdp_mnist.make_sde(cell, x_train)
    model = fdp_mnist.make_model(ccfg, cell, sde, float(np.var(x_train)))
    training = fdp_mnist.make_training(ccfg, cell, model, sde, train.make_mesh())  # ccfg.seed is cfg.seed
    ckpt = train.Checkpointer(os.path.join(folder, "ckpt"), max_to_keep=2)
    check_resumable(folder, {**fdp_mnist._training_settings(ccfg, cell), "probe_every": cfg.probe_every},
                    has_checkpoint=ckpt.latest_step() is not None)
    probes_path = os.path.join(folder, "probes.jsonl")
    probes = train.read_log(probes_path, missing_ok=True)
    done = {p["step"] for p in probes}
    key = jax.random.key(cfg.seed + 1)  # the same noisy digits at every probe and in every arm
    batches = ImagesOnly(BatchIterator(x_train, np.zeros(len(x_train)), cfg.batch_size, seed=cfg.seed))
    if 0 not in done:
        probes.append({"step": 0, **probe(training.model(training.state.params), sde, digits, key)})
    state = training.state
    start = jax.tree.map(lambda a: np.array(a, copy=True), state.params)  # a host copy: training donates the state
    for target in range(cfg.probe_every, cfg.steps + 1, cfg.probe_every):
        if target in done:
            continue
        state = train.fit(state, training.step, batches, num_steps=target, mesh=train.make_mesh(), checkpointer=ckpt,
                          checkpoint_every=cfg.probe_every, log_path=os.path.join(folder, "log.jsonl"),
                          log_every=ccfg.log_every, progress=cfg.progress, description=f"{arm} → {target}")
        probes.append({"step": target, **probe(training.model(state.params), sde, digits, key)})
        with open(probes_path, "w") as f:  # rewritten whole: a killed run leaves the last full list
            f.writelines(json.dumps(p) + "\n" for p in sorted(probes, key=lambda p: p["step"]))
    if int(state.step) < cfg.steps:  # every probe was done before: the final state from its checkpoint
        state = train.fit(state, training.step, batches, num_steps=cfg.steps, mesh=train.make_mesh(), checkpointer=ckpt,
                          progress=False)
    growth = {"arm": arm, "step": int(state.step), **weight_growth(start, state.params)}
    ckpt.close()
    log = {r["step"]: r for r in train.read_log(os.path.join(folder, "log.jsonl"), missing_ok=True)}
    rows = []
    for p in sorted(probes, key=lambda p: p["step"]):
        rec = log.get(p["step"], {})
        rows.append({"arm": arm, "range": "[%g, %g]" % ccfg.inner_lr_range, "lr": fdp_mnist.cell_learning_rate(ccfg, cell), **p,
                     "loss": rec.get("loss"), "grad_norm": rec.get("grad_norm")})
    return rows, growth


@fast_compile_when_quick
def main(argv=None) -> dict:
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("fdp_meta_stability", argv)
    check_config(cfg)
    if cfg.fresh and os.path.isdir(cfg.checkpoint_dir):
        shutil.rmtree(cfg.checkpoint_dir)
    x_train, _ = load_images(fdp_mnist.Config.dataset, "train", scale="symmetric", resize=32)
    x_test, _ = load_images(fdp_mnist.Config.dataset, "test", scale="symmetric", resize=32)
    if cfg.quick:
        x_train = x_train[np.random.default_rng(cfg.seed).permutation(len(x_train))[:64]]
    digits = jnp.asarray(x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))[:cfg.probe_images]])
    runs = [run_arm(cfg, arm, x_train, digits) for arm in cfg.arms]
    rows, growth = [r for arm_rows, _ in runs for r in arm_rows], [g for _, g in runs]
    os.makedirs(cfg.out_dir, exist_ok=True)
    logs = {arm: train.read_log(os.path.join(cfg.checkpoint_dir, arm, "log.jsonl"), missing_ok=True) for arm in cfg.arms}
    figures = {}
    for metric, logy in (("loss", False), ("grad_norm", True)):
        path = os.path.join(cfg.out_dir, f"{cfg.tag}_{metric}.png")
        series = {f"{arm}: {arm_label(cell_config(cfg, arm))}": ([r["step"] for r in logs[arm]], [r[metric] for r in logs[arm]])
                  for arm in cfg.arms}
        figures[metric] = plots.save_curves(series, path, ylabel=metric.replace("_", " ") + (" (raw, before the clip)"
                                            if metric == "grad_norm" else ""), logy=logy,
                                            title=f"meta baseline, batch {cfg.batch_size}")
    columns = [("arm", "arm", "s"), ("range", "rates in", "s"), ("lr", "outer lr", "g"), ("step", "step", "d"), ("loss", "loss", ".1f"),
               ("grad_norm", "grad norm", ".3g"), ("negative_rates", "rates < 0", "d"), ("min_rate", "min rate", ".4f"),
               ("max_rate", "max rate", ".4f"), ("fit_ratio_T", "inner fit ratio at t = T", ".4f")]
    md = (f"The meta-learning baseline's cell of `fdp_mnist --table meta` at batch {cfg.batch_size}, "
          f"{cfg.steps} steps per arm from the same start on the same batches; the loss and the raw gradient norm are "
          "those logged at the step; the inner fit ratio is the fitting loss after the inner steps over the loss before "
          f"them, on {cfg.probe_images} held-out digits at t = T (above 1: the inner loop diverges).\n\n"
          + markdown_table(rows, columns) + "\n\n"
          + "How far each SIREN weight matrix grew over the run: its rms at the last step over its rms at the start "
          "(`weights.0` reads the coordinates; `weights.1`–`.6` are the hidden layers, whose sines take ω₀ × their "
          "output).\n\n"
          + markdown_table(growth, [("arm", "arm", "s"), ("step", "step", "d")]
                           + [(k, k.removeprefix("siren."), ".3f") for k in growth[0] if k.startswith("siren.")]) + "\n\n"
          + "Curves: " + ", ".join(f"`{os.path.basename(p)}`" for p in figures.values()) + ".\n")
    write_results(cfg.out_dir, cfg.tag, {"rows": rows, "weight_growth": growth, "figures": figures}, config=cfg,
                  command=command_for("fdp_meta_stability", argv), metadata=meta, markdown=md)
    return {"rows": rows, "weight_growth": growth, "figures": figures}


if __name__ == "__main__":
    main()
