"""The project's MNIST classifier: a LeNet-5-style CNN whose penultimate activations and class
probabilities give the classifier-FID and classifier-IS of MNIST samples.

Offline, no Inception weights can be downloaded (docs/metrics.md), so MNIST sample quality is
measured, as in the FDP reference code (LeNet-5), with this small classifier trained on the
embedded real digits (`python -m experiments.train_classifier`). Its FID/IS figures are NOT
comparable to published Inception FID/IS numbers: different network, feature space (84-d
instead of 2048-d), and training data. Compare them only with each other, computed with the
same packaged weights and the same number of samples.

    from sdegen_jax.metrics import load_classifier
    clf = load_classifier()                       # packaged weights, cached
    f = clf.features(x)                           # (N, 84) penultimate (post-ReLU) activations
    p = clf.probs(x, scale="symmetric")           # (N, 10) softmax; x in [−1, 1]

Inputs: (N, 28, 28, 1), (N, 28, 28), or 32×32 versions (center-cropped to 28×28, undoing the
2-px zero padding of `load_images(resize=32)`); `scale="unit"` for [0, 1] pixels,
`"symmetric"` for [−1, 1]. Pixels are clipped to the valid range before classification, as
samples are when turned into images.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .batching import apply_in_batches
from .inception_score import probs_from_logits
from .pixels import to_unit_nhwc

__all__ = [
    "NUM_CLASSES",
    "FEATURE_DIM",
    "IMAGE_SIZE",
    "WEIGHTS_DIR",
    "STATE_SUBDIR",
    "INFO_FILE",
    "LeNet",
    "prepare_images",
    "new_model",
    "MNISTClassifier",
    "load_classifier",
    "features",
    "probs",
]

NUM_CLASSES = 10
FEATURE_DIM = 84
IMAGE_SIZE = 28
# Mean and std of MNIST pixels in [0, 1]; the network standardises its input with them.
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "mnist_classifier"
STATE_SUBDIR = "state"  # the orbax checkpoint (a pure dict of arrays)
INFO_FILE = "info.json"  # architecture version, training summary


class LeNet(nnx.Module):
    """conv(6, 5×5, same)-pool-conv(16, 5×5, valid)-pool-dense(120)-dense(84)-dense(10), ReLU.

    61,706 parameters. `__call__` returns (features (N, 84), logits (N, 10)) for (N, 28, 28, 1)
    inputs in [0, 1].
    """

    def __init__(self, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 6, kernel_size=(5, 5), padding="SAME", rngs=rngs)
        self.conv2 = nnx.Conv(6, 16, kernel_size=(5, 5), padding="VALID", rngs=rngs)
        self.fc1 = nnx.Linear(16 * 5 * 5, 120, rngs=rngs)
        self.fc2 = nnx.Linear(120, FEATURE_DIM, rngs=rngs)
        self.head = nnx.Linear(FEATURE_DIM, NUM_CLASSES, rngs=rngs)

    def __call__(self, x):
        x = (x - PIXEL_MEAN) / PIXEL_STD
        x = nnx.max_pool(jax.nn.relu(self.conv1(x)), (2, 2), strides=(2, 2))  # 14×14×6
        x = nnx.max_pool(jax.nn.relu(self.conv2(x)), (2, 2), strides=(2, 2))  # 5×5×16
        x = x.reshape(x.shape[0], -1)
        x = jax.nn.relu(self.fc1(x))
        features = jax.nn.relu(self.fc2(x))
        return features, self.head(features)


def prepare_images(images, scale: str = "unit", clip: bool = True) -> jax.Array:
    """Any accepted input → (N, 28, 28, 1) float32 in [0, 1] (see the module docstring)."""
    x = to_unit_nhwc(jnp.asarray(images, jnp.float32), scale, channels=(1,), clip=clip)
    h, w = x.shape[1:3]
    if (h, w) == (32, 32):
        x = x[:, 2:30, 2:30]
    elif (h, w) != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected 28×28 or 32×32 (center-cropped) images, got {h}×{w}.")
    return x


@functools.partial(jax.jit, static_argnums=0)
def _forward(graphdef, state, x):
    return nnx.merge(graphdef, state)(x)


def new_model(seed: int = 0) -> LeNet:
    """A freshly initialised (untrained) `LeNet`."""
    return LeNet(rngs=nnx.Rngs(seed))


@dataclass(frozen=True, eq=False)
class MNISTClassifier:
    """A trained `LeNet` (graphdef + parameter state) with batched, jit-compiled evaluation."""

    graphdef: nnx.GraphDef
    state: nnx.State
    info: dict | None = None

    @classmethod
    def from_model(cls, model: LeNet, info: dict | None = None) -> MNISTClassifier:
        graphdef, state = nnx.split(model)
        return cls(graphdef, state, info)

    def model(self) -> LeNet:
        return nnx.merge(self.graphdef, self.state)

    def apply(self, images, scale: str = "unit", batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, 84), logits (N, 10)) as float32 numpy arrays, in batches of `batch_size`
        (`apply_in_batches`: one compilation serves any N)."""
        return apply_in_batches(
            functools.partial(_forward, self.graphdef, self.state), prepare_images(images, scale), batch_size
        )

    def features(self, images, scale: str = "unit", batch_size: int = 500) -> np.ndarray:
        """Penultimate (post-ReLU, 84-d) activations, (N, 84) float32."""
        return self.apply(images, scale, batch_size)[0]

    def logits(self, images, scale: str = "unit", batch_size: int = 500) -> np.ndarray:
        return self.apply(images, scale, batch_size)[1]

    def probs(self, images, scale: str = "unit", batch_size: int = 500) -> np.ndarray:
        """Class probabilities p(y | x), (N, 10) float64 (rows sum to 1)."""
        return probs_from_logits(self.logits(images, scale, batch_size))

    def predict(self, images, scale: str = "unit", batch_size: int = 500) -> np.ndarray:
        return self.logits(images, scale, batch_size).argmax(axis=1)

    def accuracy(self, images, labels, scale: str = "unit", batch_size: int = 500) -> float:
        return float(np.mean(self.predict(images, scale, batch_size) == np.asarray(labels)))

    def save(self, directory: str | os.PathLike, info: dict | None = None) -> Path:
        """Writes the orbax checkpoint `directory/state` and `directory/info.json` (replacing them)."""
        import orbax.checkpoint as ocp

        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        ckpt = ocp.StandardCheckpointer()
        ckpt.save(directory / STATE_SUBDIR, nnx.to_pure_dict(self.state), force=True)
        ckpt.wait_until_finished()
        ckpt.close()
        with open(directory / INFO_FILE, "w") as f:
            json.dump({"architecture": "LeNet-5 (6-16-120-84-10)", **(info or self.info or {})}, f, indent=2)
            f.write("\n")
        return directory


def load_classifier(path: str | os.PathLike | None = None) -> MNISTClassifier:
    """The classifier saved at `path` (default: the weights packaged with sdegen_jax).

    The packaged classifier is loaded once and cached. Raises FileNotFoundError when the
    weights are missing (train them with `python -m experiments.train_classifier`).
    """
    if path is None:
        return _packaged_classifier()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _packaged_classifier() -> MNISTClassifier:
    return _load(WEIGHTS_DIR)


def _load(directory: Path) -> MNISTClassifier:
    directory = directory.resolve()
    if not (directory / STATE_SUBDIR).is_dir():
        raise FileNotFoundError(
            f"No MNIST classifier weights in {directory} (expected an orbax checkpoint in "
            f"{directory / STATE_SUBDIR}). Train them with `python -m experiments.train_classifier` "
            "(which writes the packaged weights to sdegen_jax/metrics/weights/mnist_classifier/)."
        )
    import orbax.checkpoint as ocp

    abstract = nnx.eval_shape(lambda: new_model(0))
    graphdef, abstract_state = nnx.split(abstract)
    # Restore against an abstract target placed on this process's first device, so a checkpoint
    # written on another machine or device count loads here.
    sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding), nnx.to_pure_dict(abstract_state)
    )
    ckpt = ocp.StandardCheckpointer()
    try:
        restored = ckpt.restore(directory / STATE_SUBDIR, target)
    finally:
        ckpt.close()
    nnx.replace_by_pure_dict(abstract_state, restored)
    info = None
    if (directory / INFO_FILE).is_file():
        with open(directory / INFO_FILE) as f:
            info = json.load(f)
    return MNISTClassifier(graphdef, abstract_state, info)


def _resolve(classifier) -> MNISTClassifier:
    if classifier is None:
        return load_classifier()
    if isinstance(classifier, (str, os.PathLike)):
        return load_classifier(classifier)
    return classifier


def features(images, scale: str = "unit", classifier: MNISTClassifier | None = None, batch_size: int = 500) -> np.ndarray:
    """Penultimate activations (N, 84) of the packaged (or given) classifier."""
    return _resolve(classifier).features(images, scale, batch_size)


def probs(images, scale: str = "unit", classifier: MNISTClassifier | None = None, batch_size: int = 500) -> np.ndarray:
    """Softmax class probabilities (N, 10) of the packaged (or given) classifier."""
    return _resolve(classifier).probs(images, scale, batch_size)
