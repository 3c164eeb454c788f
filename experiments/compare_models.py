"""Every model family of the library on the same data, loop, budget and metrics (issue 15).

`python -m experiments.compare_models` trains pPCA (closed form), the VAE of seed 000 §2.2.2
(categorical decoder over 256 levels on MNIST, Gaussian on the toy), RealNVP, and four GANs
(minimax, f-GAN with KL, WGAN-GP, MMD-GAN) on two datasets:

- `toy`: the 8-Gaussian ring (`sg.toy.ring_mixture(8)`, radius 4, std 0.5), with ScoreNet's
  counterpart (a time-MLP score trained by DSM on the VP SDE, Euler–Maruyama, 500 steps) and
  BSDE-Gen trained here too;
- `mnist`: the embedded MNIST digits ([0, 1] pixels).  ScoreNet and BSDE-Gen are not
  retrained: their rows are read from the results of their own trained checkpoints
  (results/score_mnist.json + likelihood_mnist.json, results/table1_bsde.json), and the table
  says so.

Every trained family gets the same wall-clock budget per dataset (`sg.train.fit(max_seconds=)`,
compilation included): on MNIST by default the training time of score_mnist's ScoreNet (its
40 epochs, read from results/score_mnist.json), the yardstick the issue names.  Each row
reports parameters, training seconds and steps, sampling seconds per sample (a compiled
second call), classifier-FID/IS on MNIST (the project's classifier, not Inception), NLL in
bits/dim where the model has one (exact: pPCA, RealNVP, ScoreNet's ODE; bounded: the VAE's
importance-weighted bound), and sliced W1 / MMD² to the exact ring on the toy.  Output:
results/compare_models.json/.md, a scatter figure of the toy models and a sample grid per MNIST
model.  Interrupt and rerun: each family resumes from its orbax checkpoint with its spent time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import sdegen_jax as sg
from experiments._cli import parse_config, start_metadata
from sdegen_jax import classic, metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, SampledBatches, load_images
from sdegen_jax.results import markdown_table, write_results

NAME = "compare_models"
FAMILIES = ("ppca", "vae", "realnvp", "gan_minimax", "f_gan_kl", "wgan_gp", "mmd_gan", "scorenet", "bsde_gen")
DATASETS = ("toy", "mnist")
REUSED_ON_MNIST = ("scorenet", "bsde_gen")  # read from their own runs' results, not retrained
LN2 = math.log(2.0)


@dataclasses.dataclass
class Config:
    datasets: tuple[str, ...] = DATASETS
    families: tuple[str, ...] = FAMILIES
    budget_seconds: float = 0.0  # per family on MNIST; 0: score_mnist's training seconds
    toy_budget_seconds: float = 60.0  # per family on the toy ring
    max_steps: int = 1_000_000  # a cap; the wall-clock budget decides
    batch_size: int = 64  # score_mnist's
    toy_batch_size: int = 256
    learning_rate: float = 1e-3  # VAE, RealNVP, toy score model, Adam with clipping
    gan_learning_rate: float = 2e-4  # MNIST GANs (Adam β1 = 0.5); the toy GANs use 1e-3
    ppca_latent: int = 32  # MNIST; 1 on the 2-D toy
    vae_latent: int = 16  # MNIST; 2 on the toy
    vae_levels: int = 256  # intensity levels L of the categorical decoder (256: the 8-bit digits)
    gan_latent: int = 64  # MNIST; 8 on the toy
    num_samples: int = 500  # MNIST samples per model (score_mnist's)
    toy_samples: int = 4000
    toy_sample_steps: int = 500  # Euler–Maruyama steps of the toy score model
    sliced_projections: int = 32  # random directions of the toy's sliced W1
    nll_images: int = 200  # held-out digits for the likelihoods
    iw_samples: int = 64  # importance samples of the VAE bound
    seed: int = 0
    checkpoint_dir: str = "checkpoints/compare_models"
    checkpoint_every: int = 500
    score_results: str = "results/score_mnist.json"
    likelihood_results: str = "results/likelihood_mnist.json"
    bsde_results: str = "results/table1_bsde.json"
    fresh: bool = False
    out_dir: str = "results"
    tag: str = NAME
    progress: bool = True
    quick: bool = False  # a minute or two, for CI

    @classmethod
    def quick_overrides(cls):
        return dict(budget_seconds=2.0, toy_budget_seconds=2.0, max_steps=30, num_samples=16, toy_samples=500,
                    toy_sample_steps=20, sliced_projections=8, nll_images=8, iw_samples=4, checkpoint_every=10,
                    checkpoint_dir="checkpoints/compare_models_quick", tag=f"{NAME}_quick",
                    families=("ppca", "vae", "wgan_gp", "scorenet", "bsde_gen"), vae_levels=16)


def check_config(cfg: Config) -> None:
    for name, values, allowed in (("datasets", cfg.datasets, DATASETS), ("families", cfg.families, FAMILIES)):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise ValueError(f"--{name}: unknown or empty {bad or values}; choose from {allowed}.")
    if cfg.toy_budget_seconds <= 0 or cfg.budget_seconds < 0:
        raise ValueError("budgets must be positive (--budget-seconds 0 means score_mnist's training time).")


class Model(NamedTuple):
    """One family on one dataset.  `training` is a ModelTraining/AdversarialTraining (None for
    closed-form pPCA); `sample(state, key, n)` returns data-space samples of the trained state's
    EMA parameters; `nll_bits(state, key, x)` bits/dim of each held-out x (None where the model
    has no likelihood)."""

    training: Any
    batch_size: int
    sample: Callable
    nll_bits: Callable | None
    nll_kind: str = ""
    fit_seconds: float | None = None  # closed-form fits: the time the fit took


# ----------------------------------------------------------------------------- builders


def _adam(lr, b1=0.9, b2=0.999):
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(lr, b1=b1, b2=b2))


def _module_adapter(graphdef, params, constants):
    return nnx.merge(graphdef, params, constants)


class VAE(nnx.Module):
    """The seed's encoder and decoder in one module (so one train state holds both)."""

    def __init__(self, encoder, decoder):
        self.encoder, self.decoder = encoder, decoder


def build_ppca(cfg, ds, data, mesh, key) -> Model:
    flat = data.reshape(len(data), -1)
    latent = 1 if ds == "toy" else cfg.ppca_latent
    t0 = time.perf_counter()
    model = jax.block_until_ready(classic.fit_ppca(flat, latent))
    fit_seconds = time.perf_counter() - t0
    shape = data.shape[1:]

    def sample(_, k, n):
        return model.sample(k, n).reshape((n, *shape))

    def nll_bits(_, k, x):
        logp = lambda y: model.log_prob(y.reshape(len(y), -1))  # noqa: E731
        if ds == "toy":
            return -logp(x) / (x.shape[1] * LN2)
        return classic.bits_per_dim(k, logp, jnp.round(x * 255.0))

    return Model(None, 0, sample, nll_bits, "exact", fit_seconds)


def build_vae(cfg, ds, data, mesh, key) -> Model:
    shape, dim = data.shape[1:], math.prod(data.shape[1:])
    if ds == "toy":
        latent, decoder, likelihood = 2, classic.GaussianDecoder, classic.gaussian_log_likelihood
        levels = ()
    else:
        latent, decoder, likelihood = cfg.vae_latent, classic.CategoricalDecoder, classic.categorical_log_likelihood
        levels = (cfg.vae_levels,)

    def construct():
        rngs = nnx.Rngs(cfg.seed)
        return VAE(classic.VAEEncoder(dim, latent, rngs=rngs), decoder(latent, dim, *levels, rngs=rngs))

    vae = sg.nets.initializers.build_compiled(construct)

    def loss(k, m, batch):
        return -jnp.mean(classic.elbo(k, batch, m.encoder, m.decoder, likelihood))

    training = train.model_training(vae, loss, mesh, optimizer=_adam(cfg.learning_rate), key=key,
                                    adapter=_module_adapter)

    def sample(state, k, n):
        m = training.model(state.ema_params, state.constants)
        z = jax.random.normal(k, (n, latent))
        if ds == "toy":
            mean, logvar = m.decoder(z)
            return mean + jnp.exp(0.5 * logvar) * jax.random.normal(jax.random.fold_in(k, 1), mean.shape)
        # E[x | z] under the categorical decoder (the usual VAE figure; sampled pixels are speckled).
        probs = m.decoder.probabilities(z)
        return (probs @ jnp.linspace(0.0, 1.0, probs.shape[-1])).reshape((n, *shape))

    def nll_bits(state, k, x):
        m = training.model(state.ema_params, state.constants)
        iw = classic.importance_weighted_bound(k, x, m.encoder, m.decoder, likelihood, cfg.iw_samples, batch_size=8)
        # A discrete model on MNIST: bits/dim of the digits quantised to L levels (8-bit at L = 256).
        return -iw / (dim * LN2)

    return Model(training, cfg.batch_size if ds == "mnist" else cfg.toy_batch_size, sample, nll_bits, "IW bound")


def build_realnvp(cfg, ds, data, mesh, key) -> Model:
    shape = data.shape[1:]
    hidden = (64, 64) if ds == "toy" else (256, 256)
    flow = sg.nets.initializers.build_compiled(lambda: classic.RealNVP(shape, num_couplings=8, hidden=hidden, permute=ds == "mnist",
                                                rngs=nnx.Rngs(cfg.seed)))

    if ds == "toy":
        def loss(k, m, batch):
            return -jnp.mean(m.log_prob(batch))
    else:
        def loss(k, m, batch):  # uniform dequantisation of the 8-bit digits (seed 000 §2.1.1)
            return jnp.mean(classic.bits_per_dim(k, m.log_prob, jnp.round(batch * 255.0)))

    training = train.model_training(flow, loss, mesh, optimizer=_adam(cfg.learning_rate), key=key,
                                    adapter=_module_adapter)

    def sample(state, k, n):
        x = training.model(state.ema_params, state.constants).sample(k, n)
        return x if ds == "toy" else jnp.clip(x, 0.0, 1.0)

    def nll_bits(state, k, x):
        m = training.model(state.ema_params, state.constants)
        if ds == "toy":
            return -m.log_prob(x) / (x.shape[1] * LN2)
        return classic.bits_per_dim(k, m.log_prob, jnp.round(x * 255.0))

    return Model(training, cfg.batch_size if ds == "mnist" else cfg.toy_batch_size, sample, nll_bits, "exact")


GAN_OBJECTIVES = {
    "gan_minimax": (classic.minimax_objective, 1),
    "f_gan_kl": (lambda: classic.f_gan_objective("kl"), 1),
    "wgan_gp": (classic.wgan_gp_objective, 5),
    "mmd_gan": (classic.mmd_gan_objective, 1),
}


def build_gan(cfg, ds, data, mesh, key, family) -> Model:
    make_objective, n_critic = GAN_OBJECTIVES[family]
    if ds == "toy":
        gen = sg.nets.initializers.build_compiled(lambda: classic.MLPGenerator(8, 2, hidden=(64, 64), rngs=nnx.Rngs(cfg.seed)))
        critic = sg.nets.initializers.build_compiled(lambda: classic.MLPCritic(2, hidden=(64, 64), rngs=nnx.Rngs(cfg.seed + 1)))
        opt = lambda: _adam(1e-3, 0.5, 0.9)  # noqa: E731  (as tests/test_classic_gan_training.py)
        batch = cfg.toy_batch_size * n_critic
    else:
        gen = sg.nets.initializers.build_compiled(lambda: classic.ConvGenerator(cfg.gan_latent, rngs=nnx.Rngs(cfg.seed)))
        critic = sg.nets.initializers.build_compiled(lambda: classic.ConvCritic(rngs=nnx.Rngs(cfg.seed + 1)))
        b2 = 0.9 if family == "wgan_gp" else 0.999  # Gulrajani et al.; Radford et al. (DCGAN)
        opt = lambda: _adam(cfg.gan_learning_rate, 0.5, b2)  # noqa: E731
        batch = cfg.batch_size * n_critic
    training = train.adversarial_training(gen, critic, make_objective(), mesh, generator_optimizer=opt(),
                                          critic_optimizer=opt(), key=key, n_critic=n_critic)
    return Model(training, batch, lambda state, k, n: training.sample(state.ema_params, k, n, state.constants), None)


def build_scorenet_toy(cfg, ds, data, mesh, key) -> Model:
    sde = sg.sde.VPSDE()
    model = sg.nets.initializers.build_compiled(lambda: sg.nets.TimeMLP(2, features=(128,) * 3, out_features=2,
                                                 marginal_std=lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(cfg.seed)))
    training = train.dsm_training(model, sde, mesh, optimizer=train.make_optimizer(cfg.learning_rate, warmup_steps=100),
                                  key=key)

    def sample(state, k, n):
        score_fn = training.score_fn(state.ema_params, state.constants)
        return sg.sample(k, sde, score_fn, (2,), n, method="euler_maruyama", steps=cfg.toy_sample_steps)

    def nll_bits(state, k, x):
        score_fn = training.score_fn(state.ema_params, state.constants)
        like = sg.likelihood.log_likelihood(k, sde, score_fn, x, divergence="exact")
        return -like.logp / (x.shape[1] * LN2)

    return Model(training, cfg.toy_batch_size, sample, nll_bits, "exact (ODE)")


def build_bsde_toy(cfg, ds, data, mesh, key) -> Model:
    fbsde = sg.bsde.FBSDE(4, 4, 2, num_steps=20)
    nets = sg.nets.initializers.build_compiled(lambda: sg.nets.BSDEGenNets(4, 4, 2, hidden=(64, 64, 64), dropout_rate=0.0, rngs=nnx.Rngs(cfg.seed)))
    training = train.bsde_training(nets, fbsde, mesh, optimizer=train.make_rmsprop(3e-3), key=key, ema_decay=0.0)

    def sample(state, k, n):
        fns = training.fns(state.ema_params, state.constants)
        return sg.bsde.generate(k, fbsde, fns.initial_fn, fns.control_fn, n=n)

    return Model(training, cfg.toy_batch_size, sample, None)


def build(cfg, ds, family, data, mesh, key) -> Model:
    if family in GAN_OBJECTIVES:
        return build_gan(cfg, ds, data, mesh, key, family)
    builders = {"ppca": build_ppca, "vae": build_vae, "realnvp": build_realnvp, "scorenet": build_scorenet_toy,
                "bsde_gen": build_bsde_toy}
    return builders[family](cfg, ds, data, mesh, key)


# ----------------------------------------------------------------------------- one row


def _train(cfg, ds, family, model: Model, batches, mesh, budget) -> tuple[Any, dict]:
    if model.training is None:  # closed form: fitted when built
        return None, {"train_seconds": model.fit_seconds, "steps": 0}
    ckpt_dir = os.path.join(cfg.checkpoint_dir, ds, family)
    ckpt = train.Checkpointer(ckpt_dir, max_to_keep=2)
    log_path = os.path.join(ckpt_dir, "log.jsonl")
    state = train.fit(model.training.state, model.training.step, batches, num_steps=cfg.max_steps, mesh=mesh,
                      checkpointer=ckpt, checkpoint_every=cfg.checkpoint_every, log_path=log_path, log_every=50,
                      progress=cfg.progress, description=f"{cfg.tag} {ds} {family}", max_seconds=budget)
    ckpt.close()
    log = train.read_log(log_path, missing_ok=True)
    info = {"train_seconds": log[-1]["train_seconds"] if log else None, "steps": int(state.step),
            "final_loss": log[-1]["loss"] if log else None}
    if log and "generator_loss" in log[-1]:
        info["final_generator_loss"] = log[-1]["generator_loss"]
    return state, info


def evaluate(cfg, ds, model: Model, state, x_eval, x_test, key) -> tuple[dict, np.ndarray]:
    n = cfg.toy_samples if ds == "toy" else cfg.num_samples
    k_warm, k_sample, k_nll, k_metric = jax.random.split(key, 4)
    sample = jax.jit(lambda k: model.sample(state, k, n))
    jax.block_until_ready(sample(k_warm))  # compile
    t0 = time.perf_counter()
    x = np.asarray(jax.block_until_ready(sample(k_sample)))
    row = {"sample_seconds_per_sample": (time.perf_counter() - t0) / n}
    if model.nll_bits is not None:
        # one compiled program (the likelihoods are library functions, eager outside a jit)
        bits = np.asarray(jax.jit(lambda k, x: model.nll_bits(state, k, x))(k_nll, jnp.asarray(x_eval)))
        row.update(nll_bits_per_dim=float(bits.mean()), nll_ci95=float(1.96 * bits.std(ddof=1) / np.sqrt(len(bits))),
                   nll_kind=model.nll_kind)
    if ds == "toy":
        ring = toy_target()
        x = np.where(np.isfinite(x), x, 1e3)
        row["sliced_w1"] = metrics.sliced_wasserstein1_to_mixture(x, ring, k_metric, num_projections=cfg.sliced_projections)
        truth = ring.sample(jax.random.fold_in(k_metric, 1), n)
        row["mmd2"] = float(sg.losses.mmd2(jnp.asarray(x), truth, unbiased=True))
    else:
        x = np.clip(x, 0.0, 1.0)
        row["fid"] = metrics.classifier_fid(x, x_test)
        row["inception_score"] = metrics.classifier_inception_score(x)
    return row, x


def toy_target():
    return sg.toy.ring_mixture(8, radius=4.0, std=0.5)


def reused_mnist_row(cfg, family) -> dict:
    """ScoreNet / BSDE-Gen on MNIST from the results of their own trained checkpoints."""
    def load(path):
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    if family == "scorenet":
        score, like = load(cfg.score_results), load(cfg.likelihood_results)
        if score is None:
            return {"note": f"not available: run `python -m experiments.score_mnist` ({cfg.score_results} missing)"}
        em = score["samplers"]["euler_maruyama"]
        row = {"params": score["params"], "train_seconds": score["train_seconds_this_run"], "steps": score["steps"],
               "fid": em["fid"], "inception_score": em["is"],
               "sample_seconds_per_sample": em["seconds"] / score["config"]["num_samples"],
               "note": f"reused: {cfg.score_results} (commit {score['metadata']['git']['commit'][:7]}), "
                       f"Euler–Maruyama {em['nfe']} NFE"}
        if like is not None:
            r = like["rows"][0]
            row.update(nll_bits_per_dim=r["bpd"], nll_ci95=r["ci95"], nll_kind="exact (ODE)")
            row["note"] += f"; NLL: {cfg.likelihood_results} (commit {like['metadata']['git']['commit'][:7]})"
        return row
    bsde = load(cfg.bsde_results)
    if bsde is None:
        return {"note": f"not available: run `python -m experiments.table1` ({cfg.bsde_results} missing)"}
    return {"params": bsde["params"], "train_seconds": bsde["wall_seconds_per_epoch_this_run"] * bsde["epochs_this_run"],
            "steps": bsde["steps"], "fid": bsde["final"]["fid"], "inception_score": bsde["final"]["is"],
            "note": f"reused: {cfg.bsde_results} (commit {bsde['metadata']['git']['commit'][:7]}), "
                    f"{bsde['epochs']} epochs; sampling time not recorded"}


def yardstick_seconds(cfg) -> tuple[float, str]:
    if cfg.budget_seconds > 0:
        return cfg.budget_seconds, "--budget-seconds"
    if os.path.exists(cfg.score_results):
        with open(cfg.score_results) as f:
            score = json.load(f)
        return float(score["train_seconds_this_run"]), (
            f"score_mnist's training time ({score['epochs']} epochs of batch {score['config']['batch_size']}, "
            f"{cfg.score_results})")
    raise FileNotFoundError(f"{cfg.score_results} is missing: run `python -m experiments.score_mnist` or pass "
                            "--budget-seconds.")


# ----------------------------------------------------------------------------- main


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    check_config(cfg)
    meta = start_metadata(NAME, argv)
    if cfg.fresh and os.path.isdir(cfg.checkpoint_dir):
        shutil.rmtree(cfg.checkpoint_dir)
    os.makedirs(cfg.out_dir, exist_ok=True)
    mesh = train.make_mesh()
    key = jax.random.key(cfg.seed)
    rows, figures, budgets = [], {}, {}
    for d_i, ds in enumerate(cfg.datasets):
        if ds == "toy":
            ring = toy_target()
            data = np.asarray(ring.sample(jax.random.fold_in(key, 10_000), 16384))
            x_eval = np.asarray(ring.sample(jax.random.fold_in(key, 10_001), 500 if not cfg.quick else 64))
            x_test = None
            budget, why = cfg.toy_budget_seconds, "--toy-budget-seconds"
        else:
            data, labels = load_images("mnist_embedded", "train", scale="unit")
            x_test, _ = load_images("mnist_embedded", "test", scale="unit")
            x_eval = x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))[: cfg.nll_images]]
            budget, why = yardstick_seconds(cfg)
        budgets[ds] = {"seconds": budget, "source": why}
        panels = []
        for f_i, family in enumerate(cfg.families):
            if ds == "mnist" and family in REUSED_ON_MNIST:
                rows.append({"dataset": ds, "family": family, **reused_mnist_row(cfg, family)})
                print(rows[-1], flush=True)
                continue
            k_build, k_eval = jax.random.split(jax.random.fold_in(key, 100 * d_i + f_i))
            model = build(cfg, ds, family, data, mesh, jax.random.key_data(k_build))
            if ds == "toy":
                batches = SampledBatches(ring.sample, model.batch_size or 1, seed=cfg.seed)
            else:
                batches = ImagesOnly(BatchIterator(data, labels, model.batch_size or 1, seed=cfg.seed))
            state, info = _train(cfg, ds, family, model, batches, mesh, budget)
            info["params"] = _params_count(model, state, data, cfg, ds)
            scores, x = evaluate(cfg, ds, model, state, x_eval, x_test, k_eval)
            rows.append({"dataset": ds, "family": family, **info, **scores})
            print(rows[-1], flush=True)
            if ds == "toy":
                panels.append((family, x))
            else:
                path = os.path.join(cfg.out_dir, f"{cfg.tag}_mnist_{family}.png")
                figures[f"mnist {family}"] = plots.save_image_grid(x[:64], path, nrow=8, title=f"{family} (MNIST)")
        if ds == "toy" and panels:
            xs, ys, density = plots.grid_density_2d(ring.log_prob, (-6.5, 6.5), (-6.5, 6.5), 120)
            path = os.path.join(cfg.out_dir, f"{cfg.tag}_toy.png")
            plots.scatter_2d_figure(panels, xs, ys, density, ncols=5, max_points=2000, filename=path,
                                    title="8-Gaussian ring: samples of each family (contours: the exact density)")
            figures["toy"] = path
    md = _markdown(cfg, rows, budgets)
    paths = write_results(cfg.out_dir, cfg.tag, {"budgets": budgets, "rows": rows, "figures": figures},
                          config=dataclasses.asdict(cfg), markdown=md, metadata=meta)
    print(paths, flush=True)
    return {"rows": rows, "budgets": budgets, "paths": paths, "figures": figures}


def _params_count(model: Model, state, data, cfg, ds) -> int:
    if state is None:  # pPCA: W (D × M), b (D), σ²
        d = math.prod(data.shape[1:])
        return d * (1 if ds == "toy" else cfg.ppca_latent) + d + 1
    return train.count_params(state.params)  # a GAN's {"generator", "critic"}: both players


def _markdown(cfg, rows, budgets) -> str:
    parts = []
    for ds in cfg.datasets:
        b = budgets[ds]
        sel = [r for r in rows if r["dataset"] == ds]
        cols = [("family", "family", ""), ("params", "parameters", ",d"), ("train_seconds", "train s", ".0f"),
                ("steps", "steps", "d"), ("sample_seconds_per_sample", "sample ms/sample", ".3g"),
                ("nll_bits_per_dim", "NLL bits/dim", ".3f"), ("nll_kind", "NLL", "")]
        if ds == "toy":
            cols += [("sliced_w1", "sliced W1", ".3f"), ("mmd2", "MMD²", ".4f")]
            title = (f"## Toy: 8-Gaussian ring\n\nBudget: {b['seconds']:.0f} s of training per family "
                     f"({b['source']}); {cfg.toy_samples} samples; sliced W1 to the exact mixture ({cfg.sliced_projections} directions), "
                     f"unbiased MMD² (multiscale kernel) against as many exact samples; NLL on held-out draws.")
        else:
            cols += [("fid", "classifier-FID", ".2f"), ("inception_score", "classifier-IS", ".3f")]
            title = (f"## MNIST (embedded digits)\n\nBudget: {b['seconds']:.0f} s of training per family "
                     f"({b['source']}); {cfg.num_samples} samples; classifier metrics (not Inception); "
                     f"NLL on {cfg.nll_images} held-out digits (VAE: importance-weighted bound, K = {cfg.iw_samples}, "
                     f"categorical over {cfg.vae_levels} levels; its samples are E[x | z]).")
        for r in sel:
            if "sample_seconds_per_sample" in r:
                r["sample_ms"] = 1e3 * r["sample_seconds_per_sample"]
        cols = [(("sample_ms", "sample ms/sample", ".3g") if c[0] == "sample_seconds_per_sample" else c) for c in cols]
        notes = [f"- {r['family']}: {r['note']}" for r in sel if r.get("note")]
        parts.append(title + "\n\n" + markdown_table(sel, cols) + ("\n" + "\n".join(notes) if notes else ""))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
