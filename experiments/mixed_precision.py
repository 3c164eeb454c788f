"""Mixed precision against float32 on the toy score model, ScoreNet and BSDE-Gen (issue 13).

`python -m experiments.mixed_precision` trains, twice from the same seed, float32 and mixed
(float32 parameters and optimizer, bfloat16 layers), with everything else equal:

- `experiments.toy_train`'s time-conditioned MLP on the 8-Gaussian ring
  (`TimeMLP(dtype=jnp.bfloat16)`), comparing the loss curves (mean over windows of the log)
  and the samples' sliced W1 to the exact ring;
- score_mnist's ScoreNet (`ScoreNet(dtype=jnp.bfloat16)`, the tutorial VE SDE, Adam 1e-3 with
  warm-up and clipping, batch 64 of the embedded digits) for `--scorenet-steps` steps,
  comparing the loss curves;
- BSDE-Gen (`BSDEGenNets(dtype=jnp.bfloat16)`: bsde_mnist's reference networks, FBSDE, MMD
  kernel and RMSprop; batch `--bsde-batch`, `--bsde-euler-steps` Euler steps) for
  `--bsde-steps` steps, comparing the MMD² loss curves.

Each run resumes from its checkpoints (`checkpoints/*_precision_*`).  Writes
results/mixed_precision.json/.md and the curves in results/mixed_precision.png,
results/mixed_precision_scorenet.png and results/mixed_precision_bsde.png.  On this CPU
bfloat16 is emulated, so the wall times say nothing about GPU speed.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments import bsde_mnist, toy_train
from experiments._cli import parse_config, start_metadata
from sdegen_jax import plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.train import read_log
from sdegen_jax.results import markdown_table, write_results

NAME = "mixed_precision"


@dataclasses.dataclass
class Config:
    num_steps: int = 4000
    window: int = 500  # steps per window of the loss comparison
    scorenet_steps: int = 600  # ScoreNet on MNIST (about 8.5 epochs of the 4,500 embedded digits); 0 skips it
    scorenet_batch: int = 64
    scorenet_window: int = 100
    bsde_steps: int = 150  # BSDE-Gen on MNIST at the reference network sizes; 0 skips it
    bsde_batch: int = 32
    bsde_window: int = 30
    bsde_euler_steps: int = 50  # the FBSDE's Euler steps (bsde_mnist: 200; fewer to fit the CPU budget)
    checkpoint_root: str = "checkpoints"
    out_dir: str = "results"
    progress: bool = False
    quick: bool = False

    @classmethod
    def quick_overrides(cls):
        # ScoreNet's part compiles two U-Net training steps (≈ 50 s here): only in the full run.
        return dict(num_steps=60, window=30, scorenet_steps=0, bsde_steps=0)


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata(NAME, argv)
    runs = {}
    for precision in ("fp32", "bf16"):
        tag = f"toy_train_precision_{precision}" + ("_quick" if cfg.quick else "")
        args = ["--precision", precision, "--tag", tag, "--num-steps", str(cfg.num_steps), "--out-dir", cfg.out_dir,
                "--checkpoint-dir", os.path.join(cfg.checkpoint_root, tag)]
        args += ["--quick", "--samplers", "euler_maruyama", "--num-samples", "500", "--sample-steps", "20"] if cfg.quick else []
        args += [] if cfg.progress else ["--no-progress"]
        runs[precision] = toy_train.main(args)
    rows, series = [], {}
    for precision, res in runs.items():
        steps, losses = np.array([s for s, _ in res["losses"]]), np.array([v for _, v in res["losses"]])
        series[precision] = (steps, losses)
        windows = window_means(steps, losses, cfg.num_steps, cfg.window)
        w1 = {r["method"]: r.get("sliced_w1") for r in res["samplers"]}
        nfe = {r["method"]: r["nfe"] for r in res["samplers"]}
        log = read_log(os.path.join(cfg.out_dir, f"toy_train_precision_{precision}{'_quick' if cfg.quick else ''}_log.jsonl"))
        rates = [r["img_per_s"] for r in log[1:] or log]
        rows.append(dict(precision=precision, final_window_loss=list(windows.values())[-1],
                         w1_em=w1.get("euler_maruyama"), w1_ode=w1.get("ode"), ode_nfe=nfe.get("ode"),
                         median_img_s=float(np.median(rates)) if rates else None, **windows))
    ratio = rows[1]["final_window_loss"] / rows[0]["final_window_loss"]
    skipped = {"rows": [], "ratio": None, "figure": None, "markdown": ""}
    scorenet = compare_scorenet(cfg) if cfg.scorenet_steps else skipped
    bsde = compare_bsde(cfg) if cfg.bsde_steps else skipped
    curve = os.path.join(cfg.out_dir, f"{NAME}{'_quick' if cfg.quick else ''}.png")
    plots.line_figure(None, series, xlabel="step", ylabel="DSM loss", logy=True, filename=curve,
                      title="toy_train: float32 against bfloat16 layers")
    cols = [("precision", "precision", ""), ("final_window_loss", f"mean loss, last {cfg.window} steps", ".4f"),
            ("w1_em", "sliced W1 (EM)", ".4f"), ("w1_ode", "sliced W1 (ODE)", ".4f"), ("ode_nfe", "ODE NFE", "d"),
            ("median_img_s", "training img/s (median; bf16 emulated on CPU)", ".0f")]
    md = (f"## Toy MLP (`TimeMLP`)\n\nSame seed, data and optimizer; {cfg.num_steps} steps.  Mixed / float32 mean "
          f"loss over the last {cfg.window} steps: {ratio:.4f}.  Curves: `{os.path.basename(curve)}`.\n\n"
          + markdown_table(rows, cols) + "\n\n" + scorenet["markdown"] + "\n\n" + bsde["markdown"])
    figures = [f for f in (curve, scorenet["figure"], bsde["figure"]) if f]
    payload = {"rows": rows, "loss_ratio_last_window": ratio, "scorenet": scorenet["rows"],
               "scorenet_loss_ratio_last_window": scorenet["ratio"], "bsde": bsde["rows"],
               "bsde_loss_ratio_last_window": bsde["ratio"], "figures": figures}
    paths = write_results(cfg.out_dir, NAME + ("_quick" if cfg.quick else ""), payload,
                          config=dataclasses.asdict(cfg), markdown=md, metadata=meta)
    print(md, paths, flush=True)
    return {"rows": rows, "ratio": ratio, "scorenet": scorenet, "bsde": bsde, "paths": paths, "figures": figures}


def window_means(steps, losses, total: int, window: int) -> dict:
    """{"loss_LO_HI": mean of the logged losses at steps in (LO, HI]} for consecutive windows."""
    return {f"loss_{lo}_{lo + window}": float(losses[(steps > lo) & (steps <= lo + window)].mean())
            for lo in range(0, total, window)}


def compare_scorenet(cfg: Config) -> dict:
    """ScoreNet on MNIST in float32 and with bfloat16 layers (the tutorial VE SDE, Adam 1e-3
    with warm-up), same seed and batches."""
    x_train, _ = load_images("mnist_embedded", "train", scale="unit")

    def training(dtype, mesh):
        sde = sg.sde.TutorialVESDE(25.0)
        model = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], dtype=dtype, rngs=nnx.Rngs(0))
        return train.dsm_training(model, sde, mesh, optimizer=train.make_optimizer(1e-3, warmup_steps=200),
                                  key=jax.random.key(0), eps=1e-5)

    return compare_precisions(cfg, "scorenet", "ScoreNet", training, x_train, steps=cfg.scorenet_steps,
                              batch=cfg.scorenet_batch, window=cfg.scorenet_window, ylabel="DSM loss",
                              heading="ScoreNet on MNIST (`ScoreNet(dtype=jnp.bfloat16)`)")


def compare_bsde(cfg: Config) -> dict:
    """BSDE-Gen on MNIST in float32 and with bfloat16 layers: bsde_mnist's reference networks,
    FBSDE, MMD kernel and RMSprop, with `--bsde-euler-steps` Euler steps (the reference: 200)."""
    ref = bsde_mnist.Config(num_steps=cfg.bsde_euler_steps)
    x_train, _ = load_images("mnist_embedded", "train", scale="symmetric")

    def training(dtype, mesh):
        nets = sg.nets.BSDEGenNets(ref.dim_x, ref.dim_w, 784, hidden=ref.hidden, dropout_rate=ref.dropout, dtype=dtype,
                                   rngs=nnx.Rngs(0))
        return train.bsde_training(nets, bsde_mnist.build_fbsde(ref), mesh,
                                   optimizer=train.make_rmsprop(ref.learning_rate), key=jax.random.key(0),
                                   ema_decay=0.0, kernel=bsde_mnist.KERNELS[ref.kernel]())

    return compare_precisions(cfg, "bsde", "BSDE-Gen", training, x_train, steps=cfg.bsde_steps, batch=cfg.bsde_batch,
                              window=cfg.bsde_window, ylabel="MMD² loss",
                              heading=(f"BSDE-Gen on MNIST (`BSDEGenNets(dtype=jnp.bfloat16)`; reference networks, "
                                       f"{cfg.bsde_euler_steps} Euler steps)"))


def compare_precisions(cfg: Config, name: str, label: str, build_training, images, *, steps: int, batch: int,
                       window: int, ylabel: str, heading: str) -> dict:
    """`build_training(dtype, mesh)` trained `steps` steps in float32 and with bfloat16 layers
    from the same seed and batches (each resumable from checkpoints/NAME_precision_*): the loss
    curves (means over `window`-step windows), their last-window ratio and the training rate."""
    mesh = train.make_mesh()
    suffix = "_quick" if cfg.quick else ""
    rows, series = [], {}
    for precision, dtype in (("fp32", None), ("bf16", jnp.bfloat16)):
        training = build_training(dtype, mesh)
        tag = f"{name}_precision_{precision}{suffix}"
        ckpt = train.Checkpointer(os.path.join(cfg.checkpoint_root, tag), max_to_keep=1)
        log_path = os.path.join(cfg.out_dir, f"{NAME}_{tag}_log.jsonl")
        train.fit(training.state, training.step, ImagesOnly(BatchIterator(images, None, batch, seed=0)),
                  num_steps=steps, mesh=mesh, checkpointer=ckpt, checkpoint_every=min(200, steps), log_path=log_path,
                  log_every=max(1, window // 4), progress=cfg.progress, description=f"{label} {precision}")
        ckpt.close()
        log = read_log(log_path)
        at, losses = np.array([r["step"] for r in log]), np.array([r["loss"] for r in log])
        series[precision] = (at, losses)
        windows = window_means(at, losses, steps, window)
        rates = [r["img_per_s"] for r in log[1:] or log]
        rows.append(dict(precision=precision, final_window_loss=list(windows.values())[-1],
                         median_img_s=float(np.median(rates)), **windows))
    ratio = rows[1]["final_window_loss"] / rows[0]["final_window_loss"]
    figure = os.path.join(cfg.out_dir, f"{NAME}_{name}{suffix}.png")
    plots.line_figure(None, series, xlabel="step", ylabel=ylabel, logy=True, filename=figure,
                      title=f"{label} on MNIST: float32 against bfloat16 layers")
    cols = [("precision", "precision", ""), ("final_window_loss", f"mean loss, last {window} steps", ".4g"),
            *[(k, k.replace("loss_", "steps ").replace("_", "–"), ".4g") for k in rows[0] if k.startswith("loss_")],
            ("median_img_s", "training img/s (median; bf16 emulated on CPU)", ".0f")]
    md = (f"## {heading}\n\nSame seed, batches and optimizer; {steps} steps of batch {batch}.  Mixed / float32 mean "
          f"loss over the last {window} steps: {ratio:.4f}.  Curves: `{os.path.basename(figure)}`.\n\n"
          + markdown_table(rows, cols))
    return {"rows": rows, "ratio": ratio, "figure": figure, "markdown": md}


if __name__ == "__main__":
    main()
