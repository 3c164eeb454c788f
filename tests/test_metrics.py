"""MNIST quality metrics: packaged classifier, classifier-FID/IS, Fréchet distance against closed
forms, reconstruction error with an exact score, the Inception network, weights loader and
command, the shared pixel-scale and batching helpers, and the package's Flax-free import."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax.data import load_images
from sdegen_jax.metrics import (
    classifier_fid,
    classifier_inception_score,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score_from_probs,
    load_classifier,
    ode_reconstruction,
    probs_from_logits,
    reconstruction_error,
)
from sdegen_jax.metrics.batching import apply_in_batches
from sdegen_jax.metrics.classifier import WEIGHTS_DIR
from sdegen_jax.metrics.pixels import to_unit_nhwc


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_metrics_does_not_load_flax():
    r = _python(
        "import sys, sdegen_jax.metrics as m; m.classifier_fid, m.frechet_distance; "
        "print(sorted(k for k in sys.modules if k == 'flax' or k.startswith('flax.')))"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_metrics_exports_no_figures():
    import sdegen_jax.metrics as m

    for name in ("make_grid", "save_image_grid", "save_curves"):
        assert name not in m.__all__ and not hasattr(m, name), name


# --------------------------------------------------------------------------- shared helpers


def test_to_unit_nhwc_closed_form():
    x = np.array([-1.5, -1.0, 0.0, 0.5, 1.0, 2.0], np.float32).reshape(1, 2, 3)
    np.testing.assert_allclose(to_unit_nhwc(x, "symmetric")[..., 0], [[[0.0, 0.0, 0.5], [0.75, 1.0, 1.0]]])
    np.testing.assert_allclose(to_unit_nhwc(x, "unit")[..., 0], [[[0.0, 0.0, 0.0], [0.5, 1.0, 1.0]]])
    np.testing.assert_allclose(to_unit_nhwc(x, "unit", clip=False)[..., 0], x[0][None])
    assert to_unit_nhwc(jnp.zeros((2, 4, 4, 3)), "unit").shape == (2, 4, 4, 3)
    with pytest.raises(ValueError, match=r"Unknown scale '0-255'.*'unit', 'symmetric'"):
        to_unit_nhwc(x, "0-255")
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\), got shape \(1, 2, 3, 3\)"):
        to_unit_nhwc(np.zeros((1, 2, 3, 3)), "unit", channels=(1,))


def test_apply_in_batches_remainder_and_one_compilation():
    traced = []

    @jax.jit
    def fn(xb):
        traced.append(xb.shape)  # runs only when jit traces
        return xb.sum(axis=1), 2 * xb

    for n in (1, 3, 4, 9):
        x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
        for images in (x, jnp.asarray(x)):
            s, d = apply_in_batches(fn, images, 4)
            assert isinstance(s, np.ndarray) and s.shape == (n,) and d.shape == (n, 2)
            np.testing.assert_array_equal(s, x.sum(axis=1))
            np.testing.assert_array_equal(d, 2 * x)
    assert traced == [(4, 2)]


def test_apply_in_batches_bad_input():
    def fn(xb):
        return (xb,)

    with pytest.raises(ValueError, match=r"no images given.*N >= 1"):
        apply_in_batches(fn, np.zeros((0, 2)), 4)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        apply_in_batches(fn, np.zeros((3, 2)), 0)


def test_probs_from_logits():
    # exp(1000) overflows: the rows are shifted by their maximum first.
    p = probs_from_logits(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0 + np.log(3.0)]]))
    np.testing.assert_allclose(p, [[0.25, 0.75], [0.25, 0.75]], rtol=1e-12)
    assert probs_from_logits(np.zeros((2, 4), np.float32)).dtype == np.float64


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


@pytest.fixture(scope="module")
def test_split():
    return load_images("mnist_embedded", "test", scale="unit")


@pytest.fixture(scope="module")
def train_split():
    return load_images("mnist_embedded", "train", scale="unit")


# --------------------------------------------------------------------------- classifier


def test_packaged_weights_exist():
    assert (WEIGHTS_DIR / "state").is_dir(), "train them: python -m experiments.train_classifier"


def test_classifier_accuracy_on_held_out_digits(clf, test_split):
    x, y = test_split
    assert clf.accuracy(x, y) >= 0.95


def test_classifier_input_formats_agree(clf, test_split):
    x = test_split[0][:37]
    f, p = clf.features(x), clf.probs(x)
    assert f.shape == (37, 84) and p.shape == (37, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))  # as load_images(resize=32)
    np.testing.assert_allclose(clf.features(2.0 * padded - 1.0, scale="symmetric"), f, atol=1e-4)
    np.testing.assert_allclose(clf.features(x[..., 0], batch_size=8), f, atol=1e-4)  # (N, 28, 28), ragged batches
    with pytest.raises(ValueError, match="scale"):
        clf.features(x, scale="0-255")
    with pytest.raises(ValueError, match="28×28 or 32×32"):
        clf.features(np.zeros((2, 30, 30, 1)))
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\)"):
        clf.features(np.zeros((2, 28, 28, 3)))


# --------------------------------------------------------------------------- FID


def test_frechet_distance_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3.0, 6), rng.uniform(0.1, 3.0, 6)
    exact = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2)) == pytest.approx(exact, rel=1e-10)


def test_frechet_distance_full_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    c1, c2 = a @ a.T, b @ b.T + 1e-3 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    fd = frechet_distance(mu1, c1, mu2, c2)
    # Symmetric, invariant under a common rotation, zero against itself.
    assert frechet_distance(mu2, c2, mu1, c1) == pytest.approx(fd, rel=1e-9)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert frechet_distance(q @ mu1, q @ c1 @ q.T, q @ mu2, q @ c2 @ q.T) == pytest.approx(fd, rel=1e-9)
    assert frechet_distance(mu1, c1, mu1, c1) < 1e-10
    # W2² between Gaussians: tr(C1 + C2 − 2 (C1 C2)^{1/2}) with (C1 C2)^{1/2} from an independent route.
    w, v = np.linalg.eig(c1 @ c2)  # C1 C2 is diagonalisable with eigenvalues ≥ 0
    tr_sqrt = np.sum(np.sqrt(np.clip(w.real, 0, None)))
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * tr_sqrt
    assert fd == pytest.approx(exact, rel=1e-8)


def test_frechet_distance_singular_covariances():
    # Rank-deficient covariances (dead ReLU features) are fine: no NaN, exact value.
    c1 = np.diag([1.0, 0.0, 4.0])
    c2 = np.diag([0.0, 0.0, 1.0])
    assert frechet_distance(np.zeros(3), c1, np.zeros(3), c2) == pytest.approx(1.0 + 0.0 + 1.0)
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(3), c1, np.zeros(2), np.eye(2))


def test_feature_statistics():
    f = np.random.default_rng(2).normal(size=(100, 3))
    mu, cov = feature_statistics(f)
    np.testing.assert_allclose(mu, f.mean(0))
    np.testing.assert_allclose(cov, np.cov(f.T))


def test_classifier_fid_sanity(clf, test_split, train_split):
    x, xt = test_split[0], train_split[0]
    ft = clf.features(xt)
    assert classifier_fid(x, x, clf) < 1e-3
    rng = np.random.default_rng(0)
    p = rng.permutation(len(xt))
    train_halves = fid_from_features(ft[p[: len(p) // 2]], ft[p[len(p) // 2 :]])  # 2,250 vs 2,250 digits
    q = rng.permutation(len(x))
    test_halves = classifier_fid(x[q[:250]], x[q[250:]], clf)  # 250 vs 250: larger finite-sample bias
    noise = rng.random((500, 28, 28, 1), dtype=np.float32)
    noise_fid = classifier_fid(x, noise, clf)
    assert noise_fid > 100 * train_halves
    assert test_halves < noise_fid / 20
    assert classifier_fid(x, xt, clf) < noise_fid / 100


# --------------------------------------------------------------------------- Inception score


def test_inception_score_from_probs_limits():
    one_hot = np.eye(10)[np.arange(1000) % 10]
    assert inception_score_from_probs(one_hot)[0] == pytest.approx(10.0)
    same = np.tile(np.full(10, 0.1), (50, 1))
    assert inception_score_from_probs(same)[0] == pytest.approx(1.0)
    mean, std = inception_score_from_probs(one_hot, splits=10)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-12)


def test_classifier_inception_score(clf, test_split):
    x = test_split[0]
    assert classifier_inception_score(x, clf) > 7.0
    assert classifier_inception_score(np.repeat(x[:1], 64, axis=0), clf) < 1.1


# --------------------------------------------------------------------------- reconstruction


def test_reconstruction_error_definition():
    x = np.zeros((2, 4, 4, 1))
    assert reconstruction_error(x, x + 0.1) == pytest.approx(0.01)
    # [−1, 1] images are measured in [0, 1] pixel scale.
    assert reconstruction_error(2 * x - 1, 2 * (x + 0.1) - 1, scale="symmetric") == pytest.approx(0.01)
    with pytest.raises(ValueError, match="shape"):
        reconstruction_error(x, x[:1])


@pytest.mark.parametrize("sde, eps", [(sg.sde.VESDE(sigma_min=0.01, sigma_max=10.0), 1e-5), (sg.sde.VPSDE(), 1e-3)])
def test_ode_reconstruction_exact_score_is_lossless(sde, eps):
    g = sg.toy.GaussianMixture([0.3, 0.7], [[-2.0, 1.0], [2.0, 0.5]], [[0.5, 0.5], [0.3, 0.8]])
    x0 = g.sample(jax.random.PRNGKey(0), 64)
    ode = sg.samplers.ProbabilityFlowODE(rtol=1e-5, atol=1e-5)
    r = ode_reconstruction(jax.random.PRNGKey(1), sde, g.score_fn(sde), x0, eps=eps, ode=ode)
    assert r.x_rec.shape == x0.shape
    assert r.error < 1e-6 * float(jnp.var(x0))  # solver error only
    assert float(jnp.std(r.x_T)) == pytest.approx(float(sde.prior_std), rel=0.3)
    assert r.nfe_encode > 0 and r.nfe_decode > 0


# --------------------------------------------------------------------------- Inception


def test_missing_inception_weights_error(tmp_path, monkeypatch):
    from sdegen_jax.metrics import inception_fid, inception_is

    x = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(FileNotFoundError, match=r"pt_inception-2015-12-05.*SDEGEN_INCEPTION_WEIGHTS"):
        inception_fid(x, x, tmp_path / "missing.npz")
    monkeypatch.setenv("SDEGEN_INCEPTION_WEIGHTS", str(tmp_path / "elsewhere.npz"))
    with pytest.raises(FileNotFoundError, match="elsewhere.npz"):
        inception_is(x)


def test_inception_expected_weights_match_pytorch_fid():
    from sdegen_jax.metrics.inception import expected_weights

    e = expected_weights()
    # pytorch-fid's state dict (without num_batches_tracked): 94 conv+BN units × 5 arrays + fc.
    assert len(e) == 94 * 5 + 2
    assert e["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert e["Mixed_6b.branch7x7_2.conv.weight"] == (128, 128, 1, 7)
    assert e["Mixed_7c.branch_pool.conv.weight"] == (192, 2048, 1, 1)
    assert e["fc.weight"] == (1008, 2048) and e["fc.bias"] == (1008,)
    # torchvision's inception_v3 has 27,161,264 parameters; minus AuxLogits (3,326,696), with
    # 1008 instead of 1000 classes (+16,392) and the BN running statistics (2 × 17,216).
    assert sum(int(np.prod(s)) for s in e.values()) == 27_161_264 - 3_326_696 + 16_392 + 2 * 17_216


def test_bad_inception_weights_file(tmp_path):
    from sdegen_jax.metrics.inception import load_inception

    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"Conv2d_1a_3x3.conv.weight": np.zeros((32, 3, 3, 3), np.float32), "foo": np.zeros(2)})
    with pytest.raises(ValueError, match=r"missing .*unexpected foo.*pt_inception"):
        load_inception(bad)
    pth = tmp_path / "weights.pth"
    pth.write_bytes(b"x")
    with pytest.raises(ValueError, match="convert"):
        load_inception(pth)


def test_inception_conv_and_pool_conventions():
    """PyTorch OIHW conv weights and BN statistics load into the NNX layers with the same
    meaning (asymmetric kernel and padding), and the FID average pool ignores padding."""
    from flax import nnx

    from sdegen_jax.metrics.inception.network import BasicConv2d, _avg_pool_3x3_same
    from sdegen_jax.metrics.inception.weights import _LEAVES

    rng = np.random.default_rng(0)
    layer = BasicConv2d(3, 4, (1, 3), padding=(0, 1), rngs=nnx.Rngs(0))
    w = rng.normal(size=(4, 3, 1, 3)).astype(np.float32)  # OIHW
    gamma, beta, mean, var = (rng.uniform(0.5, 1.5, 4).astype(np.float32) for _ in range(4))
    layer.conv.kernel[...] = jnp.asarray(_LEAVES[("conv", "kernel")][1](w))
    layer.bn.scale[...], layer.bn.bias[...] = jnp.asarray(gamma), jnp.asarray(beta - 1.0)
    layer.bn.mean[...], layer.bn.var[...] = jnp.asarray(mean), jnp.asarray(var)
    x = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    ref = jax.lax.conv_general_dilated(
        jnp.transpose(x, (0, 3, 1, 2)), w, (1, 1), ((0, 0), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    ref = (ref - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3) * gamma[:, None, None] + (beta - 1.0)[:, None, None]
    np.testing.assert_allclose(layer(x), np.transpose(np.maximum(ref, 0), (0, 2, 3, 1)), atol=1e-4)
    pooled = _avg_pool_3x3_same(jnp.ones((1, 4, 4, 1)))
    np.testing.assert_allclose(pooled, 1.0, atol=1e-6)  # counts only real pixels at the border


def test_inception_public_names():
    import sdegen_jax.metrics as m
    from sdegen_jax.metrics import inception
    from sdegen_jax.metrics.inception import (  # noqa: F401  (the names docs/metrics.md and the docstrings use)
        ENV_VAR,
        WEIGHTS_FORMAT,
        FIDInceptionV3,
        convert_pytorch_weights,
        default_weights_path,
        expected_weights,
        inception_fid,
        inception_outputs,
        inception_score,
        load_inception,
        preprocess,
    )

    assert m.inception_fid is inception_fid and m.inception_is is inception_score and m.load_inception is load_inception
    assert all(hasattr(inception, name) for name in inception.__all__)
    assert ENV_VAR == "SDEGEN_INCEPTION_WEIGHTS"


def test_inception_preprocess_closed_form():
    from sdegen_jax.metrics.inception import preprocess

    # Bilinear resizing keeps a constant image constant; [0, 1] maps affinely to [−1, 1].
    x = preprocess(np.full((2, 28, 28), 0.75, np.float32))
    assert x.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(x, 0.5, atol=1e-6)
    np.testing.assert_allclose(preprocess(-np.ones((1, 8, 8, 3), np.float32), scale="symmetric"), -1.0, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\), got shape \(1, 8, 8, 2\)"):
        preprocess(np.zeros((1, 8, 8, 2)))
    with pytest.raises(ValueError, match="Unknown scale 'pixels'"):
        preprocess(np.zeros((1, 8, 8)), scale="pixels")


def test_inception_command(tmp_path):
    """`python -m sdegen_jax.metrics.inception check` runs and names the missing file."""
    missing = tmp_path / "missing.npz"
    r = subprocess.run(
        [sys.executable, "-m", "sdegen_jax.metrics.inception", "check", str(missing)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1
    assert f"Inception weights file not found: {missing}" in r.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("SDEGEN_SLOW_TESTS"),
    reason="compiles the full InceptionV3 (~15-30 s on 2 CPUs); run with SDEGEN_SLOW_TESTS=1",
)
def test_inception_end_to_end_with_random_weights():
    """The whole path (loader, preprocessing, network, FID, IS) with He-initialised weights."""
    from sdegen_jax.metrics.inception import expected_weights, inception_fid, inception_outputs, inception_score, load_inception

    rng = np.random.default_rng(0)
    arrays = {}
    for name, shape in expected_weights().items():
        if name.endswith(("running_var", "bn.weight")):
            arrays[name] = np.ones(shape, np.float32)
        elif name.endswith(("running_mean", "bn.bias", "fc.bias")):
            arrays[name] = np.zeros(shape, np.float32)
        else:
            arrays[name] = rng.standard_normal(shape, dtype=np.float32) * np.sqrt(2.0 / np.prod(shape[1:]))
    model = load_inception(arrays)
    x = rng.random((4, 28, 28, 1), dtype=np.float32)
    pool3, logits = inception_outputs(x, model=model, batch_size=2)
    assert pool3.shape == (4, 2048) and logits.shape == (4, 1008) and np.isfinite(pool3).all()
    assert inception_fid(x[:2], x[:2], model=model, batch_size=2) < 1e-6
    assert inception_fid(x[:2], 0.5 * x[2:], model=model, batch_size=2) > 0
    assert 1.0 <= inception_score(x, model=model, splits=1, batch_size=2)[0] <= 4.0
