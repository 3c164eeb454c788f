"""Losses against closed forms: DSM minima, ESM/SSM agreement, parametrisation round trips."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
import sdegen_jax.losses as L


def _fisher_information(mixture_t, lo=-60.0, hi=60.0, n=24_001):
    """J(t) = ∫ p_t(x) (∂_x log p_t)² dx of a 1-D mixture, by quadrature."""
    x = jnp.linspace(lo, hi, n)[:, None]
    p = jnp.exp(mixture_t.log_prob(x))
    return float(jnp.trapezoid(p * mixture_t.score(x)[:, 0] ** 2, x[:, 0]))


@pytest.mark.parametrize("sde", [sg.sde.VPSDE(), sg.sde.VESDE(sigma_min=0.01, sigma_max=10.0)], ids=["vp", "ve"])
def test_dsm_with_exact_score_attains_its_minimum(sde):
    """With λ = s², DSM at the exact score equals E_t[1 − s(t)² J(t)] per dimension:
    DSM = ESM + E λ (E‖∇log p(x_t|x0)‖² − E‖∇log p_t‖²) and ESM = 0 at the optimum."""
    g = sg.toy.seed002_mixture()
    eps = 1e-2
    ts = np.linspace(eps, sde.T, 401)
    expected = np.trapezoid([1 - float(sde.marginal_coeffs(t)[1]) ** 2 * _fisher_information(g.marginal(sde, t)) for t in ts], ts)
    expected /= sde.T - eps
    score = g.score_fn(sde)  # per sample, the library's convention
    x0 = g.sample(jax.random.PRNGKey(0), 400_000)
    got = float(L.denoising_score_matching(jax.random.PRNGKey(1), sde, score, x0, eps=eps))
    assert abs(got - expected) < 0.01, (got, expected)
    # any other score does worse
    worse = float(L.denoising_score_matching(jax.random.PRNGKey(1), sde, lambda x, t: 0.5 * score(x, t), x0, eps=eps))
    assert worse > got + 0.02, (worse, got)


def test_three_parametrisations_give_the_same_dsm_loss():
    """A model output converted to ε or x0 form gives the identical weighted DSM loss."""
    sde = sg.sde.VPSDE()
    g = sg.toy.seed002_mixture()
    score = g.score_fn(sde)
    x0 = g.sample(jax.random.PRNGKey(0), 4096)
    key = jax.random.PRNGKey(3)

    def model_in(param):
        def fn(x, t):  # one example
            s = score(x, t) * 0.8  # deliberately imperfect
            a, std = sde.marginal_coeffs(t)
            return {"score": s, "eps": L.score_to_eps(s, std), "x0": L.score_to_x0(s, x, a, std)}[param]

        return fn

    losses = {p: float(L.denoising_score_matching(key, sde, model_in(p), x0, parametrisation=p)) for p in L.PARAMETRISATIONS}
    np.testing.assert_allclose(losses["eps"], losses["score"], rtol=1e-4)
    np.testing.assert_allclose(losses["x0"], losses["score"], rtol=1e-3)


def test_eps_loss_equals_sigma2_dsm():
    """E‖ε_θ − ε‖² with ε_θ = −s·score is exactly the σ²-weighted DSM (seed 002 eq. 4.2.57)."""
    sde = sg.sde.VPSDE()
    g = sg.toy.seed002_mixture()
    score = g.score_fn(sde)
    x0 = g.sample(jax.random.PRNGKey(0), 4096)
    key = jax.random.PRNGKey(5)
    model_eps = lambda x, t: -sde.marginal_coeffs(t)[1] * score(x, t)
    np.testing.assert_allclose(
        L.eps_prediction_loss(key, sde, model_eps, x0), L.denoising_score_matching(key, sde, score, x0), rtol=1e-5
    )


def test_x0_loss_is_zero_for_a_perfect_denoiser_of_a_point_mass():
    sde = sg.sde.VPSDE()
    x0 = jnp.full((64, 3), 0.7)
    assert float(L.x0_prediction_loss(jax.random.PRNGKey(0), sde, lambda x, t: jnp.full_like(x, 0.7), x0)) == 0.0
    assert float(L.x0_prediction_loss(jax.random.PRNGKey(0), sde, lambda x, t: jnp.full_like(x, 0.6), x0)) > 0.02


def test_parametrisation_round_trips():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    x_t = jax.random.normal(k1, (5, 4))
    score = jax.random.normal(k2, (5, 4))
    a, s = 0.6, 0.8
    np.testing.assert_allclose(L.eps_to_score(L.score_to_eps(score, s), s), score, rtol=1e-6)
    np.testing.assert_allclose(L.x0_to_score(L.score_to_x0(score, x_t, a, s), x_t, a, s), score, rtol=1e-4, atol=1e-5)
    eps = L.score_to_eps(score, s)
    np.testing.assert_allclose(L.x0_to_eps(L.eps_to_x0(eps, x_t, a, s), x_t, a, s), eps, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(L.eps_to_x0(eps, x_t, a, s), L.score_to_x0(score, x_t, a, s), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(L.to_score(eps, "eps", x_t, a, s), score, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown parametrisation"):
        L.to_score(eps, "v", x_t, a, s)


def _mlp_score(key, d=3, width=32):
    k1, k2, k3 = jax.random.split(key, 3)
    W1 = jax.random.normal(k1, (d, width)) / np.sqrt(d)
    b1 = jax.random.normal(k2, (width,)) * 0.1
    W2 = jax.random.normal(k3, (width, d)) / np.sqrt(width)
    return lambda x, t: jnp.tanh(x @ W1 + b1) @ W2 - 0.5 * x  # time-independent


def test_exact_and_sliced_score_matching_agree_in_expectation():
    score = _mlp_score(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2000, 3))
    esm = float(L.exact_score_matching(jax.random.PRNGKey(9), score, x))
    for projection in L.score_matching.PROJECTIONS:
        ssm = float(L.sliced_score_matching(jax.random.PRNGKey(2), score, x, num_projections=64, projection=projection))
        assert abs(ssm - esm) < 0.02, (projection, ssm, esm)


def test_exact_score_matching_measures_fisher_divergence():
    """ESM(s1) − ESM(s2) = ½E‖s1 − ∇log p‖² − ½E‖s2 − ∇log p‖² for x ~ N(0, I)."""
    x = jax.random.normal(jax.random.PRNGKey(1), (20_000, 3))
    s1 = _mlp_score(jax.random.PRNGKey(0))
    s2 = lambda y, t: -y  # the true score of N(0, I): its Fisher divergence is 0
    key = jax.random.PRNGKey(2)
    lhs = float(L.exact_score_matching(key, s1, x) - L.exact_score_matching(key, s2, x))
    rhs = float(0.5 * jnp.mean(jnp.sum((jax.vmap(s1, (0, None))(x, 0.0) + x) ** 2, axis=1)))
    assert abs(lhs - rhs) < 0.02 * max(1.0, rhs), (lhs, rhs)


def test_time_sampling():
    t = L.sample_times(jax.random.PRNGKey(0), 100_000, 1.0, 1e-3, "log_uniform")
    assert float(t.min()) >= 1e-3 and float(t.max()) <= 1.0
    np.testing.assert_allclose(float(jnp.mean(jnp.log(t))), 0.5 * np.log(1e-3), rtol=0.01)
    u = L.sample_times(jax.random.PRNGKey(0), 100_000, 2.0, 0.5, "uniform")
    np.testing.assert_allclose(float(u.mean()), 1.25, rtol=0.01)
    with pytest.raises(ValueError, match="unknown time sampling"):
        L.sample_times(jax.random.PRNGKey(0), 4, 1.0, 1e-3, "beta")
    with pytest.raises(ValueError, match="eps must be < T"):
        L.sample_times(jax.random.PRNGKey(0), 4, 1.0, 2.0)


def test_loss_errors():
    sde = sg.sde.VPSDE()
    x0 = jnp.zeros((4, 2))
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="unknown weighting"):
        L.denoising_score_matching(key, sde, lambda x, t: x, x0, weighting="snr")
    with pytest.raises(ValueError, match=r"model output has shape \(1,\) per example; it must match the data's \(2,\)"):
        L.denoising_score_matching(key, sde, lambda x, t: x[:1], x0)
    with pytest.raises(ValueError, match="x0 must be a batch"):
        L.eps_prediction_loss(key, sde, lambda x, t: x, jnp.zeros(()))
    with pytest.raises(ValueError, match="needs `marginal_coeffs`, which GeometricBrownianMotion does not have"):
        L.denoising_score_matching(key, sg.sde.GeometricBrownianMotion(), lambda x, t: x, x0)
    with pytest.raises(ValueError, match="unknown projection"):
        L.sliced_score_matching(key, lambda x, t: x, x0, projection="sphere")
    with pytest.raises(ValueError, match="num_projections must be an integer >= 1"):
        L.sliced_score_matching(key, lambda x, t: x, x0, num_projections=0)


def test_sliced_score_matching_uses_the_given_time():
    """The per-example score_fn(x, t) is evaluated at the loss's t: a score that is exact only
    at t = 0.5 (N(0, (1 + t)I), score −x/(1 + t)) has the lower loss there."""
    x = jax.random.normal(jax.random.PRNGKey(1), (20_000, 2)) * np.sqrt(1.5)
    score = lambda y, t: -y / (1.0 + t)
    at = {t: float(L.sliced_score_matching(jax.random.PRNGKey(2), score, x, t=t, num_projections=8)) for t in (0.0, 0.5, 1.0)}
    assert at[0.5] < at[0.0] and at[0.5] < at[1.0], at
    # closed form at the optimum: E[tr ∇s + ½‖s‖²] = −d/1.5 + ½·d/1.5 = −1/1.5 for d = 2
    np.testing.assert_allclose(at[0.5], -1.0 / 1.5, atol=0.02)


def test_a_batched_form_gives_the_same_loss_as_the_per_example_vmap():
    """model_fn.batched, when present (the NNX adapters), replaces the vmap of model_fn: same loss."""
    from flax import nnx

    sde = sg.sde.VPSDE()
    net = sg.nets.TimeMLP(3, features=(16, 16), marginal_std=lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(0))
    model_fn = sg.nets.score_fn_from(net)
    per_example = lambda x, t: model_fn(x, t)  # the same function without a batched form
    x0 = jax.random.normal(jax.random.PRNGKey(0), (64, 3))
    key = jax.random.PRNGKey(1)
    np.testing.assert_allclose(
        L.denoising_score_matching(key, sde, model_fn, x0), L.denoising_score_matching(key, sde, per_example, x0), rtol=1e-5
    )
