"""NCSN and DDPM, the discrete ancestors of the VE and VP SDEs, on MNIST (issue 11).

`python -m experiments.discrete_mnist` trains, under score_mnist's budget (the same ScoreNet
architecture, 40 epochs of batch 64 on the embedded 4,500 training digits, Adam 1e-3 with
warm-up, clipping and EMA):

- NCSN (seed 001 §2.3): 10 geometric levels from σ_1 = 1 to σ_L = 0.01 on [0, 1] digits (Song &
  Ermon's MNIST setting), the weighted multi-level DSM of seed 001 eq. 6; the network is
  ScoreNet conditioned on the level's VE time t(σ) and divided by σ; sampled by annealed
  Langevin (100 steps a level, ε = 2e-5, Tweedie at σ_L);
- DDPM (seed 003 §3.3): the linear β schedule (1e-4 to 0.02, N = 1000) on [−1, 1] digits, the
  simple ε loss; the network is ScoreNet conditioned on i/N with raw output (ε); sampled by
  the ancestral sampler (1000 NFE) and by DDIM (η = 0) on strided steps; scored by the full
  variational bound in bits/dim on held-out digits.

It reports classifier-FID/IS of each sampler (the project's MNIST classifier, not Inception),
DDPM's bound, parameters and training time, in results/discrete_mnist.json/.md, with sample
grids.  Resumable: each model's orbax checkpoints are under `--checkpoint-dir`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments._cli import fast_compile_when_quick, parse_config, read_training_log, start_metadata
from sdegen_jax import metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.results import markdown_table, write_results

NAME = "discrete_mnist"


@dataclasses.dataclass
class Config:
    dataset: str = "mnist_embedded"
    models: tuple[str, ...] = ("ncsn", "ddpm")
    epochs: int = 40  # score_mnist's budget
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    seed: int = 0
    ncsn_sigma_max: float = 1.0
    ncsn_sigma_min: float = 0.01
    ncsn_levels: int = 10
    ncsn_steps_per_level: int = 100
    ncsn_step_lr: float = 2e-5
    ddpm_steps: int = 1000
    ddpm_beta_start: float = 1e-4
    ddpm_beta_end: float = 0.02
    ddim_steps: tuple[int, ...] = (20, 50, 100)
    num_samples: int = 500
    bound_images: int = 200  # held-out digits for DDPM's bound (N network evaluations each)
    chunk_size: int = 100
    checkpoint_dir: str = "checkpoints/discrete_mnist"
    checkpoint_every: int = 500
    log_every: int = 25
    fresh: bool = False
    out_dir: str = "results"
    tag: str = NAME
    progress: bool = True
    quick: bool = False  # about a minute, for CI

    @classmethod
    def quick_overrides(cls):
        return dict(epochs=1, batch_size=32, ncsn_steps_per_level=2, ddpm_steps=10, ddim_steps=(5,), num_samples=16,
                    bound_images=4, checkpoint_every=50, log_every=5, checkpoint_dir="checkpoints/discrete_mnist_quick",
                    tag=f"{NAME}_quick")


class SigmaConditioned(eqx.Module):
    """NCSN's per-example score s(x, σ) from a ScoreNet score_fn(x, t) on the levels' VE SDE."""

    fn: Callable
    levels: sg.ncsn.NoiseLevels

    def _t(self, sigma):
        return jnp.log(sigma / self.levels.sigma_min) / jnp.log(self.levels.sigma_max / self.levels.sigma_min)

    def __call__(self, x, sigma):
        return self.fn(x, self._t(sigma))

    def batched(self, x, sigma):
        return self.fn.batched(x, self._t(sigma))


class StepConditioned(eqx.Module):
    """DDPM's per-example ε(x, i) from a network model_fn(x, t) at t = i/N."""

    fn: Callable
    num_steps: int = eqx.field(static=True)

    def __call__(self, x, i):
        return self.fn(x, i / self.num_steps)

    def batched(self, x, i):
        return self.fn.batched(x, i / self.num_steps)


def build(cfg: Config, name: str, mesh, key):
    """(model, training, conditioning wrapper, extras) of one model."""
    optimizer = train.make_optimizer(cfg.learning_rate, warmup_steps=cfg.warmup_steps, grad_clip=cfg.grad_clip)
    if name == "ncsn":
        levels = sg.ncsn.NoiseLevels(cfg.ncsn_sigma_max, cfg.ncsn_sigma_min, cfg.ncsn_levels)
        model = sg.nets.ScoreNet(levels.sde.sigma, rngs=nnx.Rngs(cfg.seed))

        def loss(k, model_fn, batch):
            return sg.ncsn.multilevel_dsm_loss(k, levels, SigmaConditioned(model_fn, levels), batch)

        wrap = lambda fn: SigmaConditioned(fn, levels)  # noqa: E731
        extra = {"levels": levels}
    elif name == "ddpm":
        schedule = sg.ddpm.DDPMSchedule.linear(cfg.ddpm_steps, cfg.ddpm_beta_start, cfg.ddpm_beta_end)
        model = sg.nets.ScoreNet(lambda t: jnp.ones_like(t), rngs=nnx.Rngs(cfg.seed))

        def loss(k, model_fn, batch):
            return sg.ddpm.simple_loss(k, schedule, StepConditioned(model_fn, cfg.ddpm_steps), batch * 2.0 - 1.0)

        wrap = lambda fn: StepConditioned(fn, cfg.ddpm_steps)  # noqa: E731
        extra = {"schedule": schedule}
    else:
        raise ValueError(f"unknown model {name!r}; choose from ('ncsn', 'ddpm').")
    training = train.model_training(model, loss, mesh, optimizer=optimizer, key=key, ema_decay=cfg.ema_decay)
    return model, training, wrap, extra


def _train(cfg, name, mesh, key, batches):
    model, training, wrap, extra = build(cfg, name, mesh, key)
    ckpt_dir = os.path.join(cfg.checkpoint_dir, name)
    if cfg.fresh and os.path.isdir(ckpt_dir):
        shutil.rmtree(ckpt_dir)
    ckpt = train.Checkpointer(ckpt_dir, max_to_keep=2)
    log_path = os.path.join(cfg.out_dir, f"{cfg.tag}_{name}_log.jsonl")
    t0 = time.perf_counter()
    state = train.fit(training.state, training.step, ImagesOnly(batches), num_steps=cfg.epochs * batches.steps_per_epoch,
                      mesh=mesh, checkpointer=ckpt, checkpoint_every=cfg.checkpoint_every, log_path=log_path,
                      log_every=cfg.log_every, progress=cfg.progress, description=f"{cfg.tag} {name}")
    seconds = time.perf_counter() - t0
    ckpt.close()
    log = read_training_log(log_path, ckpt_dir)
    rates = [r["img_per_s"] for r in (log[1:] or log)]
    fn = wrap(training.score_fn(state.ema_params, state.constants))
    return dict(params=train.count_params(nnx.state(model)), train_seconds_this_run=seconds,
                median_img_per_s=float(np.median(rates)) if rates else None,
                final_loss=log[-1]["loss"] if log else None), fn, extra


def _score(x01, x_test):
    x01 = np.clip(np.asarray(x01), 0.0, 1.0)
    return x01, {"fid": metrics.classifier_fid(x01, x_test), "inception_score": metrics.classifier_inception_score(x01)}


@fast_compile_when_quick
def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata(NAME, argv)
    mesh = train.make_mesh()
    x_train, y_train = load_images(cfg.dataset, "train", scale="unit")
    x_test, _ = load_images(cfg.dataset, "test", scale="unit")
    if cfg.quick:
        keep = np.random.default_rng(cfg.seed).permutation(len(x_train))[:320]
        x_train, y_train = x_train[keep], y_train[keep]
    os.makedirs(cfg.out_dir, exist_ok=True)
    key = jax.random.key(cfg.seed)
    shape, n = x_train.shape[1:], cfg.num_samples
    rows, models, grids = [], {}, {}
    for m_i, name in enumerate(cfg.models):
        k_train, k_sample, k_bound = jax.random.split(jax.random.fold_in(key, m_i), 3)
        batches = BatchIterator(x_train, y_train, cfg.batch_size, seed=cfg.seed)
        info, fn, extra = _train(cfg, name, mesh, jax.random.key_data(k_train), batches)
        models[name] = info
        runs = []
        if name == "ncsn":
            levels = extra["levels"]
            x_init = levels.sigmas[0] * jax.random.normal(k_sample, (n, *shape))
            runs.append(("annealed Langevin", cfg.ncsn_levels * cfg.ncsn_steps_per_level + 1, lambda: sg.ncsn.annealed_langevin(
                k_sample, levels, fn, x_init, steps_per_level=cfg.ncsn_steps_per_level, step_lr=cfg.ncsn_step_lr,
                denoise=True, chunk_size=cfg.chunk_size)))
        else:
            schedule = extra["schedule"]
            x_init = jax.random.normal(k_sample, (n, *shape))
            runs.append(("ancestral", cfg.ddpm_steps, lambda: 0.5 * (sg.ddpm.ancestral_sample(
                k_sample, schedule, fn, x_init, chunk_size=cfg.chunk_size) + 1.0)))
            for steps in cfg.ddim_steps:
                runs.append((f"DDIM {steps}", steps, lambda steps=steps: 0.5 * (sg.ddpm.ddim_sample(
                    k_sample, schedule, fn, x_init, steps=steps, chunk_size=cfg.chunk_size) + 1.0)))
            pixels = np.round(x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))[: cfg.bound_images]] * 255.0)
            t0 = time.perf_counter()
            bpd, terms = sg.ddpm.variational_bound(k_bound, schedule, fn, pixels / 127.5 - 1.0)
            bpd = np.asarray(bpd)
            info["bound_bits_per_dim"] = float(bpd.mean())
            info["bound_ci95"] = float(1.96 * bpd.std(ddof=1) / np.sqrt(len(bpd))) if len(bpd) > 1 else None
            info["bound_terms_nats"] = {k: float(np.mean(v)) for k, v in terms.items()}
            info["bound_images"] = int(len(bpd))
            info["bound_seconds"] = time.perf_counter() - t0
        for label, nfe, run in runs:
            t0 = time.perf_counter()
            x, scores = _score(jax.block_until_ready(run()), x_test)
            seconds = time.perf_counter() - t0
            rows.append(dict(model=name, sampler=label, nfe=nfe, seconds=seconds, **scores))
            path = os.path.join(cfg.out_dir, f"{cfg.tag}_{name}_{label.replace(' ', '_').lower()}.png")
            grids[f"{name} {label}"] = plots.save_image_grid(x[:64], path, nrow=8, title=f"{name.upper()}, {label} (NFE {nfe})")
            print(rows[-1], flush=True)
    cols = [("model", "model", ""), ("sampler", "sampler", ""), ("nfe", "NFE", "d"), ("fid", "classifier-FID", ".2f"),
            ("inception_score", "classifier-IS", ".3f"), ("seconds", "sampling s", ".1f")]
    lines = [f"Budget: {cfg.epochs} epochs of batch {cfg.batch_size} on {len(x_train)} digits (score_mnist's), "
             f"{cfg.num_samples} samples per sampler; classifier metrics (not Inception).\n"]
    for name, info in models.items():
        line = (f"- {name.upper()}: {info['params']:,} parameters, median {info['median_img_per_s'] or float('nan'):.0f} img/s, "
                f"final loss {info['final_loss']}")
        if "bound_bits_per_dim" in info:
            line += (f"; variational bound {info['bound_bits_per_dim']:.3f} ± {info['bound_ci95'] or 0:.3f} bits/dim "
                     f"on {info['bound_images']} held-out digits ({info['bound_seconds']:.0f} s)")
        lines.append(line)
    md = "\n".join(lines) + "\n\n" + markdown_table(rows, cols)
    paths = write_results(cfg.out_dir, cfg.tag, {"models": models, "rows": rows, "figures": grids},
                          config=dataclasses.asdict(cfg), markdown=md, metadata=meta)
    print(paths, flush=True)
    return {"models": models, "rows": rows, "paths": paths, "figures": list(grids.values())}


if __name__ == "__main__":
    main()
