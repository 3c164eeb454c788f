"""Loading pytorch-fid's FID Inception weights (a user-supplied .npz of the PyTorch state dict)
into `FIDInceptionV3`, checking every name and shape, and converting the .pth to that .npz."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .network import FIDInceptionV3

__all__ = [
    "ENV_VAR",
    "DEFAULT_WEIGHTS",
    "PTH_NAME",
    "PTH_URL",
    "WEIGHTS_FORMAT",
    "expected_weights",
    "default_weights_path",
    "load_inception",
    "resolve_inception",
    "convert_pytorch_weights",
]

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


def _torch_name(path) -> tuple[str, object]:
    """A pure-dict tree path → (PyTorch state-dict name, layout conversion or None)."""
    keys = [str(getattr(k, "key", getattr(k, "name", k))) for k in path]
    name, convert = _LEAVES[(keys[-2], keys[-1])]
    return ".".join([*keys[:-1], name]), convert


def _torch_shape(shape: tuple, convert) -> tuple:
    if convert is None:
        return tuple(shape)
    if len(shape) == 4:  # HWIO → OIHW
        return (shape[3], shape[2], shape[0], shape[1])
    return tuple(reversed(shape))


def _abstract_model() -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, state of shapes) of `FIDInceptionV3`, without allocating its weights."""
    return nnx.split(nnx.eval_shape(lambda: FIDInceptionV3(rngs=nnx.Rngs(0))))


@functools.lru_cache(maxsize=1)
def _expected() -> dict[str, tuple[int, ...]]:
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(nnx.to_pure_dict(_abstract_model()[1]))[0]:
        name, convert = _torch_name(path)
        out[name] = _torch_shape(leaf.shape, convert)
    return out


def expected_weights() -> dict[str, tuple[int, ...]]:
    """Every array the weights file must hold: PyTorch state-dict name → PyTorch shape."""
    return dict(_expected())


def default_weights_path() -> Path:
    """$SDEGEN_INCEPTION_WEIGHTS, else ~/.cache/sdegen_jax/pt_inception-2015-12-05.npz."""
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


def _check_arrays(arrays: Mapping[str, np.ndarray]) -> None:
    """ValueError naming every missing, unexpected or misshapen array."""
    expected = expected_weights()
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    misshapen = [
        f"{k}: {arrays[k].shape} (expected {shape})"
        for k, shape in expected.items()
        if k in arrays and tuple(arrays[k].shape) != shape
    ]
    if not (missing or unexpected or misshapen):
        return

    def show(items):
        return ", ".join(items[:5]) + (f", … ({len(items)} in all)" if len(items) > 5 else "")

    found = (("missing", missing), ("unexpected", unexpected), ("wrong shapes", misshapen))
    problems = [f"{what} {show(items)}" for what, items in found if items]
    raise ValueError(f"not the FID Inception weights: {'; '.join(problems)}. Expected {WEIGHTS_FORMAT}.")


def load_inception(weights=None) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, state) of `FIDInceptionV3` with the weights of `weights`: an .npz path (default
    `default_weights_path()`) or a mapping name → array in the same format.

    Raises FileNotFoundError for a missing file and ValueError naming every missing, unexpected
    or misshapen array.
    """
    arrays = {k: v for k, v in _read_arrays(weights).items() if not k.endswith(_IGNORED_SUFFIX)}
    _check_arrays(arrays)
    graphdef, state = _abstract_model()

    def fill(path, leaf):
        name, convert = _torch_name(path)
        value = np.asarray(arrays[name], np.float32)
        return jnp.asarray(value if convert is None else convert(value))

    nnx.replace_by_pure_dict(state, jax.tree_util.tree_map_with_path(fill, nnx.to_pure_dict(state)))
    return graphdef, state


@functools.lru_cache(maxsize=2)
def _load_file(path: str):
    return load_inception(path)


def resolve_inception(weights_path=None, model=None) -> tuple[nnx.GraphDef, nnx.State]:
    """`model` when given, else the weights at `weights_path` (default `default_weights_path()`),
    read once per path and cached."""
    if model is not None:
        return model
    return _load_file(str(Path(weights_path or default_weights_path()).expanduser()))


def convert_pytorch_weights(pth_path, npz_path) -> Path:
    """pytorch-fid's .pth → the .npz `load_inception` reads (needs torch; run where it is installed)."""
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
