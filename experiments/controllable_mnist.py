"""Controllable generation on MNIST with the unconditional ScoreNet of experiments.score_mnist
(seed 000 §4.1; Song et al. 2021 §5 and App. I).

`python -m experiments.controllable_mnist`:
- class-conditional sampling: trains a time-dependent classifier p_t(y | x_t) on digits
  perturbed by the same SDE (sg.nets.NoisyClassifier) and samples each class with the guided
  score ∇log p_t(x) + scale·∇log p_t(y | x) (eq. 4.4); reports the accuracy of the project's
  MNIST classifier on the samples, per class and overall; grid: one row per class;
- inpainting (sg.controllable.impute, replacement method, Euler–Maruyama and
  predictor–corrector) of held-out digits with the right half masked and with random 70 %
  pixel masks; reports the MSE on the masked pixels against two baselines, an unconditional
  sample and the mean training digit;
- colorization: trains an RGB ScoreNet on coloured digits (each digit tinted by a random
  saturated colour) and colours gray held-out digits by decoupled imputation
  (sg.controllable.colorize); grid: gray / coloured / original.
Needs the checkpoint of `python -m experiments.score_mnist` (`--quick` uses, and if needed
trains, its quick one).  Classifier accuracy is that of the project's MNIST classifier.
"""

from __future__ import annotations

import colorsys
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments import likelihood_mnist, score_mnist
from experiments._cli import command_for, fast_compile_when_quick, parse_config, start_metadata
from sdegen_jax import controllable as C
from sdegen_jax import metrics, plots, train
from sdegen_jax.data import BatchIterator, ImagesOnly, load_images
from sdegen_jax.results import markdown_table, write_results


@dataclasses.dataclass
class Config:
    dataset: str = "mnist_embedded"
    checkpoint_dir: str = "checkpoints/score_mnist"  # experiments.score_mnist's ScoreNet
    classifier_steps: int = 3000
    classifier_batch: int = 128
    classifier_lr: float = 1e-3
    guidance_scale: float = 1.0
    samples_per_class: int = 20
    sample_steps: int = 500
    inpaint_images: int = 64
    color_epochs: int = 20  # RGB ScoreNet on coloured digits
    color_images: int = 32
    chunk_size: int = 50
    seed: int = 0
    work_dir: str = "checkpoints/controllable_mnist"
    out_dir: str = "results"
    tag: str = "controllable_mnist"
    progress: bool = True
    quick: bool = False

    @classmethod
    def quick_overrides(cls):
        return dict(checkpoint_dir="checkpoints/score_mnist_quick", classifier_steps=10, classifier_batch=32,
                    samples_per_class=2, sample_steps=10, inpaint_images=8, color_epochs=1, color_images=4,
                    chunk_size=16, work_dir="checkpoints/controllable_mnist_quick", tag="controllable_mnist_quick")


def train_noisy_classifier(cfg, sde, mesh, x_train, y_train, eps):
    """The time-dependent classifier, trained by cross-entropy on x_t = a(t)x + s(t)z."""
    model = sg.nets.NoisyClassifier(lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(cfg.seed))

    def loss(k, model_fn, batch):
        x, y = batch
        k_t, k_z = jax.random.split(k)
        t = jax.random.uniform(k_t, (x.shape[0],), minval=eps, maxval=sde.T)
        x_t = sg.losses.perturb(k_z, sde, x, t)[0]
        logits = model_fn.batched(x_t, t)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    training = train.model_training(model, loss, mesh, optimizer=train.make_optimizer(cfg.classifier_lr),
                                    key=jax.random.key(cfg.seed + 1), ema_decay=0.999)
    batches = BatchIterator(x_train, y_train.astype(np.int32), cfg.classifier_batch, seed=cfg.seed)
    ckpt = train.Checkpointer(os.path.join(cfg.work_dir, "classifier"), max_to_keep=1)
    state = train.fit(training.state, training.step, batches, num_steps=cfg.classifier_steps, mesh=mesh,
                      checkpointer=ckpt, checkpoint_every=500, log_every=50, progress=cfg.progress,
                      description="noisy classifier", log_path=os.path.join(cfg.work_dir, "classifier_log.jsonl"))
    ckpt.close()
    clf = training.score_fn(state.ema_params, state.constants)  # per-sample logits(x, t)
    return lambda x, t: jax.nn.log_softmax(clf(x, t))


def coloured(x, key):
    """Digits (n, 28, 28, 1) in [0, 1] tinted by random saturated colours (random hue)."""
    hues = np.asarray(jax.random.uniform(key, (x.shape[0],)))
    rgb = np.array([colorsys.hsv_to_rgb(h, 1.0, 1.0) for h in hues], np.float32)
    return x * rgb[:, None, None, :]


@fast_compile_when_quick
def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("controllable_mnist", argv)
    os.makedirs(cfg.out_dir, exist_ok=True)
    os.makedirs(cfg.work_dir, exist_ok=True)
    mesh = train.make_mesh()
    lcfg = likelihood_mnist.Config(**{**(likelihood_mnist.Config.quick_overrides() if cfg.quick else {}),
                                      "checkpoint_dir": cfg.checkpoint_dir, "quick": cfg.quick, "out_dir": cfg.out_dir})
    sde, score_fn, s_cfg, step = likelihood_mnist.restore_score_model(lcfg, mesh)
    eps = s_cfg.eps
    x_train, y_train = load_images(cfg.dataset, "train", scale="unit")
    x_test, _ = load_images(cfg.dataset, "test", scale="unit")
    rng = np.random.default_rng(cfg.seed)
    x_test = x_test[rng.permutation(len(x_test))]
    key = jax.random.key(cfg.seed)
    k_cls, k_inp, k_unc, k_col = jax.random.split(key, 4)
    sampler = sg.samplers.EulerMaruyamaScan()

    # Class-conditional sampling.
    class_log_probs = train_noisy_classifier(cfg, sde, mesh, x_train, y_train, eps)
    per_class, rows_img = {}, []
    for c in range(10):
        guided = C.class_conditional_score(score_fn, class_log_probs, c, cfg.guidance_scale)
        x = sg.sample(jax.random.fold_in(k_cls, c), sde, guided, (28, 28, 1), cfg.samples_per_class, method=sampler,
                      steps=cfg.sample_steps, eps=eps, denoise=True, chunk_size=cfg.chunk_size)
        x = np.clip(np.asarray(x), 0.0, 1.0)
        pred = metrics.classifier_probs(x).argmax(-1)
        per_class[c] = float(np.mean(pred == c))
        rows_img.append(x[:10])
    accuracy = float(np.mean(list(per_class.values())))
    grid_cls = plots.save_image_grid(np.concatenate(rows_img), os.path.join(cfg.out_dir, f"{cfg.tag}_classes.png"),
                                     nrow=min(10, cfg.samples_per_class), title=f"guided (scale {cfg.guidance_scale}), rows: 0-9")

    # Inpainting against an unconditional sample and the mean digit.
    n = cfg.inpaint_images
    truth = x_test[:n]
    masks = {"right_half": np.broadcast_to((np.arange(28) < 14)[None, None, :, None], truth.shape).astype(np.float32),
             "random_70": (np.random.default_rng(cfg.seed + 1).random(truth.shape) < 0.3).astype(np.float32)}
    unconditional = np.clip(np.asarray(sg.sample(k_unc, sde, score_fn, (28, 28, 1), n, method=sampler,
                                                 steps=cfg.sample_steps, eps=eps, denoise=True, chunk_size=cfg.chunk_size)), 0, 1)
    mean_digit = np.broadcast_to(x_train.mean(0), truth.shape)
    inpaint_rows = []
    for mname, mask in masks.items():
        unknown = 1.0 - mask
        mse = lambda x: float(np.sum(unknown * (x - truth) ** 2) / np.sum(unknown))
        for pname, method in (("em", sampler), ("pc", sg.samplers.PredictorCorrector(snr=0.16))):
            x, info = C.impute(jax.random.fold_in(k_inp, len(inpaint_rows)), sde, score_fn, truth, mask, method=method,
                               steps=cfg.sample_steps, eps=eps, denoise=True, chunk_size=cfg.chunk_size)
            x = np.clip(np.asarray(x), 0.0, 1.0)
            inpaint_rows.append({"mask": mname, "method": pname, "nfe": int(info.nfe), "mse": mse(x),
                                 "mse_unconditional": mse(unconditional), "mse_mean_digit": mse(mean_digit)})
            k = min(8, n)
            plots.save_image_grid(np.concatenate([truth[:k], (truth * mask)[:k], x[:k]]),
                                  os.path.join(cfg.out_dir, f"{cfg.tag}_inpaint_{mname}_{pname}.png"), nrow=k,
                                  title=f"inpainting {mname} ({pname}): truth / known / inpainted")

    # Colorization with an RGB ScoreNet trained on coloured digits.
    x_col, y_col = coloured(x_train, jax.random.key(cfg.seed + 2)), y_train
    if cfg.quick:  # score_mnist --quick's budget: a random 320 digits (the split is sorted by class)
        keep = np.random.default_rng(cfg.seed).permutation(len(x_col))[:320]
        x_col, y_col = x_col[keep], y_col[keep]
    col_cfg = score_mnist.Config(**{**(score_mnist.Config.quick_overrides() if cfg.quick else {})})
    rgb_model = sg.nets.ScoreNet(lambda t: sde.marginal_coeffs(t)[1], in_channels=3, rngs=nnx.Rngs(cfg.seed))
    rgb_training = train.dsm_training(rgb_model, sde, mesh, optimizer=train.make_optimizer(
        col_cfg.learning_rate, warmup_steps=col_cfg.warmup_steps, grad_clip=col_cfg.grad_clip), key=k_col, eps=eps)
    col_batches = BatchIterator(x_col, y_col, col_cfg.batch_size, seed=cfg.seed)
    ckpt = train.Checkpointer(os.path.join(cfg.work_dir, "rgb_scorenet"), max_to_keep=1)
    state = train.fit(rgb_training.state, rgb_training.step, ImagesOnly(col_batches),
                      num_steps=cfg.color_epochs * col_batches.steps_per_epoch, mesh=mesh, checkpointer=ckpt,
                      checkpoint_every=500, log_every=50, progress=cfg.progress, description="RGB ScoreNet")
    ckpt.close()
    rgb_score = rgb_training.score_fn(state.ema_params, state.constants)
    originals = coloured(x_test[: cfg.color_images], jax.random.key(cfg.seed + 3))
    gray = originals.mean(-1, keepdims=True)
    colours, _ = C.colorize(k_col, sde, rgb_score, gray, method=sampler, steps=cfg.sample_steps, eps=eps,
                            denoise=True, chunk_size=cfg.chunk_size)
    colours = np.clip(np.asarray(colours), 0.0, 1.0)
    k = min(8, cfg.color_images)
    grid_col = plots.save_image_grid(np.concatenate([np.repeat(gray[:k], 3, -1), colours[:k], originals[:k]]),
                                     os.path.join(cfg.out_dir, f"{cfg.tag}_colorization.png"), nrow=k,
                                     title="colorization: gray / coloured / original")
    gray_error = float(np.abs(colours.mean(-1, keepdims=True) - gray).mean())

    md = markdown_table([{"c": str(c), "acc": a} for c, a in per_class.items()] + [{"c": "all", "acc": accuracy}],
                        [("c", "class", "s"), ("acc", "classifier accuracy of guided samples", ".3f")])
    md += "\n\n" + markdown_table(inpaint_rows, [
        ("mask", "mask", "s"), ("method", "sampler", "s"), ("nfe", "NFE", "d"), ("mse", "MSE on masked pixels", ".4f"),
        ("mse_unconditional", "unconditional sample", ".4f"), ("mse_mean_digit", "mean digit", ".4f")])
    md += (f"\n\nScoreNet of {cfg.checkpoint_dir} (step {step}); {cfg.sample_steps} steps, denoised end; guidance scale "
           f"{cfg.guidance_scale}, {cfg.samples_per_class} samples per class; {n} held-out digits inpainted. "
           f"Colorization: mean |gray(coloured) − gray| = {gray_error:.4f} (clipping only).\n")
    payload = {"per_class_accuracy": per_class, "accuracy": accuracy, "inpainting": inpaint_rows,
               "colorization_gray_error": gray_error, "score_checkpoint": {"dir": cfg.checkpoint_dir, "step": step},
               "figures": {"classes": grid_cls, "colorization": grid_col}}
    paths = write_results(cfg.out_dir, cfg.tag, payload, config=cfg, command=command_for("controllable_mnist", argv),
                          markdown=md, metadata=meta)
    print(md)
    return {**payload, **paths}


if __name__ == "__main__":
    main()
