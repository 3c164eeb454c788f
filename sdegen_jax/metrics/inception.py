"""True Inception FID / IS from a user-supplied weights file (the FID InceptionV3, in Flax NNX).

No JAX Inception implementation works offline: they all download their weights. This module
holds the network (the "FID Inception" of TensorFlow's FID code as ported by pytorch-fid:
InceptionV3 with the 2015-12-05 weights, 1008 logits, and the FID patches — average pools
that ignore padding, a max pool in the last block) and loads the weights from a file that the
user provides.

Weights file (WEIGHTS_FORMAT): an .npz whose arrays are the PyTorch state dict of
pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`, under the same names and layouts, e.g.
"Conv2d_1a_3x3.conv.weight" (out, in, kh, kw), "Conv2d_1a_3x3.bn.running_mean" (32,),
"fc.weight" (1008, 2048). "num_batches_tracked" entries are optional and ignored. Make it once
on a machine with network and PyTorch:

    curl -LO https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
    python -m sdegen_jax.metrics.inception convert pt_inception-2015-12-05-6726825d.pth pt_inception-2015-12-05.npz

and pass its path, or put it at $SDEGEN_INCEPTION_WEIGHTS (default
~/.cache/sdegen_jax/pt_inception-2015-12-05.npz).

    from sdegen_jax.metrics.inception import inception_fid, inception_score
    fid = inception_fid(images_a, images_b, "pt_inception-2015-12-05.npz")  # [0, 1] images, NHWC

Preprocessing follows pytorch-fid: grayscale is repeated to RGB, images are resized to 299×299
bilinearly (half-pixel centers, as torch's align_corners=False) and mapped to [−1, 1]; FID uses
the 2048-d pool3 features, IS the softmax of the 1008 logits. Status: the architecture and the
loader are checked structurally (every state-dict name and shape, conv/pool conventions against
direct computations) but could not be compared with pytorch-fid outputs here (no weights, no
PyTorch offline); the first use with real weights should be checked against pytorch-fid on a
few images. Figures from these weights are comparable to pytorch-fid's (which differ slightly
from the original TensorFlow FID through resizing); the MNIST classifier-FID/IS of
`sdegen_jax.metrics` are NOT comparable to any of them.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

ENV_VAR = "SDEGEN_INCEPTION_WEIGHTS"
DEFAULT_WEIGHTS = Path("~/.cache/sdegen_jax/pt_inception-2015-12-05.npz")
PTH_NAME = "pt_inception-2015-12-05-6726825d.pth"
PTH_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{PTH_NAME}"
WEIGHTS_FORMAT = (
    "an .npz of the PyTorch state dict of pytorch-fid's FID Inception weights "
    f"({PTH_NAME}, from {PTH_URL}) with the state-dict names as keys, e.g. "
    "'Conv2d_1a_3x3.conv.weight' of shape (32, 3, 3, 3); convert the .pth with "
    "`python -m sdegen_jax.metrics.inception convert <pth> <npz>` (needs torch)"
)
POOL3_DIM, NUM_LOGITS, INPUT_SIZE = 2048, 1008, 299


# --------------------------------------------------------------------------- network


class BasicConv2d(nnx.Module):
    """conv (no bias) → batch norm (eps 1e-3, running statistics) → ReLU."""

    def __init__(self, cin, cout, kernel_size, stride=1, padding=0, *, rngs):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        self.conv = nnx.Conv(
            cin, cout, (kh, kw), strides=stride, padding=((ph, ph), (pw, pw)), use_bias=False, rngs=rngs
        )
        self.bn = nnx.BatchNorm(cout, epsilon=1e-3, use_running_average=True, rngs=rngs)

    def __call__(self, x):
        return jax.nn.relu(self.bn(self.conv(x)))


def _avg_pool_3x3_same(x):
    # TensorFlow's average pool: padded zeros are not counted (pytorch-fid's FID patch).
    return nnx.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3_s2(x):
    return nnx.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")


class InceptionA(nnx.Module):
    def __init__(self, cin, pool_features, *, rngs):
        self.branch1x1 = BasicConv2d(cin, 64, 1, rngs=rngs)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1, rngs=rngs)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2, rngs=rngs)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1, rngs=rngs)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1, rngs=rngs)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1, rngs=rngs)
        self.branch_pool = BasicConv2d(cin, pool_features, 1, rngs=rngs)

    def __call__(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_3x3_same(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nnx.Module):
    def __init__(self, cin, *, rngs):
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2, rngs=rngs)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1, rngs=rngs)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1, rngs=rngs)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2, rngs=rngs)

    def __call__(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return jnp.concatenate([b3, bd, _max_pool_3x3_s2(x)], axis=-1)


class InceptionC(nnx.Module):
    def __init__(self, cin, c7, *, rngs):
        self.branch1x1 = BasicConv2d(cin, 192, 1, rngs=rngs)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1, rngs=rngs)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3), rngs=rngs)
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0), rngs=rngs)
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1, rngs=rngs)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0), rngs=rngs)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3), rngs=rngs)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0), rngs=rngs)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3), rngs=rngs)
        self.branch_pool = BasicConv2d(cin, 192, 1, rngs=rngs)

    def __call__(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_avg_pool_3x3_same(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nnx.Module):
    def __init__(self, cin, *, rngs):
        self.branch3x3_1 = BasicConv2d(cin, 192, 1, rngs=rngs)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2, rngs=rngs)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1, rngs=rngs)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3), rngs=rngs)
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0), rngs=rngs)
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2, rngs=rngs)

    def __call__(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return jnp.concatenate([b3, b7, _max_pool_3x3_s2(x)], axis=-1)


class InceptionE(nnx.Module):
    """`pool="avg"`: FIDInceptionE_1 (Mixed_7b); `pool="max"`: FIDInceptionE_2 (Mixed_7c)."""

    def __init__(self, cin, pool: str, *, rngs):
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, 1, rngs=rngs)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1, rngs=rngs)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1), rngs=rngs)
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0), rngs=rngs)
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1, rngs=rngs)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1, rngs=rngs)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1), rngs=rngs)
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0), rngs=rngs)
        self.branch_pool = BasicConv2d(cin, 192, 1, rngs=rngs)

    def __call__(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = jnp.concatenate([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], axis=-1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = jnp.concatenate([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], axis=-1)
        if self.pool == "max":
            # FID Inception quirk (pytorch-fid FIDInceptionE_2): max pool, padded with −inf.
            pooled = nnx.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))
        else:
            pooled = _avg_pool_3x3_same(x)
        return jnp.concatenate([b1, b3, bd, self.branch_pool(pooled)], axis=-1)


class FIDInceptionV3(nnx.Module):
    """InceptionV3 as in pytorch-fid's `fid_inception_v3()`; attribute names = state-dict names.

    `__call__(x)` takes (N, 299, 299, 3) in [−1, 1] and returns (pool3 (N, 2048), logits (N, 1008)).
    """

    def __init__(self, *, rngs: nnx.Rngs):
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2, rngs=rngs)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3, rngs=rngs)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1, rngs=rngs)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1, rngs=rngs)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3, rngs=rngs)
        self.Mixed_5b = InceptionA(192, 32, rngs=rngs)
        self.Mixed_5c = InceptionA(256, 64, rngs=rngs)
        self.Mixed_5d = InceptionA(288, 64, rngs=rngs)
        self.Mixed_6a = InceptionB(288, rngs=rngs)
        self.Mixed_6b = InceptionC(768, 128, rngs=rngs)
        self.Mixed_6c = InceptionC(768, 160, rngs=rngs)
        self.Mixed_6d = InceptionC(768, 160, rngs=rngs)
        self.Mixed_6e = InceptionC(768, 192, rngs=rngs)
        self.Mixed_7a = InceptionD(768, rngs=rngs)
        self.Mixed_7b = InceptionE(1280, "avg", rngs=rngs)
        self.Mixed_7c = InceptionE(2048, "max", rngs=rngs)
        self.fc = nnx.Linear(POOL3_DIM, NUM_LOGITS, rngs=rngs)

    def __call__(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = _max_pool_3x3_s2(x)
        x = _max_pool_3x3_s2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
            self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):  # fmt: skip
            x = block(x)
        pool3 = jnp.mean(x, axis=(1, 2))
        return pool3, self.fc(pool3)


# --------------------------------------------------------------------------- weights

# NNX leaf name → (PyTorch name, layout conversion from the PyTorch array).
_LEAVES = {
    ("conv", "kernel"): ("weight", lambda w: np.transpose(w, (2, 3, 1, 0))),  # OIHW → HWIO
    ("bn", "scale"): ("weight", None),
    ("bn", "bias"): ("bias", None),
    ("bn", "mean"): ("running_mean", None),
    ("bn", "var"): ("running_var", None),
    ("fc", "kernel"): ("weight", lambda w: np.transpose(w)),  # (out, in) → (in, out)
    ("fc", "bias"): ("bias", None),
}
_IGNORED_SUFFIX = ".num_batches_tracked"


def _torch_name(path: tuple) -> tuple[str, object]:
    parent, leaf = str(path[-2]), str(path[-1])
    name, convert = _LEAVES[(parent, leaf)]
    return ".".join([*map(str, path[:-1]), name]), convert


def _torch_shape(shape: tuple, convert) -> tuple:
    if convert is None:
        return tuple(shape)
    if len(shape) == 4:  # HWIO → OIHW
        return (shape[3], shape[2], shape[0], shape[1])
    return tuple(reversed(shape))


@functools.lru_cache(maxsize=1)
def _abstract():
    model = nnx.eval_shape(lambda: FIDInceptionV3(rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    return graphdef, nnx.to_pure_dict(state)


def expected_weights() -> dict[str, tuple[int, ...]]:
    """Every array the weights file must hold: PyTorch state-dict name → PyTorch shape."""
    _, pure = _abstract()
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(pure)[0]:
        keys = tuple(getattr(k, "key", getattr(k, "name", k)) for k in path)
        name, convert = _torch_name(keys)
        out[name] = _torch_shape(leaf.shape, convert)
    return out


def default_weights_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_WEIGHTS).expanduser()


def _missing_file_error(path: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"Inception weights file not found: {path}. True Inception FID/IS needs {WEIGHTS_FORMAT}. "
        f"Pass its path as `weights_path`, or place it at ${ENV_VAR} (default {DEFAULT_WEIGHTS}). "
        "Offline, use the MNIST classifier metrics instead (sdegen_jax.metrics.classifier_fid / "
        "classifier_inception_score; not comparable to Inception numbers)."
    )


def _read_arrays(weights) -> dict[str, np.ndarray]:
    if isinstance(weights, Mapping):
        return {str(k): np.asarray(v) for k, v in weights.items()}
    path = Path(weights if weights is not None else default_weights_path()).expanduser()
    if not path.is_file():
        raise _missing_file_error(path)
    if path.suffix == ".pth":
        raise ValueError(
            f"{path} is a PyTorch checkpoint; convert it first: "
            f"`python -m sdegen_jax.metrics.inception convert {path} {path.with_suffix('.npz')}` (needs torch)."
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as e:
        raise ValueError(f"could not read {path} as an .npz of named arrays ({e}). Expected {WEIGHTS_FORMAT}.") from e


def load_inception(weights=None) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, state) of `FIDInceptionV3` with the weights of `weights`: an .npz path (default
    `default_weights_path()`) or a mapping name → array in the same format.

    Raises FileNotFoundError for a missing file and ValueError naming every missing, unexpected
    or misshapen array.
    """
    arrays = _read_arrays(weights)
    expected = expected_weights()
    arrays = {k: v for k, v in arrays.items() if not k.endswith(_IGNORED_SUFFIX)}
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    misshapen = [f"{k}: {arrays[k].shape} (expected {expected[k]})" for k in expected if k in arrays and tuple(arrays[k].shape) != expected[k]]
    if missing or unexpected or misshapen:
        def show(items):
            return ", ".join(items[:5]) + (f", … ({len(items)} in all)" if len(items) > 5 else "")

        problems = [
            f"missing {show(missing)}" if missing else "",
            f"unexpected {show(unexpected)}" if unexpected else "",
            f"wrong shapes {show(misshapen)}" if misshapen else "",
        ]
        raise ValueError(
            "not the FID Inception weights: " + "; ".join(p for p in problems if p) + f". Expected {WEIGHTS_FORMAT}."
        )
    graphdef, pure = _abstract()

    def fill(path, leaf):
        keys = tuple(getattr(k, "key", getattr(k, "name", k)) for k in path)
        name, convert = _torch_name(keys)
        value = np.asarray(arrays[name], np.float32)
        return jnp.asarray(value if convert is None else convert(value))

    filled = jax.tree_util.tree_map_with_path(fill, pure)
    state = nnx.split(nnx.eval_shape(lambda: FIDInceptionV3(rngs=nnx.Rngs(0))))[1]
    nnx.replace_by_pure_dict(state, filled)
    return graphdef, state


@functools.lru_cache(maxsize=2)
def _load_cached(path: str):
    return load_inception(path)


# --------------------------------------------------------------------------- evaluation


def preprocess(images, scale: str = "unit") -> jax.Array:
    """(N, H, W[, C]) images in [0, 1] ("unit") or [−1, 1] ("symmetric"), C ∈ {1, 3} →
    (N, 299, 299, 3) in [−1, 1], resized bilinearly (half-pixel centers, no antialiasing)."""
    if scale not in ("unit", "symmetric"):
        raise ValueError(f"Unknown scale {scale!r}; expected 'unit' or 'symmetric'.")
    x = jnp.asarray(images, jnp.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {x.shape}.")
    if scale == "symmetric":
        x = (x + 1.0) / 2.0
    x = jnp.clip(x, 0.0, 1.0)
    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    x = jax.image.resize(x, (x.shape[0], INPUT_SIZE, INPUT_SIZE, 3), method="bilinear", antialias=False)
    return 2.0 * x - 1.0


@functools.partial(jax.jit, static_argnums=(0, 3))
def _forward(graphdef, state, images, scale):
    return nnx.merge(graphdef, state)(preprocess(images, scale))


def inception_outputs(images, weights_path=None, scale: str = "unit", batch_size: int = 50, model=None):
    """(pool3 features (N, 2048), logits (N, 1008)) as float32 numpy arrays.

    model: an already loaded (graphdef, state) from `load_inception`, to skip reading the file.
    """
    graphdef, state = model if model is not None else _load_cached(str(Path(weights_path or default_weights_path()).expanduser()))
    images = np.asarray(images)
    n = images.shape[0]
    if n == 0:
        raise ValueError("no images given.")
    bs = min(batch_size, n)
    feats, logits = [], []
    for start in range(0, n, bs):
        xb = images[start : start + bs]
        m = xb.shape[0]
        if m < bs:
            xb = np.concatenate([xb, np.zeros((bs - m, *xb.shape[1:]), xb.dtype)])
        f, lg = _forward(graphdef, state, xb, scale)
        feats.append(np.asarray(f[:m]))
        logits.append(np.asarray(lg[:m]))
    return np.concatenate(feats), np.concatenate(logits)


def inception_fid(images_a, images_b, weights_path=None, scale: str = "unit", batch_size: int = 50, model=None) -> float:
    """Inception FID (pool3, 2048-d) between two image sets, with user-supplied weights."""
    from .fid import fid_from_features

    if model is None:
        model = _load_cached(str(Path(weights_path or default_weights_path()).expanduser()))
    fa = inception_outputs(images_a, scale=scale, batch_size=batch_size, model=model)[0]
    fb = inception_outputs(images_b, scale=scale, batch_size=batch_size, model=model)[0]
    return fid_from_features(fa, fb)


def inception_score(images, weights_path=None, splits: int = 10, scale: str = "unit", batch_size: int = 50, model=None):
    """Inception score (mean, std over `splits`) from the softmax of the 1008 logits."""
    from .inception_score import inception_score_from_probs

    logits = inception_outputs(images, weights_path, scale, batch_size, model)[1].astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return inception_score_from_probs(p / p.sum(axis=1, keepdims=True), splits)


def convert_pytorch_weights(pth_path, npz_path) -> Path:
    """pytorch-fid's .pth → the .npz this module reads (needs torch; run where it is installed)."""
    try:
        import torch
    except ImportError as e:
        raise ImportError("converting the .pth needs PyTorch (pip install torch) on the converting machine.") from e
    state = torch.load(pth_path, map_location="cpu")
    arrays = {k: v.detach().cpu().numpy() for k, v in state.items() if not k.endswith(_IGNORED_SUFFIX)}
    load_inception(arrays)  # validate names and shapes before writing
    npz_path = Path(npz_path)
    np.savez(npz_path, **arrays)
    return npz_path


def _main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sdegen_jax.metrics.inception", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    conv = sub.add_parser("convert", help="convert pytorch-fid's .pth to the .npz format (needs torch)")
    conv.add_argument("pth")
    conv.add_argument("npz")
    check = sub.add_parser("check", help="validate a weights .npz")
    check.add_argument("npz", nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.cmd == "convert":
        print(f"wrote {convert_pytorch_weights(args.pth, args.npz)}")
    else:
        load_inception(args.npz)
        print(f"{args.npz or default_weights_path()}: valid FID Inception weights ({len(expected_weights())} arrays).")


if __name__ == "__main__":
    _main(sys.argv[1:])
