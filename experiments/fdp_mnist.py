"""Functional diffusion on MNIST 32×32 (seed 003): Tables 5.1, 5.2, 5.3 and the meta-learning
baseline, each a set of cells trained under the same budget and sampled with the same NFE.

- `--table 5.2`: a U-ViT x0-denoiser (seed 003 §3.8.4) under the driftless SDE dX = dW,
  Cov(W_t) = t R (eq. 4.13), T in {10, 20, 100}, with R̂ estimated from the training digits
  (eq. 4.28, mean removed; the prior is N(x̄, T R)) and with R = I: six cells.  R̂ models are
  also sampled with the horizon scaled by 1.5 (§5.3: from N(x̄, 1.5 T R̂), the denoiser then
  sees t > T).
- `--table 5.1`: the general functional SDE of Franzese et al. (eq. 3.58, `FourierSDE`, T = 1,
  uniform training times) with white noise (b = r = 1 per mode) and the reference code's
  coloured noise (`reference_coefficients`), for the modulation network (eq. 4.3, a ViT
  encoder of x_t giving a SIREN's shift modulations) and the U-ViT: four cells.
- `--table 5.3`: the driftless SDE with R̂ and the VE best practices (§5.3.2): log-uniform
  training times and a geometric sampling grid (`time_geometric`), T in {20, 100, 1000}.
- `--table meta`: the modulation network against the meta-learning baseline (Franzese et al.;
  eq. 4.1–4.2: 3 inner SGD steps from a learned start, Meta-SGD rates) under the general SDE
  with coloured noise, at a budget meant as the same wall-clock: the baseline's step (second-order
  gradients through 3 SIREN fits) was timed at ≈ 7 of the modulation network's on one 2-CPU
  machine, so it gets `meta_train_steps` = 220 steps against 1500 (on another machine a baseline
  step took ≈ 27 s, so compare the s/step column); denoising MSE at several t, the training time
  per step, classifier-FID/IS.

Every cell is sampled with a predictor–corrector: Algorithm 3's Euler step (driftless) or the
reverse-diffusion step (general SDE), one Langevin corrector step per grid step (preconditioned
by the noise covariance), ending with the denoiser's output (`denoise=True`).  The modulation
network (and with `--fine-grid-meta` the meta baseline, whose 3 inner SGD steps per NFE make
it ≈ 45 min more on 2 CPUs) is also sampled on a 64×64 grid (the SDE carried there with its
covariance resampled spectrally, `FourierSDE.on_grid`; the denoiser reads x_t resampled to
32×32 and answers at the 64×64 coordinates, `sg.nets.denoiser_on_grid`), and completes held-out
32×32 digits at 64×64 (super-resolution: the 32×32 grid's modes imputed in the Fourier basis,
`sg.controllable.impute(..., in_state=True)`).

Data: the embedded 4,500 training digits (or `--dataset mnist` when a prepared TFDS copy
exists), zero-padded 28 → 32 and scaled to [−1, 1].  Metrics: classifier-FID against the
held-out digits and classifier-IS, with the project's MNIST classifier (samples center-cropped
to 28×28, 64×64 samples resampled to 32×32 first; NOT comparable with the thesis's Inception
FID, docs/metrics.md); denoising MSE of held-out digits at t = 0.01, 0.1, 0.5 and 1 × T.

Cells resume from their checkpoints (`checkpoints/fdp_mnist/<cell>`), and a finished cell's
figures are kept in `results/fdp_cells/<cell>.json` with the provenance of the run that made
them, so an interrupted table completes on the next run, on this machine or (the cell files
being committed with the results) on a fresh checkout; sampling saves its finished blocks of
`--chunk-size` samples there too and resumes at the next; a cell that two tables share (the
modulation network with coloured noise in 5.1 and meta) is trained once.

    python -m experiments.fdp_mnist --table 5.2            # the full table (hours on 2 CPUs)
    python -m experiments.fdp_mnist --table 5.1 --quick    # about a minute (CI)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments._cli import check_resumable, command_for, fast_compile_when_quick, parse_config, settings_key, start_metadata
from sdegen_jax import functional as F
from sdegen_jax import metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.results import markdown_table, write_results

TABLES = ("5.1", "5.2", "5.3", "meta")
COVARIANCES = ("estimated", "identity")
NOISES = ("white", "coloured")
MODELS = ("uvit", "modulation", "meta")
MSE_FRACTIONS = (0.01, 0.1, 0.5, 1.0)
# Seed 003's Inception FIDs (not comparable with ours: a different network, docs/metrics.md).
THESIS_FID = {
    "5.1": {"modulation_white": 22.26, "modulation_coloured": 26.01, "uvit_white": 14.88, "uvit_coloured": 13.00},
    "5.2": {"Rhat_T10": 19.97, "Rhat_T20": 22.24, "Rhat_T100": 63.52, "I_T10": 40.99, "I_T20": 23.56, "I_T100": 140.63},
    "5.3": {"VE_T20": 43.83, "VE_T100": 41.38, "VE_T1000": 47.19},
    "meta": {},
}


@dataclasses.dataclass
class Config:
    table: str = "5.2"  # which table of seed 003: "5.1", "5.2", "5.3" or "meta"
    dataset: str = "mnist_embedded"  # or "mnist" (a prepared TFDS copy)
    horizons: tuple[float, ...] = ()  # T of the driftless SDE (default: 10 20 100 for 5.2, 20 100 1000 for 5.3)
    covariances: tuple[str, ...] = COVARIANCES  # Table 5.2: "estimated" (R̂, eq. 4.28) and/or "identity" (R = I)
    noises: tuple[str, ...] = NOISES  # Table 5.1: "white" and/or "coloured" noise of the general SDE
    models: tuple[str, ...] = ("modulation", "uvit")  # Table 5.1's denoisers
    train_steps: int = 1500  # the training budget of every cell
    batch_size: int = 64
    learning_rate: float = 5e-4
    warmup_steps: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    eps: float = 1e-3  # the smallest training and sampling time
    time_sampling: str = "log_uniform"  # Table 5.2's training times (5.1/meta: uniform; 5.3: log-uniform)
    patch_size: int = 4
    dim: int = 128  # U-ViT width, and the modulation network's ViT width
    depth: int = 4
    num_heads: int = 4
    latent_dim: int = 64  # the modulation network's latent modulation vector
    siren_width: int = 128
    siren_depth: int = 7
    inner_steps: int = 3  # the meta-learning baseline's inner SGD steps
    inner_lr: float = 1e-2  # its initial inner learning rate
    learn_inner_lr: bool = True  # Meta-SGD: inner rates learned per modulation (False: fixed)
    inner_lr_range: tuple[float, float] = (0.0, 1.0)  # learned rates are clipped to this range (functa's)
    meta_train_steps: int = 220  # the baseline's steps: the modulation cell's wall-clock budget (0: train_steps)
    # The baseline's outer Adam rate (0: learning_rate): at 5e-4 its hidden SIREN weights double and its gradient
    # norm grows 1e4-fold within 250 steps; at 5e-5 it trains stably to a lower loss (results/fdp_meta_stability.md).
    meta_learning_rate: float = 5e-5
    sample_steps: int = 100  # grid steps; NFE = 2 (steps − 1) + 1 with the corrector and the denoised end
    corrector_steps: int = 1
    snr: float | None = None  # corrector snr (default: the SDE's, 0.16 driftless, 0.01 general)
    horizon_scale: float = 1.5  # also sample R̂ models of Table 5.2 from scale × T (0 to skip)
    num_samples: int = 256
    fine_grid: int = 64  # also sample coordinate denoisers at this resolution, and super-resolve (0: skip)
    fine_grid_meta: bool = False  # the meta baseline too (its 3 inner SGD steps per NFE: ≈ 45 min more here)
    fine_samples: int = 64
    mse_images: int = 256  # held-out digits for the denoising MSE
    chunk_size: int = 64  # denoiser evaluations per chunk while sampling; samples are drawn and saved this many at a time
    seed: int = 0
    checkpoint_dir: str = "checkpoints/fdp_mnist"
    checkpoint_every: int = 250  # at most; every cell saves at least 4 times
    log_every: int = 25
    fresh: bool = False  # delete the checkpoints and cell results first
    progress: bool = True
    out_dir: str = "results"
    quick: bool = False  # about a minute, for CI

    @classmethod
    def quick_overrides(cls) -> dict:
        return dict(horizons=(10.0,), covariances=("estimated",), noises=("coloured",), models=("modulation",), train_steps=10, batch_size=16, dim=32, depth=2, num_heads=2,
                    latent_dim=16, siren_width=32, siren_depth=3, sample_steps=4, num_samples=16, fine_grid=48,
                    fine_samples=8, mse_images=16, meta_train_steps=10, chunk_size=8, checkpoint_every=5, log_every=5,
                    checkpoint_dir="checkpoints/fdp_mnist_quick")

    @property
    def tag(self) -> str:
        # The names: fdp_table5_1 / 5_2 / 5_3 and fdp_meta.
        stem = "fdp_meta" if self.table == "meta" else f"fdp_table{self.table.replace('.', '_')}"
        return stem + ("_quick" if self.quick else "")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One trained model of a table: its SDE, denoiser, training times and sampling grid."""

    name: str
    sde: str  # "driftless" or "general" (FourierSDE)
    noise: str  # driftless: "estimated" | "identity"; general: "white" | "coloured"
    T: float
    model: str  # "uvit" | "modulation" | "meta"
    time_sampling: str
    grid: str = "uniform"  # the sampling time grid: "uniform" or "geometric"
    horizon_scale: float = 0.0
    steps: int = 0  # training steps (0: the table's train_steps)


def table_cells(cfg: Config) -> list[Cell]:
    if cfg.table == "5.2":
        return [Cell(f"{'Rhat' if c == 'estimated' else 'I'}_T{T:g}", "driftless", c, T, "uvit", cfg.time_sampling,
                     horizon_scale=cfg.horizon_scale if c == "estimated" else 0.0)
                for c in cfg.covariances for T in (cfg.horizons or (10.0, 20.0, 100.0))]
    if cfg.table == "5.3":
        return [Cell(f"VE_T{T:g}", "driftless", "estimated", T, "uvit", "log_uniform", "geometric")
                for T in (cfg.horizons or (20.0, 100.0, 1000.0))]
    if cfg.table == "5.1":
        return [Cell(f"{m}_{n}", "general", n, 1.0, m, "uniform") for m in cfg.models for n in cfg.noises]
    return [Cell("modulation_coloured", "general", "coloured", 1.0, "modulation", "uniform"),
            Cell("meta_coloured", "general", "coloured", 1.0, "meta", "uniform", steps=cfg.meta_train_steps)]


def check_config(cfg: Config) -> None:
    if cfg.table not in TABLES:
        raise ValueError(f"unknown table {cfg.table!r}; this experiment reproduces {TABLES}.")
    for name, values, allowed in (("covariance", cfg.covariances, COVARIANCES), ("noise", cfg.noises, NOISES),
                                  ("model", cfg.models, MODELS)):
        for v in values:
            if v not in allowed:
                raise ValueError(f"unknown {name} {v!r}; choose from {allowed}.")
    if cfg.meta_learning_rate < 0:
        raise ValueError(f"meta_learning_rate must be >= 0 (0: the meta baseline uses learning_rate), got {cfg.meta_learning_rate}.")
    if cfg.fine_grid and cfg.fine_grid < 32:
        raise ValueError(f"fine_grid must be 0 (skip) or a grid of at least 32 pixels, got {cfg.fine_grid}.")


def make_sde(cell: Cell, x_train, hw=None):
    """The cell's SDE on the 32×32 grid, or carried to the finer grid `hw` (general SDE only)."""
    shape = x_train.shape[1:]
    mean = jnp.asarray(x_train.mean(axis=0))
    if cell.sde == "driftless":
        R = F.estimate_covariance(x_train) if cell.noise == "estimated" else None
        return F.DriftlessSDE(shape, R, prior_mean=mean, T=cell.T)
    def coefficients(h, w):  # (b, r): the reference code's coloured noise, or white (b = r = 1 per mode)
        return F.reference_coefficients(h, w) if cell.noise == "coloured" else (jnp.ones((h, w // 2 + 1)),) * 2

    sde = F.FourierSDE(shape, *coefficients(*shape[:2]), prior_mean=mean, T=cell.T)
    if hw is None:
        return sde
    # The same field on the finer grid: per-frequency rates b, and the noise spectrum of the
    # finer grid beyond the old band (×(H'W'/HW): orthonormal coefficients of the same function).
    b_fine, r_fine = coefficients(*hw)
    return sde.on_grid(hw, b_fine, r_fine * (hw[0] * hw[1]) / (shape[0] * shape[1]))


def input_scale(sde, data_var: float):
    """1/sqrt(E x_t²) per pixel: a(t)² · data variance + the mean noise variance s(t)²."""
    def scale(t):
        a, s = jax.vmap(lambda ti: jax.tree_util.tree_map(lambda c: jnp.mean(jnp.broadcast_to(c, sde.shape) ** 2),
                                                          sde.marginal_coeffs(ti)))(t)
        return jax.lax.rsqrt(a * data_var + s)
    return scale


def make_model(cfg: Config, cell: Cell, sde, data_var: float):
    return sg.nets.initializers.build_compiled(lambda: _construct_model(cfg, cell, sde, data_var))


def _construct_model(cfg: Config, cell: Cell, sde, data_var: float):
    size, channels = sde.shape[0], sde.shape[-1]
    rngs = nnx.Rngs(cfg.seed)
    if cell.model == "uvit":
        return sg.nets.UViT(size, channels, patch_size=cfg.patch_size, dim=cfg.dim, depth=cfg.depth, num_heads=cfg.num_heads,
                            input_scale=input_scale(sde, data_var), rngs=rngs)
    if cell.model == "modulation":
        return sg.nets.ModulationDenoiser(size, channels, latent_dim=cfg.latent_dim, siren_width=cfg.siren_width,
                                          siren_depth=cfg.siren_depth, vit_dim=cfg.dim, vit_depth=cfg.depth,
                                          num_heads=cfg.num_heads, patch_size=cfg.patch_size,
                                          input_scale=input_scale(sde, data_var), rngs=rngs)
    return sg.nets.MetaSirenDenoiser(size, channels, inner_steps=cfg.inner_steps, inner_lr=cfg.inner_lr,
                                     learn_inner_lr=cfg.learn_inner_lr, inner_lr_range=cfg.inner_lr_range,
                                     siren_width=cfg.siren_width, siren_depth=cfg.siren_depth, rngs=rngs)


def sampler(cfg: Config, cell: Cell):
    predictor = F.DriftlessEuler() if cell.sde == "driftless" else sg.samplers.ReverseDiffusion()
    pc = sg.samplers.PredictorCorrector(predictor=predictor, snr=cfg.snr, corrector_steps=cfg.corrector_steps)
    return sg.samplers.OnSchedule(pc, sg.samplers.time_geometric) if cell.grid == "geometric" else pc


META_ONLY = ("inner_steps", "inner_lr", "learn_inner_lr", "inner_lr_range", "meta_learning_rate")  # the meta baseline's settings
# What a cell's trained parameters depend on (not the step count: a longer run continues a shorter one).
TRAINING_FIELDS = ("dataset", "batch_size", "learning_rate", "warmup_steps", "grad_clip", "ema_decay", "eps", "patch_size",
                   "dim", "depth", "num_heads", "latent_dim", "siren_width", "siren_depth", *META_ONLY, "seed", "quick")


def _training_settings(cfg: Config, cell: Cell) -> dict:
    """The settings a cell's checkpoints were trained with (`_cli.check_resumable`)."""
    own = {k: v for k, v in _signature(cfg, cell).items() if k in TRAINING_FIELDS}
    return {**own, "cell": {k: v for k, v in dataclasses.asdict(cell).items() if k not in ("grid", "horizon_scale", "steps")}}


def _signature(cfg: Config, cell: Cell) -> dict:
    """What a cell's figures depend on (its cache is reused only when these are equal)."""
    skip = ("table", "progress", "fresh", "out_dir", "checkpoint_dir", "log_every", "horizons", "covariances", "noises",
            "models", "time_sampling", "horizon_scale")
    if cell.model == "uvit":
        skip += ("latent_dim", "siren_width", "siren_depth", *META_ONLY)
    if cell.model != "meta":
        skip += (*META_ONLY, "meta_train_steps", "fine_grid_meta")
    return json.loads(json.dumps({**{k: v for k, v in dataclasses.asdict(cfg).items() if k not in skip},
                                  "cell": dataclasses.asdict(cell)}))


def sample_blocks(cfg: Config, cell: Cell, sde, denoiser, n: int, suffix: str, step: int) -> tuple[np.ndarray, int, float]:
    """n samples drawn `chunk_size` at a time (block i from `fold_in(key, i)`), each finished
    block saved under the cell's checkpoint folder, keyed by the training step and the cell's
    signature: an interrupted sampling (the meta baseline's takes > 1 h on 2 CPUs) resumes at
    its next block.  Returns the samples, the NFE and the summed sampling seconds of all blocks."""
    folder = os.path.join(cfg.checkpoint_dir, cell.name, "samples",
                          f"samples{suffix}_step{step}_{settings_key(_signature(cfg, cell))}")
    score, method, key = F.score_from_denoiser(sde, denoiser), sampler(cfg, cell), jax.random.key(cfg.seed + 1)
    blocks = -(-n // cfg.chunk_size)
    size = -(-n // blocks)  # equal blocks: one compiled program
    xs, nfe, seconds = [], 0, 0.0
    for i in range(blocks):
        path = os.path.join(folder, f"block{i:04d}.npz")
        if os.path.exists(path):
            with np.load(path) as z:
                x, nfe, sec = z["x"], int(z["nfe"]), float(z["seconds"])
        else:
            t1 = time.perf_counter()
            x, info = sg.sample_with_info(jax.random.fold_in(key, i), sde, score, sde.shape, size, method=method,
                                          steps=cfg.sample_steps, eps=cfg.eps, denoise=True, chunk_size=cfg.chunk_size)
            x, nfe, sec = np.asarray(x), int(info.nfe), time.perf_counter() - t1
            if jax.process_index() == 0:
                os.makedirs(folder, exist_ok=True)
                np.savez(path + ".tmp.npz", x=x, nfe=nfe, seconds=sec)
                os.replace(path + ".tmp.npz", path)
            if cfg.progress:
                print(f"{cell.name}{suffix}: sampled block {i + 1}/{blocks} in {sec:.0f} s", flush=True)
        xs.append(x)
        seconds += sec
    return np.concatenate(xs)[:n], nfe, seconds


def sample_and_score(cfg: Config, cell: Cell, sde, denoiser, x_test, suffix: str, title: str, n: int, step: int) -> dict:
    x, nfe, sample_s = sample_blocks(cfg, cell, sde, denoiser, n, suffix, step)
    x = np.clip(x, -1.0, 1.0)
    grid = os.path.join(cfg.out_dir, f"{cfg.tag}_{cell.name}{suffix}.png")
    plots.save_image_grid(x[:64], grid, nrow=8, scale="symmetric", title=f"{title} (NFE {nfe})")
    coarse = x if x.shape[1] == x_test.shape[1] else resampled(x, x_test.shape[1:3])
    coarse = np.clip(coarse, -1.0, 1.0)
    return {f"fid{suffix}": metrics.classifier_fid(coarse, x_test, scale="symmetric"),
            f"is{suffix}": metrics.classifier_inception_score(coarse, scale="symmetric"),
            f"nfe{suffix}": nfe, f"sample_s{suffix}": sample_s, f"grid{suffix}": grid}


def resampled(images, hw) -> np.ndarray:
    """Images (N, H, W, C) resampled spectrally to the grid hw (`F.resample`), in one compiled call."""
    return np.asarray(jax.jit(jax.vmap(lambda im: F.resample(im, hw)))(jnp.asarray(images)))


def super_resolution(cfg: Config, cell: Cell, sde_fine, denoiser_fine, x_test) -> dict:
    """Held-out 32×32 digits completed at the fine grid: their modes imputed in the Fourier basis."""
    hw, coarse_hw = sde_fine.shape[:2], x_test.shape[1:3]
    low = jnp.asarray(x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))[: cfg.fine_samples]])
    known = jnp.asarray(resampled(low, hw))
    mask = jnp.asarray(F.band_mask(hw, coarse_hw))
    t1 = time.perf_counter()
    x, info = sg.controllable.impute(jax.random.key(cfg.seed + 3), sde_fine, F.score_from_denoiser(sde_fine, denoiser_fine),
                                     known, mask, method=sampler(cfg, cell), steps=cfg.sample_steps, eps=cfg.eps,
                                     chunk_size=cfg.chunk_size, in_state=True)
    x = np.clip(np.asarray(x), -1.0, 1.0)
    sample_s = time.perf_counter() - t1
    n = min(32, len(x))
    # rows: the 32×32 digit (pixels repeated) over its completion
    rep = np.repeat(np.repeat(np.asarray(low[:n]), hw[0] // coarse_hw[0], axis=1), hw[1] // coarse_hw[1], axis=2)
    pad = hw[0] - rep.shape[1]
    rep = np.pad(rep, ((0, 0), (0, pad), (0, hw[1] - rep.shape[2]), (0, 0)), constant_values=-1.0)
    rows = np.concatenate([np.stack([rep[i:i + 8], x[i:i + 8]]).reshape(-1, *x.shape[1:]) for i in range(0, n, 8)])
    grid = os.path.join(cfg.out_dir, f"{cfg.tag}_{cell.name}_superres_{coarse_hw[0]}to{hw[0]}x{hw[1]}.png")
    plots.save_image_grid(rows, grid, nrow=8, scale="symmetric",
                          title=f"super-resolution {coarse_hw[0]}→{hw[0]}: input (pixels repeated) / completion")
    back = resampled(x, coarse_hw)
    return {"superres_grid": grid, "superres_s": sample_s, "superres_nfe": int(info.nfe),
            "superres_is": metrics.classifier_inception_score(np.clip(back, -1, 1), scale="symmetric"),
            "superres_coarse_mse": float(np.mean((back - np.asarray(low)) ** 2))}


def diffuse(sde, x0, t, key):
    """x_t ~ p(x_t | x_0) for a batch x0, through the SDE's kernel in its state coordinates."""
    a, s = sde.marginal_coeffs(t)
    return jax.vmap(sde.from_state)(a * jax.vmap(sde.to_state)(x0) + s * jax.random.normal(key, x0.shape))


def denoising(cfg: Config, name, sde, denoiser, x_test) -> tuple[dict, str]:
    """The denoising MSE of held-out digits at t = frac × T for each of MSE_FRACTIONS, and the
    denoising figure; noised and denoised in one compiled call."""
    x0 = jnp.asarray(x_test[np.random.default_rng(cfg.seed + 4).permutation(len(x_test))[: cfg.mse_images]])
    real = jnp.asarray(x_test[:8])
    figure_fracs = (0.01, 0.1, 0.5)

    @jax.jit
    def noisy_and_denoised(x0, real):
        noisy = [diffuse(sde, x0, f * sde.T, jax.random.fold_in(jax.random.key(cfg.seed + 5), i))
                 for i, f in enumerate(MSE_FRACTIONS)]
        noisy += [diffuse(sde, real, f * sde.T, jax.random.fold_in(jax.random.key(cfg.seed + 2), i))
                  for i, f in enumerate(figure_fracs)]
        t = jnp.concatenate([jnp.full(len(x), f * sde.T, x.dtype) for x, f in zip(noisy, (*MSE_FRACTIONS, *figure_fracs))])
        return noisy, sg.samplers.batching.map_batch(denoiser, cfg.chunk_size)(jnp.concatenate(noisy), t)

    noisy, pred = noisy_and_denoised(x0, real)
    pred = np.split(np.asarray(pred), np.cumsum([len(x) for x in noisy])[:-1])
    mse = {f"mse_t{f:g}": float(np.mean((p - np.asarray(x0)) ** 2)) for f, p in zip(MSE_FRACTIONS, pred)}
    rows = [np.asarray(real)]
    for xt, p in zip(noisy[len(MSE_FRACTIONS):], pred[len(MSE_FRACTIONS):]):
        rows += [np.asarray(xt), p]
    return mse, denoising_figure(cfg, name, rows)


def cell_learning_rate(cfg: Config, cell: Cell) -> float:
    """The outer (Adam) learning rate a cell trains with: `meta_learning_rate` for the meta baseline."""
    return cfg.meta_learning_rate if cell.model == "meta" and cfg.meta_learning_rate else cfg.learning_rate


def make_training(cfg: Config, cell: Cell, model, sde, mesh) -> train.ModelTraining:
    """The cell's x0-training (`train.x0_training`) under its Adam schedule: warm-up, gradient clip
    and `cell_learning_rate`."""
    optimizer = train.make_optimizer(cell_learning_rate(cfg, cell), warmup_steps=cfg.warmup_steps, grad_clip=cfg.grad_clip)
    return train.x0_training(model, sde, mesh, optimizer=optimizer, key=jax.random.key(cfg.seed), ema_decay=cfg.ema_decay,
                             eps=cfg.eps, time_sampling=cell.time_sampling)


def cell_results_dir(cfg: Config) -> str:
    """Where finished cells keep their figures: beside the tables, so they are committed with them."""
    return os.path.join(cfg.out_dir, "fdp_cells_quick" if cfg.quick else "fdp_cells")


def run_cell(cfg: Config, cell: Cell, x_train, x_test, mesh, meta: dict) -> dict:
    """Train (or resume) one cell, sample it (and at the scaled horizon / the finer grid), measure; cached
    in `cell_results_dir` with `meta` (the provenance of the run that computed it)."""
    name = cell.name
    cell_dir = os.path.join(cfg.checkpoint_dir, name)
    cache = os.path.join(cell_results_dir(cfg), f"{name}.json")
    signature = _signature(cfg, cell)
    if os.path.exists(cache):
        with open(cache) as f:
            cached = json.load(f)
        if cached.get("signature") == signature:
            print(f"{name}: done before (commit {cached['row'].get('computed_at', {}).get('commit')}), figures from {cache}",
                  flush=True)
            return cached["row"]
    sde = make_sde(cell, x_train)
    data_var = float(np.var(x_train))
    model = make_model(cfg, cell, sde, data_var)
    training = make_training(cfg, cell, model, sde, mesh)
    ckpt = train.Checkpointer(os.path.join(cell_dir, "ckpt"), max_to_keep=2)
    start_step = ckpt.latest_step() or 0
    check_resumable(cell_dir, _training_settings(cfg, cell), has_checkpoint=bool(start_step))
    log_path = os.path.join(cell_dir, "log.jsonl")
    num_steps = cell.steps or cfg.train_steps
    # At least 4 checkpoints per cell: a short cell of slow steps (meta: 220 at ≈ 27 s on 2 CPUs)
    # would otherwise save only at its end and an interruption would lose all of it.
    checkpoint_every = min(cfg.checkpoint_every, -(-num_steps // 4))
    t0 = time.perf_counter()
    state = train.fit(training.state, training.step, ImagesOnly(BatchIterator(x_train, np.zeros(len(x_train)), cfg.batch_size, seed=cfg.seed)),
                      num_steps=num_steps, mesh=mesh, checkpointer=ckpt, checkpoint_every=checkpoint_every,
                      log_path=log_path, log_every=cfg.log_every, progress=cfg.progress, description=name)
    train_s = time.perf_counter() - t0
    ckpt.close()
    log = train.read_log(log_path, missing_ok=True)
    steps_run = num_steps - start_step
    denoiser = training.score_fn(state.ema_params, state.constants)  # the model's per-sample x0 prediction
    row = dict(cell=name, sde=cell.sde, noise=cell.noise, covariance=cell.noise, model=cell.model, T=cell.T,
               params=train.count_params(state.params), train_steps=num_steps, train_steps_this_run=steps_run,
               train_s_this_run=train_s, s_per_step=train_s / steps_run if steps_run else None,
               final_loss=log[-1]["loss"] if log else None,
               computed_at={"commit": meta["git"].get("commit"), "dirty": meta["git"].get("dirty"),
                            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    what = (f"driftless, R {'estimated' if cell.noise == 'estimated' else '= I'}" if cell.sde == "driftless"
            else f"general SDE, {cell.noise} noise, {cell.model}")
    horizons = [("", sde)]
    if cell.horizon_scale:
        horizons.append(("_x%g" % cell.horizon_scale, sde.with_horizon(cell.horizon_scale * cell.T)))
    for suffix, s in horizons:
        row.update(sample_and_score(cfg, cell, s, denoiser, x_test, suffix, f"{what}, T={s.T:g}", cfg.num_samples,
                                    int(state.step)))
    mse, row["denoising_figure"] = denoising(cfg, name, sde, denoiser, x_test)
    row.update(mse)
    if cfg.fine_grid and cell.sde == "general" and (cell.model == "modulation" or (cell.model == "meta" and cfg.fine_grid_meta)):
        hw = (cfg.fine_grid, cfg.fine_grid)
        fine_sde = make_sde(cell, x_train, hw)
        fine = sg.nets.denoiser_on_grid(training.model(*train.distributed.local_copy((state.ema_params, state.constants))))
        suffix = f"_{hw[0]}x{hw[1]}"
        row.update(sample_and_score(cfg, cell, fine_sde, fine, x_test, suffix, f"{what}, sampled at {hw[0]}×{hw[1]}",
                                    cfg.fine_samples, int(state.step)))
        row.update(super_resolution(cfg, cell, fine_sde, fine, x_test))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "w") as f:
        json.dump({"signature": signature, "row": row}, f, indent=1, default=float)
    print(name, {k: v for k, v in row.items() if "grid" not in str(k) and "figure" not in str(k)}, flush=True)
    return row


def denoising_figure(cfg: Config, name, rows) -> str:
    """Real / noisy / denoised test digits at a few times (seed 003 Fig. 5.6–5.13)."""
    path = os.path.join(cfg.out_dir, f"{cfg.tag}_{name}_denoising.png")
    plots.save_image_grid(np.clip(np.concatenate(rows), -1, 1), path, nrow=8, scale="symmetric",
                          title="rows: real; then noisy / denoised at t = 0.01 T, 0.1 T, 0.5 T")
    return path


def columns(cfg: Config, rows) -> list:
    cols = [("cell", "cell", "")]
    if cfg.table == "5.2":
        cols += [("covariance", "R", ""), ("T", "T", "g")]
    elif cfg.table == "5.3":
        cols += [("T", "T", "g")]
    else:
        cols += [("model", "denoiser", ""), ("noise", "noise", ""), ("params", "params", ",d")]
    cols += [("train_steps", "steps", "d"), ("train_s_this_run", "train s", ".0f"), ("s_per_step", "s/step", ".3f"),
             ("final_loss", "final loss", ".4g"), ("nfe", "NFE", "d"), ("fid", "classifier FID", ".2f"),
             ("is", "classifier IS", ".2f")]
    if any("fid_x1.5" in r for r in rows):
        cols += [("fid_x1.5", "FID ×1.5 T", ".2f"), ("is_x1.5", "IS ×1.5 T", ".2f")]
    cols += [(f"mse_t{f:g}", f"MSE t={f:g}T", ".4f") for f in MSE_FRACTIONS]
    fine = f"_{cfg.fine_grid}x{cfg.fine_grid}"
    if any(f"is{fine}" in r for r in rows):
        cols += [(f"is{fine}", f"IS {cfg.fine_grid}²", ".2f"), ("superres_is", "IS super-res", ".2f")]
    return cols + [("sample_s", "sample s", ".0f"), ("thesis_inception_fid", "thesis FID", "g")]


def _short(git: dict | None) -> str:
    """'commit abc1234 (clean)' from a provenance record, for the table's note."""
    if not git or not git.get("commit"):
        return "an unknown commit"
    return f"commit {git['commit'][:7]} ({'dirty' if git.get('dirty') else 'clean'})"


@fast_compile_when_quick
def main(argv=None) -> dict:
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("fdp_mnist", argv)
    check_config(cfg)
    if cfg.fresh:
        for d in (cfg.checkpoint_dir, cell_results_dir(cfg)):
            if os.path.isdir(d):
                shutil.rmtree(d)
    mesh = train.make_mesh()
    train.sharding.check_batch_divisible(cfg.batch_size, mesh)
    x_train, _ = load_images(cfg.dataset, "train", scale="symmetric", resize=32)
    x_test, _ = load_images(cfg.dataset, "test", scale="symmetric", resize=32)
    if cfg.quick:
        x_train = x_train[np.random.default_rng(cfg.seed).permutation(len(x_train))[:256]]
    os.makedirs(cfg.out_dir, exist_ok=True)
    rows = [run_cell(cfg, cell, x_train, x_test, mesh, meta) for cell in table_cells(cfg)]
    # The splits are sorted by class: compare random subsets (the first n digits are all zeros).
    pick = np.random.default_rng(cfg.seed).permutation
    real = {"fid_train_vs_test": metrics.classifier_fid(x_train[pick(len(x_train))[: cfg.num_samples]], x_test, scale="symmetric"),
            "is_test": metrics.classifier_inception_score(x_test[pick(len(x_test))[: cfg.num_samples]], scale="symmetric"),
            "n": cfg.num_samples}
    thesis = THESIS_FID[cfg.table]
    for r in rows:
        r["thesis_inception_fid"] = thesis.get(r["cell"])
    settings = {
        "5.2": f"the driftless SDE with a U-ViT denoiser, {cfg.time_sampling} training times in [{cfg.eps:g}, T], Algorithm 3's "
               "Euler step",
        "5.3": f"the driftless SDE with R̂ and the VE best practices: log-uniform training times in [{cfg.eps:g}, T] and a "
               "geometric sampling grid, a U-ViT denoiser, Algorithm 3's Euler step",
        "5.1": "the general SDE (FourierSDE, T = 1, uniform training times), white or coloured noise, the modulation network "
               "or the U-ViT, the reverse-diffusion predictor",
        "meta": "the general SDE with coloured noise (T = 1, uniform training times): the modulation network against the "
                f"meta-learning baseline ({cfg.inner_steps} inner SGD steps, "
                f"{'Meta-SGD learned' if cfg.learn_inner_lr else 'fixed'} rates from {cfg.inner_lr:g}), the reverse-diffusion predictor",
    }[cfg.table]
    meta_steps = cfg.meta_train_steps or cfg.train_steps
    md = "\n\n".join([
        f"Seed 003 Table {cfg.table} on this machine: {settings}, on {cfg.dataset} 32×32. Every cell: {cfg.train_steps} Adam "
        f"steps{f' (the meta-learning baseline {meta_steps}: the modulation network’s wall-clock if a baseline step costs {cfg.train_steps / meta_steps:.1f} of its steps; the s/step column says what each cost where it was trained)' if cfg.table == 'meta' else ''} at batch {cfg.batch_size} (lr {cfg.learning_rate:g}{f', the baseline {cfg.meta_learning_rate:g}' if cfg.table == 'meta' and cfg.meta_learning_rate else ''}); sampled with {cfg.corrector_steps} Langevin corrector "
        f"step per grid step, {cfg.sample_steps} grid steps, denoised end, {cfg.num_samples} samples.  FID/IS use the "
        "project's MNIST classifier and are NOT comparable with the thesis's Inception FID (its figures: `thesis FID`).  "
        "MSE: denoising error of held-out digits at t = fraction × T.  Times are wall-clock where each cell was computed "
        "(Provenance): `train s` that run's training (its part of a resumed cell), `sample s` the sum of the sampling "
        "blocks' times, blocks saved by an interrupted run included.",
        markdown_table(rows, columns(cfg, rows)),
        "Provenance: " + "; ".join(f"{r['cell']} trained and measured at {_short(r.get('computed_at'))}" for r in rows)
        + f"; the table assembled at {_short(meta['git'])}.",
        f"Real digits, n = {real['n']}: classifier FID train vs held-out {real['fid_train_vs_test']:.2f} (the floor at this "
        f"sample size), classifier IS of held-out digits {real['is_test']:.2f}.",
    ])
    payload = {"rows": rows, "real_digits": real, "thesis_inception_fid": thesis}
    paths = write_results(cfg.out_dir, cfg.tag, payload, config=cfg, command=command_for("fdp_mnist", argv), metadata=meta, markdown=md)
    print(markdown_table(rows, columns(cfg, rows)))
    return {**payload, **paths}


if __name__ == "__main__":
    main()
