"""ScoreNet on MNIST with the tutorial VE SDE (σ = 25): seed 000 §5, Table 1 (ScoreNet row).

`python -m experiments.score_mnist` trains Song's tutorial ScoreNet by denoising score
matching on the embedded 5,000-digit MNIST (or `--dataset mnist` when a prepared TFDS
copy exists), sharded over all devices, with EMA and orbax checkpoints (interrupt and
rerun to resume).  It then samples with Euler–Maruyama, predictor–corrector and the
probability-flow ODE and reports, for each, NFE, classifier-IS and classifier-FID against
the held-out split, plus the ODE reconstruction error of held-out digits.

Classifier-IS/FID use the project's MNIST classifier (docs/metrics.md): they are NOT
comparable with the Inception figures of seed 000 Table 1.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments._cli import command_for, parse_config, start_metadata, read_training_log
from sdegen_jax import metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.results import write_results


@dataclasses.dataclass
class Config:
    dataset: str = "mnist_embedded"
    sigma: float = 25.0
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    eps: float = 1e-5
    seed: int = 0
    num_samples: int = 500
    em_steps: int = 500
    pc_steps: int = 250
    snr: float = 0.16
    ode_rtol: float = 1e-5
    ode_atol: float = 1e-5
    denoise: bool = True  # noise-free last step (Tweedie), as the tutorial sampler of seed 000
    chunk_size: int = 50  # score evaluations per chunk while sampling (0: the whole batch at once)
    reconstruction_images: int = 64
    checkpoint_dir: str = "checkpoints/score_mnist"
    checkpoint_every: int = 500
    log_every: int = 25
    fresh: bool = False
    out_dir: str = "results"
    tag: str = "score_mnist"
    progress: bool = True
    quick: bool = False  # about a minute, for CI

    @classmethod
    def quick_overrides(cls):
        return dict(
            epochs=1, batch_size=32, num_samples=32, em_steps=20, pc_steps=10, ode_rtol=1e-3, ode_atol=1e-3,
            reconstruction_images=4, checkpoint_every=50, log_every=5, checkpoint_dir="checkpoints/score_mnist_quick",
            tag="score_mnist_quick",
        )


def build_training(cfg: Config, mesh, key):
    """(sde, model, training) as this experiment trains them: what a checkpoint of
    `cfg.checkpoint_dir` restores into (experiments.likelihood_mnist uses it)."""
    sde = sg.sde.TutorialVESDE(cfg.sigma)
    model = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(cfg.seed))
    optimizer = train.make_optimizer(cfg.learning_rate, warmup_steps=cfg.warmup_steps, grad_clip=cfg.grad_clip)
    training = train.dsm_training(model, sde, mesh, optimizer=optimizer, key=key, ema_decay=cfg.ema_decay, eps=cfg.eps)
    return sde, model, training


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("score_mnist", argv)
    mesh = train.make_mesh()
    train.sharding.check_batch_divisible(cfg.batch_size, mesh)
    x_train, y_train = load_images(cfg.dataset, "train", scale="unit")
    x_test, _ = load_images(cfg.dataset, "test", scale="unit")
    if cfg.quick:  # a random subset: the split is sorted by class
        keep = np.random.default_rng(cfg.seed).permutation(len(x_train))[:320]
        x_train, y_train = x_train[keep], y_train[keep]
    batches = BatchIterator(x_train, y_train, cfg.batch_size, seed=cfg.seed)
    steps_per_epoch = batches.steps_per_epoch
    num_steps = cfg.epochs * steps_per_epoch

    key = jax.random.PRNGKey(cfg.seed)
    k_train, k_sample = jax.random.split(key)
    sde, model, training = build_training(cfg, mesh, k_train)
    num_params = train.count_params(nnx.state(model))
    if cfg.fresh and os.path.isdir(cfg.checkpoint_dir):
        shutil.rmtree(cfg.checkpoint_dir)
    ckpt = train.Checkpointer(cfg.checkpoint_dir, max_to_keep=2)
    os.makedirs(cfg.out_dir, exist_ok=True)
    log_path = os.path.join(cfg.out_dir, f"{cfg.tag}_log.jsonl")
    start_step = ckpt.latest_step() or 0
    t0 = time.perf_counter()
    state = train.fit(
        training.state, training.step, ImagesOnly(batches),
        num_steps=num_steps, mesh=mesh, checkpointer=ckpt, checkpoint_every=cfg.checkpoint_every,
        log_path=log_path, log_every=cfg.log_every, progress=cfg.progress, description=cfg.tag,
    )
    train_seconds = time.perf_counter() - t0
    ckpt.close()
    log = read_training_log(log_path, cfg.checkpoint_dir)
    # Throughput from the whole log (this run and any it resumed); the median ignores the
    # few intervals that hold a compilation.  The measured wall time per epoch of this run
    # includes compilation and checkpoint writes.
    rates = [r["img_per_s"] for r in (log[1:] or log)]
    epochs_this_run = (num_steps - min(start_step, num_steps)) / steps_per_epoch
    timing = {
        "seconds_per_epoch_from_median_img_s": steps_per_epoch * cfg.batch_size / float(np.median(rates)) if rates else None,
        "wall_seconds_per_epoch_this_run": train_seconds / epochs_this_run if epochs_this_run else None,
        "epochs_this_run": epochs_this_run,
        "train_seconds_this_run": train_seconds,
    }

    score_fn = training.score_fn(state.ema_params, state.constants)
    chunk = cfg.chunk_size or None
    settings = {
        "euler_maruyama": (sg.samplers.EulerMaruyama(), dict(steps=cfg.em_steps)),
        "pc": (sg.samplers.PredictorCorrector(snr=cfg.snr), dict(steps=cfg.pc_steps, snr=cfg.snr)),
        "ode": (sg.samplers.ProbabilityFlowODE(rtol=cfg.ode_rtol, atol=cfg.ode_atol), dict(rtol=cfg.ode_rtol, atol=cfg.ode_atol)),
    }
    samplers, grids = {}, {}
    for name, (sampler, recorded) in settings.items():
        t1 = time.perf_counter()
        x, info = sg.sample_with_info(
            k_sample, sde, score_fn, (28, 28, 1), cfg.num_samples, method=sampler, steps=recorded.get("steps"),
            eps=cfg.eps, denoise=cfg.denoise, chunk_size=chunk,
        )
        x = np.clip(np.asarray(x), 0.0, 1.0)
        seconds = time.perf_counter() - t1
        samplers[name] = {
            "nfe": int(info.nfe), "is": metrics.classifier_inception_score(x), "fid": metrics.classifier_fid(x, x_test),
            "seconds": seconds, "denoise": cfg.denoise, "chunk_size": chunk, **recorded,
        }
        grids[name] = os.path.join(cfg.out_dir, f"{cfg.tag}_samples_{name}.png")
        plots.save_image_grid(x[:64], grids[name], nrow=8, title=f"ScoreNet, {name} (NFE {int(info.nfe)})")
        print(name, samplers[name], flush=True)
    # The same metrics on real digits, as many as the samplers draw (the split is sorted by
    # class, so a random subset): IS of held-out digits, and FID of training digits against
    # the held-out split, FID's floor at this sample size.
    n_real = min(cfg.num_samples, len(x_train), len(x_test))
    pick = np.random.default_rng(cfg.seed).permutation(len(x_train))[:n_real]
    real_digits = {
        "n": int(n_real),
        "is_heldout": metrics.classifier_inception_score(x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))[:n_real]]),
        "fid_train_vs_heldout": metrics.classifier_fid(x_train[pick], x_test),
    }
    print("real digits", real_digits, flush=True)
    rec = metrics.ode_reconstruction(
        k_sample, sde, score_fn, jnp.asarray(x_test[: cfg.reconstruction_images]), eps=cfg.eps,
        ode=settings["ode"][0], chunk_size=chunk,
    )
    curve = os.path.join(cfg.out_dir, f"{cfg.tag}_loss.png")
    plots.save_curves({"DSM loss": ([r["step"] for r in log], [r["loss"] for r in log])}, curve)
    payload = {
        "params": num_params,
        **timing,
        "dataset": cfg.dataset,
        "train_images": int(len(x_train)),
        "epochs": cfg.epochs,
        "steps": num_steps,
        "num_devices": int(mesh.devices.size),
        "samplers": samplers,
        "real_digits": real_digits,
        "reconstruction_error": rec.error,
        "reconstruction_nfe": {"encode": rec.nfe_encode, "decode": rec.nfe_decode},
        "reference_seed000_table1": {"params": 1115425, "seconds_per_epoch_gpu": 9, "reconstruction_error": 0.16, "inception_score": 1.62},
        "metric_note": "IS/FID use the project's MNIST classifier; not comparable with Inception figures.",
        "figures": {"samples": grids, "loss": curve},
        "final_loss": log[-1]["loss"] if log else None,
    }
    paths = write_results(cfg.out_dir, cfg.tag, payload, config=cfg, command=command_for("score_mnist", argv), metadata=meta)
    return {**payload, **paths}




if __name__ == "__main__":
    main()
