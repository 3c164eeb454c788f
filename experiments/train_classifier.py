"""Train the MNIST classifier behind classifier-FID / classifier-IS (sdegen_jax.metrics).

    python -m experiments.train_classifier                 # packaged weights + results/train_classifier.json
    python -m experiments.train_classifier --quick         # a few epochs into a temporary directory
    python -m experiments.train_classifier --dataset mnist # full MNIST (must be prepared; fails fast)

A LeNet-5-style CNN (sdegen_jax.metrics.classifier.LeNet, 61,706 parameters) trained with
optax Adam (cosine-decayed learning rate) and cross-entropy on the training split, with random
shifts of up to ±`shift` pixels (zero fill) as augmentation. The test split is used only for
the final report, never for model selection. Without `--out`, a full run writes the packaged
weights (sdegen_jax/metrics/weights/mnist_classifier/); `--quick` writes to a fresh temporary
directory and its own results file, so it never overwrites the packaged weights unless `--out`
points there.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments._cli import parse_config, run_metadata, write_json
from sdegen_jax.data import BatchIterator, load_images
from sdegen_jax.metrics.classifier import WEIGHTS_DIR, MNISTClassifier, new_model


@dataclasses.dataclass
class Config:
    dataset: str = "mnist_embedded"  # or "mnist" (full MNIST, must be prepared in the TFDS data dir)
    epochs: int = 60
    batch_size: int = 128
    lr: float = 2e-3
    shift: int = 2  # random shifts of up to ±shift pixels
    seed: int = 0
    out: str = ""  # weights directory; "" = packaged weights (full run) or a temp dir (--quick)
    results: str = "results/train_classifier.json"
    quick: bool = False

    @classmethod
    def quick_overrides(cls):
        return {"epochs": 3, "results": "results/train_classifier_quick.json"}


def random_shift(key, x, shift: int):
    """Shifts each (H, W, C) image of the batch by independent integers in [−shift, shift]."""
    if shift == 0:
        return x
    n, h, w, _ = x.shape
    padded = jnp.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    offsets = jax.random.randint(key, (n, 2), 0, 2 * shift + 1)

    def crop(img, off):
        return jax.lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, img.shape[-1]))

    return jax.vmap(crop)(padded, offsets)


def make_train_step(graphdef, optimizer, shift: int):
    def loss_fn(state, x, y):
        _, logits = nnx.merge(graphdef, state)(x)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, jnp.mean(jnp.argmax(logits, -1) == y)

    @jax.jit
    def step(state, opt_state, key, x, y):
        x = random_shift(key, x, shift)
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(state, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, state)
        return optax.apply_updates(state, updates), opt_state, loss, acc

    return step


def main(cfg: Config) -> dict:
    out = cfg.out or (tempfile.mkdtemp(prefix="mnist_classifier_") if cfg.quick else str(WEIGHTS_DIR))
    try:
        x_train, y_train = load_images(cfg.dataset, "train", scale="unit")
        x_test, y_test = load_images(cfg.dataset, "test", scale="unit")
    except FileNotFoundError as e:  # e.g. full MNIST not prepared offline: say so and stop at once
        raise SystemExit(f"error: {e}") from None
    print(f"{cfg.dataset}: {len(x_train)} train / {len(x_test)} test digits; weights → {out}")

    model = new_model(cfg.seed)
    graphdef, state = nnx.split(model)
    it = BatchIterator(x_train, y_train, cfg.batch_size, seed=cfg.seed)
    total_steps = cfg.epochs * it.steps_per_epoch
    optimizer = optax.adam(optax.cosine_decay_schedule(cfg.lr, total_steps, alpha=0.01))
    opt_state = optimizer.init(state)
    step = make_train_step(graphdef, optimizer, cfg.shift)
    key = jax.random.PRNGKey(cfg.seed)

    history = []
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        losses, accs = [], []
        for _ in range(it.steps_per_epoch):
            xb, yb = next(it)
            key, sub = jax.random.split(key)
            state, opt_state, loss, acc = step(state, opt_state, sub, jnp.asarray(xb), jnp.asarray(yb))
            losses.append(loss)
            accs.append(acc)
        loss, acc = float(np.mean(jax.device_get(losses))), float(np.mean(jax.device_get(accs)))
        history.append({"epoch": epoch + 1, "train_loss": loss, "train_acc_augmented": acc})
        if (epoch + 1) % max(1, cfg.epochs // 10) == 0 or epoch + 1 == cfg.epochs:
            print(f"epoch {epoch + 1:3d}  loss {loss:.4f}  train acc (augmented) {acc:.4f}  {time.perf_counter() - t0:.1f}s")
    jax.block_until_ready(state)
    train_time = time.perf_counter() - t0

    clf = MNISTClassifier(graphdef, state)
    test_acc = clf.accuracy(x_test, y_test)
    train_acc = clf.accuracy(x_train, y_train)
    per_class = {
        str(c): float(np.mean(clf.predict(x_test[y_test == c]) == c)) for c in range(10) if np.any(y_test == c)
    }
    print(f"test accuracy {test_acc:.4f} ({len(x_test)} held-out digits); train accuracy {train_acc:.4f}; {train_time:.1f}s")

    summary = {
        "dataset": cfg.dataset,
        "num_train": int(len(x_train)),
        "num_test": int(len(x_test)),
        "test_accuracy": test_acc,
        "train_accuracy": train_acc,
        "test_accuracy_per_class": per_class,
        "epochs": cfg.epochs,
        "steps": total_steps,
        "train_time_s": round(train_time, 2),
        "num_params": int(sum(np.size(a) for a in jax.tree.leaves(state))),
    }
    clf.save(out, {"config": dataclasses.asdict(cfg), **summary})
    rel = os.path.relpath(out)
    payload = {**summary, "weights_dir": out if rel.startswith("..") else rel, "config": dataclasses.asdict(cfg), "history": history, **run_metadata()}
    write_json(cfg.results, payload)
    print(f"wrote {cfg.results} and weights in {out}")
    return payload


if __name__ == "__main__":
    main(parse_config(Config, description=__doc__))
