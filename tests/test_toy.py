"""Gaussian mixtures: densities, scores and exact marginals under linear SDEs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg


def test_log_prob_normalises_and_matches_seed002_eq_4_1_10():
    g = sg.toy.seed002_mixture()
    grid = jnp.linspace(-40, 40, 40_001)[:, None]
    p = jnp.exp(g.log_prob(grid))
    np.testing.assert_allclose(np.trapezoid(np.asarray(p), np.asarray(grid[:, 0])), 1.0, rtol=1e-5)
    x = 1.3
    n = lambda m: np.exp(-0.5 * ((x - m) / 2) ** 2) / (2 * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(g.log_prob(jnp.array([x])), np.log(0.3 * n(-5) + 0.7 * n(5)), rtol=1e-6)


@pytest.mark.parametrize("mixture", [sg.toy.seed002_mixture, sg.toy.ring_mixture, lambda: sg.toy.grid_mixture(3)])
def test_score_is_gradient_of_log_prob(mixture):
    g = mixture()
    xs = jax.random.normal(jax.random.PRNGKey(0), (16, g.dim)) * 4
    auto = jax.vmap(jax.grad(g.log_prob))(xs)
    np.testing.assert_allclose(g.score(xs), auto, rtol=1e-4, atol=1e-5)


def test_sample_moments():
    g = sg.toy.seed002_mixture()
    x = g.sample(jax.random.PRNGKey(1), 200_000)
    # mean 0.3·(−5) + 0.7·5 = 2; variance 4 + 25 − 4 = 25
    np.testing.assert_allclose(x.mean(), 2.0, atol=0.05)
    np.testing.assert_allclose(x.var(), 25.0, rtol=0.02)


@pytest.mark.parametrize("sde", [sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0), sg.sde.VPSDE(), sg.sde.SubVPSDE()])
def test_marginal_is_the_pushed_forward_mixture(sde):
    """Sampling x0 ~ p and x_t = a x0 + s z matches the closed-form p_t (seed 002 eq. 4.2.23)."""
    g = sg.toy.seed002_mixture()
    n = 200_000
    k1, k2 = jax.random.split(jax.random.PRNGKey(2))
    for t in (0.1, 0.5):
        mean, std = sde.marginal(g.sample(k1, n), t)
        xt = mean + std * jax.random.normal(k2, (n, 1))
        pt = g.marginal(sde, t)
        w1 = sg.metrics.wasserstein1_to_mixture(xt, pt)
        assert w1 < 3 * sg.metrics.expected_w1_noise_floor(pt, n), w1


def test_marginal_score_matches_seed002_eq_4_2_24():
    sde = sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0)
    g = sg.toy.seed002_mixture()
    t, x = 0.6, 0.7
    v = 4.0 + float(sde.marginal_coeffs(t)[1]) ** 2
    n = lambda m: np.exp(-0.5 * (x - m) ** 2 / v) / np.sqrt(2 * np.pi * v)
    expected = -((x + 5) / v * 0.3 * n(-5) + (x - 5) / v * 0.7 * n(5)) / (0.3 * n(-5) + 0.7 * n(5))
    np.testing.assert_allclose(g.score_fn(sde)(jnp.array([x]), t), [expected], rtol=1e-4)


def test_projection_and_cdf():
    g = sg.toy.ring_mixture(4, radius=3.0, std=0.5)
    p = g.project(jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(np.sort(np.asarray(p.means[:, 0])), [-3, 0, 0, 3], atol=1e-6)
    np.testing.assert_allclose(p.cdf(0.0), 0.5, atol=1e-6)
    with pytest.raises(ValueError, match="1-D mixtures"):
        g.cdf(0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weights=[0.3, 0.3], means=[[0.0], [1.0]], stds=1.0), "sum to 1"),
        (dict(weights=[1.5, -0.5], means=[[0.0], [1.0]], stds=1.0), "must be > 0"),
        (dict(weights=[0.5, 0.5], means=[0.0, 1.0], stds=1.0), "means=\\[\\[m1\\]"),
        (dict(weights=[0.5, 0.5], means=[[0.0], [1.0]], stds=[[1.0], [-1.0]]), "stds must be > 0"),
        (dict(weights=[0.5, 0.5], means=[[0.0], [1.0], [2.0]], stds=1.0), "K=2"),
    ],
)
def test_invalid_mixtures_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sg.toy.GaussianMixture(**kwargs)


def test_wrong_point_shape_raises():
    g = sg.toy.ring_mixture()
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        g.log_prob(jnp.zeros((5, 3)))


@pytest.mark.parametrize("mixture", [sg.toy.seed002_mixture, sg.toy.ring_mixture, lambda: sg.toy.grid_mixture(3)])
def test_one_sample_unrolled_score_equals_vectorised(mixture):
    g = mixture()
    xs = jax.random.normal(jax.random.PRNGKey(3), (64, g.dim)) * 5
    np.testing.assert_allclose(jax.vmap(g.score)(xs), g.score(xs), rtol=1e-4, atol=1e-5)


def test_toy2d_shapes_and_statistics():
    key = jax.random.PRNGKey(0)
    n = 20_000
    for f in (sg.toy.two_moons, sg.toy.checkerboard, sg.toy.swiss_roll):
        x = np.asarray(f(key, n))
        assert x.shape == (n, 2) and np.all(np.isfinite(x))
        assert np.array_equal(x, np.asarray(f(key, n)))
    moons = np.asarray(sg.toy.two_moons(key, n))
    np.testing.assert_allclose(moons.mean(0), [0.5, 0.25], atol=0.03)
    board = np.asarray(sg.toy.checkerboard(key, n))
    assert np.all(np.abs(board) <= 4.0)
    np.testing.assert_allclose(board.mean(0), [0.0, 0.0], atol=0.1)
    cells = np.floor(board / 2).astype(int)
    parity = (cells[:, 0] + cells[:, 1]) % 2
    assert np.all(parity == parity[0])  # only one colour of the board is occupied
    assert len({tuple(c) for c in cells}) == 8
    roll = np.asarray(sg.toy.swiss_roll(key, n, noise=0.0))
    r = np.linalg.norm(roll, axis=1)
    assert r.min() >= 0.2 * 1.5 * np.pi - 1e-4 and r.max() <= 0.2 * 4.5 * np.pi + 1e-4
    # Radius is uniform on [0.3π, 0.9π] when t is uniform.
    np.testing.assert_allclose(r.mean(), 0.2 * 3 * np.pi, rtol=0.02)
