"""Controllable generation with exact scores (seed 000 §4.1): guidance by the exact class
posterior samples the chosen component; imputation keeps the known coordinates, and where the
known and unknown coordinates are independent it reproduces the exact conditional; guidance by
the exact observation likelihood reproduces it for coupled coordinates too; the
colorization map is orthogonal with an exact inverse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax import controllable as C

N = 20_000


def _floor(mixture):
    return sg.metrics.expected_w1_noise_floor(mixture, N)


@pytest.mark.parametrize("label", [0, 1])
def test_guidance_with_the_exact_class_posterior_samples_that_component(label):
    """∇ log p_t(x) + ∇ log p_t(k | x) = ∇ log p_t(x | k): at scale 1 the guided sampler draws
    component k exactly (W1 within 3 noise floors + the 1000-step discretisation, 0.02)."""
    gmm = sg.toy.GaussianMixture([0.3, 0.7], [[-4.0], [4.0]], [1.0, 1.5])
    sde = sg.sde.VPSDE(0.1, 20.0)
    score = C.class_conditional_score(gmm.score_fn(sde), C.mixture_class_log_probs(gmm, sde), label)
    x = sg.sample(jax.random.key(label), sde, score, (1,), N, method=sg.samplers.EulerMaruyama(), steps=1000)
    component = sg.toy.GaussianMixture([1.0], gmm.means[label : label + 1], gmm.stds[label : label + 1])
    w1 = sg.metrics.wasserstein1_to_mixture(np.asarray(x), component.marginal(sde, sde.default_eps))
    assert w1 < 3 * _floor(component) + 0.02, w1
    # The fraction on the component's side of 0 is that of the component itself (4 std errors).
    in_mode = float(jnp.mean((x[:, 0] > 0) == (label == 1)))
    mu, sd = float(gmm.means[label, 0]), float(gmm.stds[label, 0])
    exact = float(jax.scipy.stats.norm.cdf(abs(mu) / sd))
    assert abs(in_mode - exact) < 4 * np.sqrt(exact * (1 - exact) / N) + 1e-4, (in_mode, exact)


@pytest.mark.parametrize("method", ["em", "pc"])
def test_imputation_keeps_the_known_coordinate_and_samples_the_exact_conditional(method):
    """Components that differ only in x_0: x_0 and x_1 are independent, so the replacement method
    is exact and x_0 | x_1 = c follows the x_0-marginal (W1 within 3 noise floors + 0.02)."""
    gmm = sg.toy.GaussianMixture([0.3, 0.7], [[-3.0, 0.5], [3.0, 0.5]], [[1.0, 0.8], [1.0, 0.8]])
    sde = sg.sde.VESDE(0.01, 20.0)
    known = jnp.zeros((N, 2)).at[:, 1].set(1.7)
    sampler = sg.samplers.EulerMaruyamaScan() if method == "em" else sg.samplers.PredictorCorrector(snr=0.16)
    x, info = C.impute(jax.random.key(0), sde, gmm.score_fn(sde), known, jnp.array([0.0, 1.0]), method=sampler,
                       steps=1000)
    np.testing.assert_array_equal(np.asarray(x[:, 1]), np.float32(1.7))
    target = sg.toy.GaussianMixture(gmm.weights, gmm.means[:, :1], gmm.stds[:, :1]).marginal(sde, sde.default_eps)
    w1 = sg.metrics.wasserstein1_to_mixture(np.asarray(x[:, 0]), target)
    assert w1 < 3 * _floor(target) + 0.02, w1
    assert int(info.nfe) == (999 if method == "em" else 2 * 999) + 1  # denoised end


@pytest.mark.parametrize("sde", [sg.sde.VESDE(0.01, 20.0), sg.sde.VPSDE(0.1, 20.0)], ids=["ve", "vp"])
def test_guidance_by_the_observation_likelihood_inpaints_the_exact_conditional(sde):
    """Coupled coordinates, where replacement is biased (imputation.py's docstring: 0.26 of the
    samples left): guidance by the exact p(x_0[1] = 0.3 | x_t) is the exact conditional score,
    and the sampler draws x_0 | x_1 = 0.3 (left weight 0.148; W1 within 3 noise floors + 0.02,
    the left fraction within 4 std errors + 0.01 of discretisation)."""
    gmm = sg.toy.GaussianMixture([0.3, 0.7], [[-2.0, -1.5], [2.0, 1.5]], [[0.7, 1.0], [0.7, 1.0]])
    target = gmm.condition(1, 0.3)
    score = C.GuidedScore(gmm.score_fn(sde), gmm.observation_log_likelihood(sde, 1, 0.3))
    # The guided score is the score of p_t(x | x_0[1] = 0.3) = p_t(x_0 | ·) ⊗ N(x_1; a·0.3, s²).
    t, x = 0.4, jnp.array([0.5, -0.2])
    a, s = sde.marginal_coeffs(t)
    exact = jnp.array([target.marginal(sde, t).score(x[:1])[0], -(x[1] - a * 0.3) / s**2])
    np.testing.assert_allclose(score(x, t), exact, rtol=1e-4)
    x = np.asarray(sg.sample(jax.random.key(0), sde, score, (2,), N, method=sg.samplers.EulerMaruyama(), steps=1000))
    w1 = sg.metrics.wasserstein1_to_mixture(x[:, 0], target.marginal(sde, sde.default_eps))
    assert w1 < 3 * _floor(target) + 0.02, w1
    left, exact_left = float(np.mean(x[:, 0] < 0)), float(target.marginal(sde, sde.default_eps).cdf(0.0))
    assert abs(left - exact_left) < 4 * np.sqrt(exact_left * (1 - exact_left) / N) + 0.01, (left, exact_left)
    assert abs(float(target.weights[0]) - 0.148) < 1e-3


def test_mixture_conditioning_refuses_bad_indices():
    gmm = sg.toy.GaussianMixture([1.0], [[0.0, 1.0]], 1.0)
    with pytest.raises(ValueError, match="distinct coordinates"):
        gmm.condition(2, 0.0)
    with pytest.raises(ValueError, match="nothing is left"):
        gmm.condition([0, 1], [0.0, 0.0])
    # A value far from a component: its weight underflows to 0 and it drops out.
    far = sg.toy.GaussianMixture([0.5, 0.5], [[-10.0, 0.0], [10.0, 0.0]], 0.5).condition(0, 9.0)
    assert far.num_components == 1 and float(far.means[0, 0]) == 0.0


def test_imputation_refuses_samplers_without_a_step():
    with pytest.raises(ValueError, match="has no batch_step"):
        C.impute(jax.random.key(0), sg.sde.VPSDE(), lambda x, t: -x, jnp.zeros((2, 2)), jnp.array([1.0, 0.0]),
                 method=sg.samplers.EulerMaruyama())
    with pytest.raises(ValueError, match="mask must hold 0"):
        C.impute(jax.random.key(0), sg.sde.VPSDE(), lambda x, t: -x, jnp.zeros((2, 2)), jnp.array([0.5, 0.0]))


def test_colorization_map_is_orthogonal_and_inverts_exactly():
    m = C.decoupling_matrix()
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-6)
    x = jax.random.uniform(jax.random.key(0), (4, 5, 5, 3))
    np.testing.assert_allclose(C.couple(C.decouple(x)), x, atol=1e-6)
    gray = x.mean(-1, keepdims=True)
    np.testing.assert_allclose(C.decouple(x)[..., :1], C.gray_to_decoupled(gray), rtol=1e-5, atol=1e-6)


def test_colorize_keeps_the_gray_channel():
    """Whatever the score, the coloured images average back to the gray input exactly."""
    sde = sg.sde.VESDE(0.01, 5.0)
    score = lambda x, t: -x / (1.0 + sde.marginal_coeffs(t)[1] ** 2)  # N(0, I) data
    gray = jax.random.uniform(jax.random.key(0), (3, 4, 4, 1))
    rgb, info = C.colorize(jax.random.key(1), sde, score, gray, steps=20)
    assert rgb.shape == (3, 4, 4, 3) and int(info.nfe) == 20
    np.testing.assert_allclose(rgb.mean(-1, keepdims=True), gray, atol=1e-5)
