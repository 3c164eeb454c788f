"""DDPM (seed 003 §3.3–3.4) against closed forms: the schedule is the VP SDE's discretisation,
the posterior is Gaussian conditioning, the simple loss and the bound's KL terms of Gaussian
data with the exact ε-network have closed-form expectations, the decoder is a distribution
over the 256 levels, ancestral sampling with the converted exact VP score reproduces the
mixture, DDIM with η = 1 on every step is the ancestral sampler, and ε → score → ε is the
identity."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax import ddpm

MU, V = 0.4, 0.3  # Gaussian data N(MU, V)


def _exact_eps_model(schedule):
    """Per-example ε-model of N(MU, V) data: E[ε | x_i] = s (x − a MU)/(a² V + s²)."""
    def model(x, i):
        a, s = schedule.marginal_coeffs(i)
        return s * (x - a * MU) / (a**2 * V + s**2)
    return model


def test_schedules_are_the_vp_discretisation():
    sde = sg.sde.VPSDE(0.1, 20.0)
    sched = ddpm.DDPMSchedule.from_vp_sde(sde, 1000)
    t = np.arange(1, 1001) / 1000
    np.testing.assert_allclose(sched.betas, (0.1 + t * 19.9) / 1000, rtol=1e-5)  # β(t_i) Δt, from discretize
    linear = ddpm.DDPMSchedule.linear(1000, 1e-4, 0.02)
    a = jax.vmap(sg.sde.VPSDE(0.1, 20.0).marginal_coeffs)(jnp.asarray(t))[0]
    np.testing.assert_allclose(linear.alphas_bar[1:], a**2, atol=2e-3)  # O(1/N)
    cos = ddpm.DDPMSchedule.cosine(100)
    f = np.cos((np.arange(101) / 100 + 0.008) / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(cos.alphas_bar[:-1], (f / f[0])[:-1], rtol=1e-4)
    with pytest.raises(ValueError, match="lie in"):
        ddpm.DDPMSchedule([0.1, 1.2])


def test_posterior_is_gaussian_conditioning():
    sched = ddpm.DDPMSchedule.linear(50, 1e-3, 0.2)
    i = 17
    ab_prev, beta = sched.alphas_bar[i - 1], sched.betas[i - 1]
    # (x_{i−1}, x_i) | x_0: x_{i−1} = √ᾱ' x0 + √(1−ᾱ') e1, x_i = √(1−β) x_{i−1} + √β e2.
    var_prev, cov, var_i = 1 - ab_prev, jnp.sqrt(1 - beta) * (1 - ab_prev), (1 - beta) * (1 - ab_prev) + beta
    x0, xi = 0.7, -0.2
    mean_prev, mean_i = jnp.sqrt(ab_prev) * x0, jnp.sqrt((1 - beta) * ab_prev) * x0
    c0, ci, var = sched.posterior(i)
    np.testing.assert_allclose(c0 * x0 + ci * xi, mean_prev + cov / var_i * (xi - mean_i), rtol=1e-5)
    np.testing.assert_allclose(var, var_prev - cov**2 / var_i, rtol=1e-4)


def test_simple_loss_of_the_exact_model_matches_its_closed_form():
    """E‖ε − E[ε | x_i]‖² = 1 − (1 − ᾱ_i)/(ᾱ_i V + 1 − ᾱ_i) per dimension, averaged over i."""
    sched = ddpm.DDPMSchedule.linear(200, 1e-3, 0.1)
    x0 = MU + np.sqrt(V) * jax.random.normal(jax.random.key(0), (200_000, 1))
    got = float(ddpm.simple_loss(jax.random.key(1), sched, _exact_eps_model(sched), x0))
    ab = sched.alphas_bar[1:]
    exact = float(jnp.mean(1 - (1 - ab) / (ab * V + 1 - ab)))
    assert abs(got - exact) < 4 * 1.0 / np.sqrt(200_000) * np.sqrt(2), (got, exact)


def test_bound_kl_terms_of_gaussian_data_match_the_closed_form():
    """With σ_i² = β̃_i and the exact model, L_{i−1} = ½ c0_i² Var(x_0 | x_i)/β̃_i, and
    L_N = ½[(1 − ᾱ_N) + ᾱ_N (MU² + V) − 1 − log(1 − ᾱ_N)]: both within 4 std errors."""
    sched = ddpm.DDPMSchedule.linear(100, 1e-3, 0.2)
    n = 20_000
    x0 = MU + np.sqrt(V) * jax.random.normal(jax.random.key(0), (n, 1))
    terms = ddpm.kl_terms(jax.random.key(1), sched, _exact_eps_model(sched), x0)
    i = jnp.arange(2, 101)
    c0, _, post_var = jax.vmap(sched.posterior)(i)
    a, s = jax.vmap(sched.marginal_coeffs)(i)
    x0_var = V * s**2 / (a**2 * V + s**2)
    exact_kl = float(jnp.sum(0.5 * c0**2 * x0_var / post_var))
    kl = np.asarray(terms["kl"])
    assert abs(kl.mean() - exact_kl) < 4 * kl.std() / np.sqrt(n), (kl.mean(), exact_kl)
    ab = sched.alphas_bar[-1]
    exact_prior = float(0.5 * ((1 - ab) + ab * (MU**2 + V) - 1 - jnp.log(1 - ab)))
    prior = np.asarray(terms["prior"])
    assert abs(prior.mean() - exact_prior) < 4 * prior.std() / np.sqrt(n) + 1e-6, (prior.mean(), exact_prior)


def test_decoder_is_a_distribution_over_the_256_levels_and_the_bound_refuses_continuous_data():
    levels = jnp.arange(256) / 127.5 - 1.0
    for mean, var in [(0.0, 1e-4), (0.93, 0.02), (-1.4, 0.5)]:
        p = jnp.exp(ddpm.discretized_gaussian_log_likelihood(levels, mean, var))
        np.testing.assert_allclose(float(jnp.sum(p)), 1.0, rtol=1e-5)
    # An interior level with the mean on it: the bin [x − 1/255, x + 1/255] holds 2Φ(1/(255σ)) − 1.
    x, sd = levels[100], 0.01
    exact = 2 * jax.scipy.stats.norm.cdf(1 / (255 * sd)) - 1
    np.testing.assert_allclose(ddpm.discretized_gaussian_log_likelihood(x, x, sd**2), np.log(exact), rtol=1e-5)
    # The edge bins reach to ±∞: at −1 with the mean there, P = Φ(1/(255σ)).
    np.testing.assert_allclose(ddpm.discretized_gaussian_log_likelihood(levels[0], -1.0, sd**2),
                               np.log(jax.scipy.stats.norm.cdf(1 / (255 * sd))), rtol=1e-5)
    sched = ddpm.DDPMSchedule.linear(10, 1e-3, 0.2)
    with pytest.raises(ValueError, match="8-bit images"):
        ddpm.variational_bound(jax.random.key(0), sched, _exact_eps_model(sched), jnp.full((2, 3), 0.1234))
    x = (jnp.array([[0, 128, 255], [3, 4, 5]]) / 127.5 - 1.0)
    bpd, terms = ddpm.variational_bound(jax.random.key(0), sched, _exact_eps_model(sched), x)
    assert bpd.shape == (2,) and bool(jnp.all(jnp.isfinite(bpd))) and bool(jnp.all(terms["decoder"] >= 0))


def test_ancestral_sampling_with_the_converted_vp_score_reproduces_the_mixture():
    """No retraining: the exact VP-SDE score, as an ε-network, drives DDPM's sampler (W1
    within 3 noise floors + 0.02); and DDIM with η = 1 on every step is the same sampler."""
    gmm, sde = sg.toy.seed002_mixture(), sg.sde.VPSDE(0.1, 20.0)
    sched = ddpm.DDPMSchedule.from_vp_sde(sde, 1000)
    eps_fn = ddpm.EpsFromScore(sched, gmm.score_fn(sde))
    n = 20_000
    x_init = jax.random.normal(jax.random.key(1), (n, 1))
    x = ddpm.ancestral_sample(jax.random.key(0), sched, eps_fn, x_init)
    w1 = sg.metrics.wasserstein1_to_mixture(np.asarray(x), gmm)
    assert w1 < 3 * sg.metrics.expected_w1_noise_floor(gmm, n) + 0.02, w1
    small = ddpm.DDPMSchedule.from_vp_sde(sde, 50)
    eps_small = ddpm.EpsFromScore(small, gmm.score_fn(sde))
    a = ddpm.ancestral_sample(jax.random.key(3), small, eps_small, x_init[:256])
    b = ddpm.ddim_sample(jax.random.key(3), small, eps_small, x_init[:256], steps=50, eta=1.0)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_ddim_on_strided_steps():
    gmm, sde = sg.toy.seed002_mixture(), sg.sde.VPSDE(0.1, 20.0)
    sched = ddpm.DDPMSchedule.from_vp_sde(sde, 1000)
    assert list(ddpm.strided_steps(1000, 4)) == [1000, 667, 334, 1]
    x_init = jax.random.normal(jax.random.key(1), (20_000, 1))
    x = ddpm.ddim_sample(jax.random.key(0), sched, ddpm.EpsFromScore(sched, gmm.score_fn(sde)), x_init, steps=100)
    # Deterministic DDIM, 100 of 1000 steps: measured W1 0.075 (20 steps: 0.237).
    assert sg.metrics.wasserstein1_to_mixture(np.asarray(x), gmm) < 0.15
    with pytest.raises(ValueError, match="exceeds"):
        ddpm.strided_steps(10, 11)
    assert list(ddpm.strided_steps(1000, 1)) == [1000]  # one step starts at pure noise x_N
    with pytest.raises(ValueError, match="eta must lie"):
        ddpm.ddim_sample(jax.random.key(0), sched, lambda x, i: x, x_init[:2], steps=2, eta=1.5)


def test_eps_to_score_and_back_is_the_identity():
    sched = ddpm.DDPMSchedule.linear(100)
    eps_fn = lambda x, i: jnp.sin(x) * i / 100.0  # noqa: E731
    round_trip = ddpm.EpsFromScore(sched, ddpm.ScoreFromEps(sched, eps_fn))
    x = jnp.array([0.3, -1.2])
    for i in (1, 37, 100):
        np.testing.assert_allclose(round_trip(x, jnp.int32(i)), eps_fn(x, i), rtol=1e-6)
