"""Seed 000 Table 1 and Figure 10: ScoreNet and BSDE-Gen trained under the same budget.

`python -m experiments.table1` trains both models on the same data (the embedded 4,500 MNIST
training digits; an epoch is 8 batches of 512 = 4,096 digits), batch 512, for the same number
of epochs, on this machine, evaluating each after every epoch, then writes
`results/table1.md`/`.json` and the side-by-side IS and reconstruction-error curves
(`results/table1_curves.png`, Figure 10).  Resumable: rerun after an interruption (each
model's checkpoints and finished evaluations are kept under `--checkpoint-dir`).

Budget: `benchmarks.bsde` measures 420 s per epoch for BSDE-Gen and 5.7 s for ScoreNet at
batch 512 on this 2-core CPU; with an evaluation after every epoch (about 15 s for BSDE-Gen,
80 s for ScoreNet's 500-step Euler–Maruyama on 500 digits) 12 epochs take about 1.7 hours,
the largest equal number that fits about two hours.  The seed trained 31 epochs of 60,000
digits on a GPU.

Rows: parameters; time per epoch (s, from the median training throughput of the log, and the
measured wall time of this run); training epochs; reconstruction error; classifier-IS and
classifier-FID (the project's MNIST classifier against the held-out split, NOT Inception: not
comparable with the seed's IS values).  The reconstruction error is defined the same way for
both models, because BSDE-Gen (decoder-only) has no encoder: the mean over held-out digits of
the per-pixel MSE in [0, 1] to the nearest of the `--num-samples` generated digits
(sg.metrics.nearest_sample_error).  ScoreNet's probability-flow ODE round-trip error is given
too.  ScoreNet: the tutorial VE SDE (σ = 25), DSM, Adam (lr `--scorenet-lr`, gradient clipping
1), sampled by Euler–Maruyama; BSDE-Gen: experiments.bsde_mnist's defaults (RMSprop 1e-4).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments import bsde_mnist
from experiments._cli import command_for, parse_config, read_training_log, start_metadata
from experiments._staged import train_with_evaluations
from sdegen_jax import metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.results import markdown_table, write_results

SEED_TABLE1 = {
    "scorenet": {"params": 1115425, "seconds_per_epoch": 9, "epochs": 31, "reconstruction_error": 0.16, "inception_score": 1.62},
    "bsde": {"params": 12948560, "seconds_per_epoch": 350, "epochs": 31, "reconstruction_error": 0.61, "inception_score": 1.84},
}


@dataclasses.dataclass
class Config:
    dataset: str = "mnist_embedded"
    epochs: int = 12  # equal for both models: what fits about two hours here (module docstring)
    batch_size: int = 512
    seed: int = 0
    num_samples: int = 500  # generated digits per evaluation (IS, FID, nearest-sample RE)
    reconstruction_images: int = 500
    scorenet_lr: float = 1e-3
    sigma: float = 25.0
    em_steps: int = 500
    eps: float = 1e-5
    ode_reconstruction_images: int = 64
    bsde_hidden: tuple[int, int, int] = (64, 32, 64)
    bsde_dims: tuple[int, int] = (32, 32)  # dim_x, dim_w
    bsde_num_steps: int = 200
    checkpoint_dir: str = "checkpoints/table1"
    fresh: bool = False
    out_dir: str = "results"
    tag: str = "table1"
    progress: bool = True
    quick: bool = False  # reduced BSDE-Gen sizes and few samples: about two minutes, for CI

    @classmethod
    def quick_overrides(cls):
        return dict(epochs=2, batch_size=64, num_samples=64, reconstruction_images=64, em_steps=20,
                    ode_reconstruction_images=4, bsde_hidden=(16, 8, 16), bsde_dims=(8, 8), bsde_num_steps=20,
                    checkpoint_dir="checkpoints/table1_quick", tag="table1_quick")


def run_scorenet(cfg, x_train, y_train, x_test01, mesh):
    """ScoreNet trained and evaluated after every epoch; returns (result dict, evaluations)."""
    sde = sg.sde.TutorialVESDE(cfg.sigma)
    batches = BatchIterator(x_train, y_train, cfg.batch_size, seed=cfg.seed)
    k_train, k_eval = jax.random.split(jax.random.key(cfg.seed))
    model = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(cfg.seed))
    training = train.dsm_training(model, sde, mesh, optimizer=train.make_optimizer(cfg.scorenet_lr, grad_clip=1.0),
                                  key=k_train, eps=cfg.eps)
    ckpt_dir = os.path.join(cfg.checkpoint_dir, "scorenet")
    n_rec = min(cfg.reconstruction_images, len(x_test01))

    def evaluate(state, epoch):
        score_fn = training.score_fn(state.ema_params, state.constants)
        x = sg.sample(jax.random.fold_in(k_eval, epoch), sde, score_fn, (28, 28, 1), cfg.num_samples,
                      method=sg.samplers.EulerMaruyama(), steps=cfg.em_steps, eps=cfg.eps, denoise=True, chunk_size=50)
        x = np.clip(np.asarray(x), 0.0, 1.0)
        plots.save_image_grid(x[:64], os.path.join(cfg.out_dir, f"{cfg.tag}_scorenet_samples_epoch{epoch}.png"), nrow=8,
                              title=f"ScoreNet, epoch {epoch}")
        np.save(os.path.join(ckpt_dir, f"samples_epoch{epoch}.npy"), x[:8])
        return bsde_mnist.image_scores(x, x_test01, n_rec)

    log_path = os.path.join(cfg.out_dir, f"{cfg.tag}_scorenet_log.jsonl")
    spe = batches.steps_per_epoch
    state, evals, seconds, trained = train_with_evaluations(
        training, ImagesOnly(batches), steps_per_epoch=spe, epochs=cfg.epochs, eval_epochs=tuple(range(1, cfg.epochs + 1)),
        evaluate=evaluate, mesh=mesh, checkpoint_dir=ckpt_dir, log_path=log_path, log_every=1, progress=cfg.progress,
        description=f"{cfg.tag} scorenet",
    )
    log = read_training_log(log_path, ckpt_dir)
    rates = [r["img_per_s"] for r in (log[1:] or log)]
    # The ODE round trip of the final model, cached with the checkpoints: a resumed run with
    # nothing left to train reuses it (two adaptive ODE solves to compile and run).
    rec_key = {"epochs": cfg.epochs, "images": cfg.ode_reconstruction_images, "eps": cfg.eps, "seed": cfg.seed}
    rec_path = os.path.join(ckpt_dir, "ode_reconstruction.json")
    rec_error = None
    if not trained and os.path.exists(rec_path):
        with open(rec_path) as f:
            cached = json.load(f)
        rec_error = cached["error"] if cached.get("key") == rec_key else None
    if rec_error is None:
        rec_error = metrics.ode_reconstruction(
            k_eval, sde, training.score_fn(state.ema_params, state.constants),
            jnp.asarray(x_test01[: cfg.ode_reconstruction_images]), eps=cfg.eps, chunk_size=50).error
        with open(rec_path, "w") as f:
            json.dump({"key": rec_key, "error": float(rec_error)}, f)
    result = {
        "params": train.count_params(nnx.state(model)),
        "seconds_per_epoch_from_median_img_s": spe * cfg.batch_size / float(np.median(rates)) if rates else None,
        "wall_seconds_per_epoch_this_run": seconds / trained if trained else None,
        "epochs": cfg.epochs, "final": evals[cfg.epochs], "evaluations": {str(k): v for k, v in sorted(evals.items())},
        "ode_reconstruction_error": float(rec_error), "final_loss": log[-1]["loss"] if log else None,
    }
    return result, evals


def figure10(cfg, evals_by_model) -> str:
    """IS and nearest-sample RE (log scale) against epoch, both models side by side."""
    fig = plots.figure.new_figure((10.0, 4.0))
    ax_is, ax_re = fig.subplots(1, 2)
    for label, evals in evals_by_model.items():
        e = sorted(evals)
        ax_is.plot(e, [evals[k]["is"] for k in e], marker="o", label=label)
        ax_re.plot(e, [evals[k]["nearest_sample_error"] for k in e], marker="o", label=label)
    ax_is.set(xlabel="epoch", ylabel="classifier-IS", title="Inception-style score (classifier)")
    ax_re.set(xlabel="epoch", ylabel="nearest-sample RE", yscale="log", title="Reconstruction error")
    for ax in (ax_is, ax_re):
        ax.legend()
        ax.grid(alpha=0.3)
    return plots.figure.save_figure(fig, os.path.join(cfg.out_dir, f"{cfg.tag}_curves.png"))


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("table1", argv)
    if cfg.fresh and os.path.isdir(cfg.checkpoint_dir):
        shutil.rmtree(cfg.checkpoint_dir)
    os.makedirs(cfg.out_dir, exist_ok=True)
    mesh = train.make_mesh()
    train.sharding.check_batch_divisible(cfg.batch_size, mesh)
    x_train, y_train = load_images(cfg.dataset, "train", scale="unit")
    x_test, _ = load_images(cfg.dataset, "test", scale="unit")
    if cfg.quick:
        keep = np.random.default_rng(cfg.seed).permutation(len(x_train))[:320]
        x_train, y_train = x_train[keep], y_train[keep]
    x_test01 = x_test[np.random.default_rng(cfg.seed).permutation(len(x_test))]  # as bsde_mnist orders it

    bsde_argv = [
        "--dataset", cfg.dataset, "--epochs", str(cfg.epochs), "--eval-epochs", *map(str, range(1, cfg.epochs + 1)),
        "--batch-size", str(cfg.batch_size), "--seed", str(cfg.seed), "--num-samples", str(cfg.num_samples),
        "--reconstruction-images", str(cfg.reconstruction_images), "--hidden", *map(str, cfg.bsde_hidden),
        "--dim-x", str(cfg.bsde_dims[0]), "--dim-w", str(cfg.bsde_dims[1]), "--num-steps", str(cfg.bsde_num_steps),
        "--checkpoint-dir", os.path.join(cfg.checkpoint_dir, "bsde"), "--out-dir", cfg.out_dir,
        "--tag", f"{cfg.tag}_bsde", *([] if cfg.progress else ["--no-progress"]), *(["--quick"] if cfg.quick else []),
    ]
    bsde = bsde_mnist.main(bsde_argv)
    scorenet, score_evals = run_scorenet(cfg, x_train, y_train, x_test01, mesh)
    bsde_evals = {int(k): v for k, v in bsde["evaluations"].items()}
    curves = figure10(cfg, {"ScoreNet": score_evals, "BSDE-Gen": bsde_evals})

    def row(label, r, seed_ref):
        final = r["final"]
        return {"row": label, "params": r["params"], "s_epoch": r["seconds_per_epoch_from_median_img_s"],
                "wall_epoch": r["wall_seconds_per_epoch_this_run"], "epochs": r["epochs"],
                "re": final["nearest_sample_error"], "is": final["is"], "fid": final["fid"],
                "seed_s_epoch": seed_ref["seconds_per_epoch"], "seed_re": seed_ref["reconstruction_error"],
                "seed_is": seed_ref["inception_score"], "seed_epochs": seed_ref["epochs"]}

    rows = [row("ScoreNet", scorenet, SEED_TABLE1["scorenet"]), row("BSDE-Gen", bsde, SEED_TABLE1["bsde"])]
    columns = [("row", "model", "s"), ("params", "# parameters", ",d"), ("s_epoch", "s / epoch (median rate)", ".1f"),
               ("wall_epoch", "s / epoch (wall, this run)", ".1f"), ("epochs", "epochs", "d"),
               ("re", "RE (nearest sample)", ".4f"), ("is", "classifier-IS", ".2f"), ("fid", "classifier-FID", ".1f"),
               ("seed_s_epoch", "seed s/epoch (GPU, 60k)", "d"), ("seed_epochs", "seed epochs", "d"),
               ("seed_re", "seed RE", ".2f"), ("seed_is", "seed IS (Inception)", ".2f")]
    ratio = rows[1]["s_epoch"] / rows[0]["s_epoch"] if rows[0]["s_epoch"] and rows[1]["s_epoch"] else None
    md = markdown_table(rows, columns) + (
        f"\n\nTime per epoch BSDE-Gen : ScoreNet = {ratio:.1f} : 1 (seed 000: 350 : 9 = 38.9 : 1).\n" if ratio else "\n")
    md += (f"\nAn epoch is {bsde['images_per_epoch']} digits (batch {cfg.batch_size}). ScoreNet's ODE round-trip "
           f"reconstruction error: {scorenet['ode_reconstruction_error']:.2e}. Classifier-IS/FID are the project's "
           "MNIST classifier's, not Inception's. Curves: " + os.path.basename(curves) + "\n")
    payload = {"rows": rows, "time_ratio_bsde_over_scorenet": ratio, "scorenet": scorenet,
               "bsde": {k: v for k, v in bsde.items() if k not in ("json", "md")}, "seed000_table1": SEED_TABLE1,
               "figures": {"curves": curves}}
    paths = write_results(cfg.out_dir, cfg.tag, payload, config=cfg, command=command_for("table1", argv),
                          markdown=md, metadata=meta)
    print(md)
    return {**payload, **paths}


if __name__ == "__main__":
    main()
