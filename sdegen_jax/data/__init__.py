"""Data layer: MNIST through TFDS (with an offline embedded default), pixel transforms, and
deterministic resumable batch iterators (toy distributions live in `sdegen_jax.toy`). No Flax;
TFDS is imported lazily.

    from sdegen_jax.data import load_images, BatchIterator
    x, y = load_images("mnist_embedded", "train", scale="symmetric", resize=32)
    it = BatchIterator(x, y, batch_size=128, seed=0, dequantize=True, scale="symmetric")
    xb, yb = next(it); saved = it.state_dict()   # resume later with state=saved
"""

from .images import load_images
from .iterator import BatchIterator, ImagesOnly, IteratorState, permutation
from .sampled import SampledBatches
from .paths import ENV_VAR, resolve_data_dir
from .sources import DATASETS, SPLITS
from .transforms import SCALES, dequantize, pad_to, scale_pixels, to_pixels

__all__ = [
    "load_images",
    "BatchIterator",
    "ImagesOnly",
    "SampledBatches",
    "IteratorState",
    "permutation",
    "resolve_data_dir",
    "ENV_VAR",
    "DATASETS",
    "SPLITS",
    "SCALES",
    "pad_to",
    "scale_pixels",
    "to_pixels",
    "dequantize",
]
