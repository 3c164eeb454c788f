"""pPCA (seed 000 §2.2.1) against closed forms: the ML fit recovers the generating subspace and
σ², the marginal log-likelihood (eq. 2.13) equals a direct Gaussian evaluation, and the
posterior (eq. 2.14) equals Gaussian conditioning of the joint (z, x)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import multivariate_normal

from sdegen_jax.classic import PPCA, fit_ppca

D, M, N = 5, 2, 20_000
SIGMA2 = 0.25


def _true_model() -> PPCA:
    # W with singular values 3 and 2, well above σ = 0.5, in a random 2-D subspace of R^5.
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(D, M)))
    return PPCA(jnp.asarray(q * np.array([3.0, 2.0])), jnp.arange(D, dtype=float) - 2.0, SIGMA2)


def _projector(w):
    q, _ = jnp.linalg.qr(w)
    return q @ q.T


def test_mle_recovers_subspace_noise_and_mean():
    true = _true_model()
    x = true.sample(jax.random.key(0), N)
    fit = fit_ppca(x, M)
    # Projector onto span(W): sin θ_ij ≈ sqrt(λ_i σ² / n) / (λ_i − σ²) ≈ 1.2e-3 and 1.8e-3 for
    # λ = 9.25, 4.25, so ‖P̂ − P‖_F = √2 ‖sin Θ‖_F ≈ 5e-3 (observed 2.5e-3); 0.02 is a 4x margin.
    assert float(jnp.linalg.norm(_projector(fit.weight) - _projector(true.weight))) < 0.02
    # σ² is the mean of D − M = 3 sample eigenvalues, relative sd ≈ sqrt(2 / (n (D − M))) ≈ 0.006.
    assert abs(float(fit.noise_variance) / SIGMA2 - 1.0) < 0.03
    # W Wᵀ (rotation invariant): entries of the sample covariance have sd ≤ λ_1 sqrt(2/n) ≈ 0.09
    # (observed max error 0.04); the mean's entries have sd ≤ sqrt(λ_1 / n) ≈ 0.02 (observed 0.014).
    assert float(jnp.max(jnp.abs(fit.weight @ fit.weight.T - true.weight @ true.weight.T))) < 0.3
    assert float(jnp.max(jnp.abs(fit.bias - true.bias))) < 0.1
    # The fit is the maximum: its mean log-likelihood is at least the true model's.
    assert float(jnp.mean(fit.log_prob(x))) >= float(jnp.mean(true.log_prob(x))) - 1e-4


def test_fit_is_exact_on_its_own_covariance():
    """With the eigenvalues known exactly, σ² is the mean of the discarded ones and W Wᵀ + σ² I
    reproduces the leading part of the covariance."""
    x = np.random.default_rng(1).normal(size=(400, D)) @ np.diag([3.0, 2.0, 1.0, 0.7, 0.5])
    fit = fit_ppca(jnp.asarray(x), M)
    lam = np.sort(np.linalg.eigvalsh(np.cov(x.T, bias=True)))[::-1]
    np.testing.assert_allclose(float(fit.noise_variance), lam[M:].mean(), rtol=1e-4)
    np.testing.assert_allclose(np.linalg.eigvalsh(np.asarray(fit.covariance()))[::-1][:M], lam[:M], rtol=1e-4)


def test_log_prob_matches_direct_gaussian():
    model = _true_model()
    x = model.sample(jax.random.key(1), 64) * 1.5  # also points off the model's typical set
    direct = multivariate_normal.logpdf(x, model.bias, model.weight @ model.weight.T + SIGMA2 * jnp.eye(D))
    np.testing.assert_allclose(np.asarray(model.log_prob(x)), np.asarray(direct), rtol=1e-5, atol=1e-4)
    assert model.log_prob(x[0]).shape == ()


def test_posterior_is_gaussian_conditioning_of_the_joint():
    model = _true_model()
    w, b = model.weight, model.bias
    x = model.sample(jax.random.key(2), 8)
    # Joint: Cov(z) = I, Cov(z, x) = Wᵀ, Cov(x) = C  ⇒  z | x ~ N(Wᵀ C⁻¹ (x − b), I − Wᵀ C⁻¹ W).
    c = model.covariance()
    mean_direct = jnp.linalg.solve(c, (x - b).T).T @ w
    cov_direct = jnp.eye(M) - w.T @ jnp.linalg.solve(c, w)
    mean, cov = model.posterior(x)
    np.testing.assert_allclose(np.asarray(mean), np.asarray(mean_direct), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(cov), np.asarray(cov_direct), rtol=1e-4, atol=1e-6)


def test_samples_have_the_model_covariance():
    model = _true_model()
    x = model.sample(jax.random.key(3), N)
    assert x.shape == (N, D)
    np.testing.assert_allclose(np.cov(np.asarray(x).T), np.asarray(model.covariance()), atol=0.3)


def test_invalid_inputs_name_the_fix():
    x = jnp.zeros((10, D)).at[:, 0].set(jnp.arange(10.0))
    with pytest.raises(ValueError, match="latent_dim M must be < D"):
        fit_ppca(jnp.ones((10, D)), D)
    with pytest.raises(ValueError, match="latent_dim"):
        fit_ppca(jnp.ones((10, D)), 0)
    with pytest.raises(ValueError, match="subspace"):
        fit_ppca(x, 1)  # data on a line: the discarded eigenvalues are 0
    with pytest.raises(ValueError, match=r"\(n, D\)"):
        fit_ppca(jnp.ones((10,)), 1)
    with pytest.raises(ValueError, match="noise_variance must be > 0"):
        PPCA(jnp.ones((D, M)), jnp.zeros(D), 0.0)
    with pytest.raises(ValueError, match="bias must have shape"):
        PPCA(jnp.ones((D, M)), jnp.zeros(D + 1), 1.0)
    with pytest.raises(ValueError, match="expected x of shape"):
        _true_model().log_prob(jnp.zeros((3, D + 1)))
