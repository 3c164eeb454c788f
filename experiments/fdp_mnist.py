"""Functional diffusion on MNIST 32×32 with the driftless SDE: seed 003 Table 5.2.

`python -m experiments.fdp_mnist --table 5.2` trains a U-ViT x0-denoiser (seed 003 §3.8.4)
under the driftless SDE dX = dW, Cov(W_t) = t R (eq. 4.13) for every horizon T in {10, 20,
100} and both covariances, R̂ estimated from the training digits (eq. 4.28, mean removed;
the prior is N(x̄, T R)) and R = I: six cells, each with the same training budget (steps,
batch, optimiser), the same sampler and the same NFE.  The sampler is the one the thesis used:
Algorithm 3's Euler step with one Langevin corrector step per grid step (`PredictorCorrector(
predictor=DriftlessEuler(), corrector_steps=1)`, the corrector preconditioned by R), ending
with the denoiser's output (Algorithm 3's last line, `denoise=True`).  With R̂ each model is
also sampled with the horizon scaled by 1.5 (§5.3: start from N(x̄, 1.5 T R̂) and run the same
grid from 1.5 T; the denoiser then sees t > T).

Data: the embedded 4,500 training digits (or `--dataset mnist` when a prepared TFDS copy
exists), zero-padded 28 → 32 and scaled to [−1, 1].  Metrics: classifier-FID against the
held-out digits and classifier-IS, with the project's MNIST classifier (samples center-cropped
to 28×28; NOT comparable with the thesis's Inception FID, docs/metrics.md).  Training times
are log-uniform in [eps, T] ("VE best practices", §5.3.2).

Cells resume from their checkpoints (`checkpoints/fdp_mnist/<cell>`), and a finished cell's
figures are kept in `<cell>/cell.json`, so an interrupted table completes on the next run.

    python -m experiments.fdp_mnist --table 5.2            # the full table (hours on 2 CPUs)
    python -m experiments.fdp_mnist --table 5.2 --quick    # about a minute (CI)
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
from experiments._cli import command_for, parse_config, start_metadata
from sdegen_jax import functional as F
from sdegen_jax import metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.results import markdown_table, write_results

TABLES = ("5.2",)
COVARIANCES = ("estimated", "identity")


@dataclasses.dataclass
class Config:
    table: str = "5.2"  # which table of seed 003 to reproduce
    dataset: str = "mnist_embedded"  # or "mnist" (a prepared TFDS copy)
    horizons: tuple[float, ...] = (10.0, 20.0, 100.0)  # T of the driftless SDE
    covariances: tuple[str, ...] = COVARIANCES  # "estimated" (R̂, eq. 4.28) and/or "identity" (R = I)
    train_steps: int = 1500  # the training budget of every cell
    batch_size: int = 64
    learning_rate: float = 5e-4
    warmup_steps: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    eps: float = 1e-3  # the smallest training and sampling time
    time_sampling: str = "log_uniform"  # VE best practices (seed 003 §5.3.2); or "uniform"
    patch_size: int = 4
    dim: int = 128
    depth: int = 4
    num_heads: int = 4
    sample_steps: int = 100  # grid steps; NFE = 2 (steps − 1) + 1 with the corrector and the denoised end
    corrector_steps: int = 1
    snr: float = 0.16
    horizon_scale: float = 1.5  # also sample R̂ models from scale × T (0 to skip)
    num_samples: int = 256
    chunk_size: int = 64  # denoiser evaluations per chunk while sampling
    seed: int = 0
    checkpoint_dir: str = "checkpoints/fdp_mnist"
    checkpoint_every: int = 250
    log_every: int = 25
    fresh: bool = False  # delete the checkpoints and cell results first
    progress: bool = True
    out_dir: str = "results"
    quick: bool = False  # about a minute, for CI

    @classmethod
    def quick_overrides(cls) -> dict:
        return dict(horizons=(10.0,), train_steps=10, batch_size=16, dim=32, depth=2, num_heads=2, sample_steps=4,
                    num_samples=16, chunk_size=8, checkpoint_every=5, log_every=5,
                    checkpoint_dir="checkpoints/fdp_mnist_quick")

    @property
    def tag(self) -> str:
        return f"fdp_table{self.table.replace('.', '_')}" + ("_quick" if self.quick else "")


def make_sde(cfg: Config, x_train, covariance: str, T: float):
    R = F.estimate_covariance(x_train) if covariance == "estimated" else None
    return F.DriftlessSDE(x_train.shape[1:], R, prior_mean=jnp.asarray(x_train.mean(axis=0)), T=T)


def make_model(cfg: Config, sde, data_var: float):
    """The U-ViT denoiser; inputs scaled by 1/sqrt(data variance + mean noise variance at t)."""
    r_mean = float(jnp.mean(jnp.broadcast_to(sde._r(), sde.shape)))
    return sg.nets.UViT(sde.shape[0], sde.shape[-1], patch_size=cfg.patch_size, dim=cfg.dim, depth=cfg.depth,
                        num_heads=cfg.num_heads, input_scale=lambda t: jax.lax.rsqrt(data_var + t * r_mean),
                        rngs=nnx.Rngs(cfg.seed))


def sampler(cfg: Config):
    return sg.samplers.PredictorCorrector(predictor=F.DriftlessEuler(), snr=cfg.snr, corrector_steps=cfg.corrector_steps)




def run_cell(cfg: Config, name: str, covariance: str, T: float, x_train, x_test, mesh) -> dict:
    """Train (or resume) one cell, sample it (and at the scaled horizon), measure; cached."""
    cell_dir = os.path.join(cfg.checkpoint_dir, name)
    cache = os.path.join(cell_dir, "cell.json")
    signature = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("progress", "fresh", "out_dir", "log_every")}
    if os.path.exists(cache):
        with open(cache) as f:
            cached = json.load(f)
        if cached.get("signature") == json.loads(json.dumps(signature)):
            print(f"{name}: done before, figures from {cache}", flush=True)
            return cached["row"]
    sde = make_sde(cfg, x_train, covariance, T)
    model = make_model(cfg, sde, float(np.var(x_train)))
    optimizer = train.make_optimizer(cfg.learning_rate, warmup_steps=cfg.warmup_steps, grad_clip=cfg.grad_clip)
    training = train.x0_training(model, sde, mesh, optimizer=optimizer, key=jax.random.key(cfg.seed), ema_decay=cfg.ema_decay,
                                 eps=cfg.eps, time_sampling=cfg.time_sampling)
    ckpt = train.Checkpointer(os.path.join(cell_dir, "ckpt"), max_to_keep=2)
    start_step = ckpt.latest_step() or 0
    log_path = os.path.join(cell_dir, "log.jsonl")
    t0 = time.perf_counter()
    state = train.fit(training.state, training.step, ImagesOnly(BatchIterator(x_train, np.zeros(len(x_train)), cfg.batch_size, seed=cfg.seed)),
                      num_steps=cfg.train_steps, mesh=mesh, checkpointer=ckpt, checkpoint_every=cfg.checkpoint_every,
                      log_path=log_path, log_every=cfg.log_every, progress=cfg.progress, description=name)
    train_s = time.perf_counter() - t0
    ckpt.close()
    log = train.read_log(log_path, missing_ok=True)
    denoiser = training.score_fn(state.ema_params, state.constants)  # the model's per-sample x0 prediction
    row = dict(cell=name, covariance=covariance, T=T, train_steps=cfg.train_steps, train_steps_this_run=cfg.train_steps - start_step,
               train_s_this_run=train_s, final_loss=log[-1]["loss"] if log else None)
    horizons = [("", sde)] + ([("_x%g" % cfg.horizon_scale, sde.with_horizon(cfg.horizon_scale * T))]
                              if covariance == "estimated" and cfg.horizon_scale else [])
    for suffix, s in horizons:
        score = F.score_from_denoiser(s, denoiser)
        t1 = time.perf_counter()
        x, info = sg.sample_with_info(jax.random.key(cfg.seed + 1), s, score, sde.shape, cfg.num_samples, method=sampler(cfg),
                                      steps=cfg.sample_steps, eps=cfg.eps, denoise=True, chunk_size=cfg.chunk_size)
        x = np.clip(np.asarray(x), -1.0, 1.0)
        sample_s = time.perf_counter() - t1
        grid = os.path.join(cfg.out_dir, f"{cfg.tag}_{name}{suffix}.png")
        plots.save_image_grid(x[:64], grid, nrow=8, scale="symmetric",
                              title=f"driftless, R {'estimated' if covariance == 'estimated' else '= I'}, T={s.T:g} (NFE {int(info.nfe)})")
        row.update({f"fid{suffix}": metrics.classifier_fid(x, x_test, scale="symmetric"),
                    f"is{suffix}": metrics.classifier_inception_score(x, scale="symmetric"),
                    f"nfe{suffix}": int(info.nfe), f"sample_s{suffix}": sample_s, f"grid{suffix}": grid})
    row["denoising_figure"] = denoising_figure(cfg, name, sde, denoiser, x_test)
    os.makedirs(cell_dir, exist_ok=True)
    with open(cache, "w") as f:
        json.dump({"signature": signature, "row": row}, f, indent=1, default=float)
    print(name, {k: v for k, v in row.items() if not str(k).startswith("grid")}, flush=True)
    return row


def denoising_figure(cfg: Config, name, sde, denoiser, x_test) -> str:
    """Real / noisy / denoised test digits at a few times (seed 003 Fig. 5.10–5.13)."""
    real = jnp.asarray(x_test[:8])
    rows = [np.asarray(real)]
    for i, frac in enumerate((0.01, 0.1, 0.5)):
        t = frac * sde.T
        a, s = sde.marginal_coeffs(t)
        k = jax.random.fold_in(jax.random.key(cfg.seed + 2), i)
        y = a * jax.vmap(sde.to_state)(real) + s * jax.random.normal(k, real.shape)
        noisy = jax.vmap(sde.from_state)(y)
        rows += [np.asarray(noisy), np.asarray(jax.vmap(lambda z: denoiser(z, jnp.asarray(t)))(noisy))]
    path = os.path.join(cfg.out_dir, f"{cfg.tag}_{name}_denoising.png")
    plots.save_image_grid(np.clip(np.concatenate(rows), -1, 1), path, nrow=8, scale="symmetric",
                          title="rows: real; then noisy / denoised at t = 0.01 T, 0.1 T, 0.5 T")
    return path


COLUMNS = [
    ("cell", "cell", ""), ("covariance", "R", ""), ("T", "T", "g"), ("train_steps", "steps", "d"),
    ("train_s_this_run", "train s", ".0f"), ("final_loss", "final loss", ".4g"), ("nfe", "NFE", "d"),
    ("fid", "classifier FID", ".2f"), ("is", "classifier IS", ".2f"), ("fid_x1.5", "FID ×1.5 T", ".2f"),
    ("is_x1.5", "IS ×1.5 T", ".2f"), ("sample_s", "sample s", ".0f"),
]


def main(argv=None) -> dict:
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("fdp_mnist", argv)
    if cfg.table not in TABLES:
        raise ValueError(f"unknown table {cfg.table!r}; this experiment reproduces {TABLES} (Tables 5.1, 5.3: issue 12).")
    for c in cfg.covariances:
        if c not in COVARIANCES:
            raise ValueError(f"unknown covariance {c!r}; choose from {COVARIANCES}.")
    if cfg.fresh and os.path.isdir(cfg.checkpoint_dir):
        shutil.rmtree(cfg.checkpoint_dir)
    mesh = train.make_mesh()
    train.sharding.check_batch_divisible(cfg.batch_size, mesh)
    x_train, _ = load_images(cfg.dataset, "train", scale="symmetric", resize=32)
    x_test, _ = load_images(cfg.dataset, "test", scale="symmetric", resize=32)
    if cfg.quick:
        x_train = x_train[np.random.default_rng(cfg.seed).permutation(len(x_train))[:256]]
    os.makedirs(cfg.out_dir, exist_ok=True)
    rows = []
    for covariance in cfg.covariances:
        for T in cfg.horizons:
            name = f"{'Rhat' if covariance == 'estimated' else 'I'}_T{T:g}"
            rows.append(run_cell(cfg, name, covariance, T, x_train, x_test, mesh))
    # The splits are sorted by class: compare random subsets (the first n digits are all zeros).
    pick = np.random.default_rng(cfg.seed).permutation
    real = {"fid_train_vs_test": metrics.classifier_fid(x_train[pick(len(x_train))[: cfg.num_samples]], x_test, scale="symmetric"),
            "is_test": metrics.classifier_inception_score(x_test[pick(len(x_test))[: cfg.num_samples]], scale="symmetric"),
            "n": cfg.num_samples}
    thesis = {"estimated": {10: 19.97, 20: 22.24, 100: 63.52}, "identity": {10: 40.99, 20: 23.56, 100: 140.63}}
    for r in rows:
        r["thesis_inception_fid"] = thesis.get(r["covariance"], {}).get(int(r["T"]))
    md = "\n\n".join([
        f"Seed 003 Table 5.2 on this machine: the driftless SDE with a U-ViT denoiser on {cfg.dataset} 32×32. Every cell: "
        f"{cfg.train_steps} Adam steps at batch {cfg.batch_size} (lr {cfg.learning_rate:g}), {cfg.time_sampling} times in "
        f"[{cfg.eps:g}, T]; sampled with Algorithm 3's Euler step + {cfg.corrector_steps} Langevin corrector (snr {cfg.snr:g}), "
        f"{cfg.sample_steps} grid steps, denoised end, {cfg.num_samples} samples.  FID/IS use the project's MNIST classifier "
        "and are NOT comparable with the thesis's Inception FID (its figures are in the JSON, `thesis_inception_fid`).",
        markdown_table(rows, COLUMNS + [("thesis_inception_fid", "thesis FID", "g")]),
        f"Real digits, n = {real['n']}: classifier FID train vs held-out {real['fid_train_vs_test']:.2f} (the floor at this "
        f"sample size), classifier IS of held-out digits {real['is_test']:.2f}.",
    ])
    payload = {"rows": rows, "real_digits": real,
               "thesis_table_5_2_inception_fid": {"R_hat": thesis["estimated"], "R_identity": thesis["identity"]}}
    paths = write_results(cfg.out_dir, cfg.tag, payload, config=cfg, command=command_for("fdp_mnist", argv), metadata=meta, markdown=md)
    print(markdown_table(rows, COLUMNS))
    return {**payload, **paths}


if __name__ == "__main__":
    main()
