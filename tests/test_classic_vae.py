"""VAE objectives (seed 000 §2.2.2, eq. 2.15–2.18) on a linear-Gaussian VAE whose exact
log p(x) is the pPCA marginal (eq. 2.13) and whose exact posterior is eq. 2.14:
ELBO ≤ IW_K ≤ IW_K' ≤ log p(x) (K < K'), with equality for the exact posterior; the analytic KL
against Monte Carlo; the likelihoods against direct evaluations; the seed's networks."""

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.scipy.stats import norm

from sdegen_jax.classic import (
    PPCA,
    CategoricalDecoder,
    GaussianDecoder,
    VAEEncoder,
    categorical_log_likelihood,
    diagonal_gaussian_log_prob,
    elbo,
    gaussian_kl,
    gaussian_log_likelihood,
    importance_weighted_bound,
    quantize,
    reparameterize,
    sample_categorical,
)

D, M, SIGMA2 = 4, 2, 0.3


def _linear_gaussian():
    """Decoder x = W z + b + σ ε with orthogonal columns of W, so the exact posterior
    N(M⁻¹Wᵀ(x − b), σ² M⁻¹) (eq. 2.14) is diagonal and a mean-field encoder can represent it."""
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(D, M)))
    model = PPCA(jnp.asarray(q * np.array([1.5, 0.8])), jnp.asarray([0.5, -1.0, 0.0, 2.0]), SIGMA2)

    def decode(z):
        return model.decode_mean(z), jnp.log(SIGMA2)

    # eq. 2.14, evaluated once (keeps linear algebra out of the compiled bounds)
    gain, cov = model.posterior(jnp.eye(D) + model.bias)  # gain's rows: (M⁻¹Wᵀ e_i)ᵀ
    post_logvar = jnp.log(jnp.diag(cov))
    np.testing.assert_allclose(np.asarray(cov), np.diag(np.diag(np.asarray(cov))), atol=1e-6)  # diagonal indeed

    def exact_encode(x):
        mean = (x - model.bias) @ gain
        return mean, jnp.broadcast_to(post_logvar, mean.shape)

    def poor_encode(x):  # a biased, over-dispersed approximation
        mean, logvar = exact_encode(x)
        return 0.8 * mean + 0.3, logvar + 0.7

    return model, decode, exact_encode, poor_encode


def test_exact_posterior_makes_the_bounds_tight():
    model, decode, exact_encode, _ = _linear_gaussian()
    x = model.sample(jax.random.key(0), 256)

    @jax.jit
    def bounds(key):
        k1, k2, k3 = jax.random.split(key, 3)
        sampled = elbo(k1, x, exact_encode, decode, gaussian_log_likelihood, analytic_kl=False)
        iw = importance_weighted_bound(k2, x, exact_encode, decode, gaussian_log_likelihood, 7)
        iw_batched = importance_weighted_bound(k2, x, exact_encode, decode, gaussian_log_likelihood, 7, batch_size=3)
        analytic = jax.vmap(lambda k: elbo(k, x, exact_encode, decode, gaussian_log_likelihood))(jax.random.split(k3, 400))
        return model.log_prob(x), sampled, iw, iw_batched, analytic

    log_px, sampled, iw, iw_batched, analytic = bounds(jax.random.key(1))
    np.testing.assert_allclose(np.asarray(iw_batched), np.asarray(iw), rtol=1e-6)  # same z_k, vectorised 3 at a time
    # log p(x|z) + log p(z) − log q(z|x) = log p(x) for every z when q is the posterior (eq. 2.14).
    np.testing.assert_allclose(np.asarray(sampled), np.asarray(log_px), atol=2e-4)
    np.testing.assert_allclose(np.asarray(iw), np.asarray(log_px), atol=2e-4)
    # With the analytic KL the ELBO equals log p(x) only in expectation over z.
    err = analytic - log_px  # (400, 256)
    se = float(jnp.std(err)) / math.sqrt(err.size)
    assert abs(float(jnp.mean(err))) < 4 * se + 1e-4
    assert float(jnp.std(err)) > 0.05  # it is noisy per z, so the check above has content


def test_elbo_below_iw_bounds_below_log_likelihood_and_iw_increases_with_K():
    model, decode, _, poor_encode = _linear_gaussian()
    x = model.sample(jax.random.key(0), 300)
    log_px = float(jnp.mean(model.log_prob(x)))
    reps = 8

    @jax.jit
    def bounds(key):
        out = [jax.vmap(lambda kk: elbo(kk, x, poor_encode, decode, gaussian_log_likelihood))(jax.random.split(key, reps))]
        for k in (1, 5, 50):
            keys = jax.random.split(jax.random.fold_in(key, k), reps)
            bound = partial(importance_weighted_bound, x=x, encode=poor_encode, decode=decode,
                            log_likelihood=gaussian_log_likelihood, num_samples=k)
            out.append(jax.vmap(bound)(keys))
        values = jnp.stack(out)  # (4, reps, n)
        return jnp.mean(values, (1, 2)), jnp.std(values, (1, 2)) / math.sqrt(reps * x.shape[0])

    means, ses = bounds(jax.random.key(1))
    elbo_mean, iw1, iw5, iw50 = (float(v) for v in means)
    se = float(jnp.max(ses))
    # K = 1 is the ELBO (two estimators of the same expectation).
    assert abs(iw1 - elbo_mean) < 4 * se + 1e-3
    # Strict, well-separated gaps: the poor encoder leaves a large KL(q ‖ p(z|x)).
    assert elbo_mean + 0.05 < iw5 < iw50 - 0.01
    assert iw50 < log_px
    assert log_px - elbo_mean > 0.2


def test_gaussian_kl_matches_monte_carlo():
    mu = jnp.asarray([0.3, -1.2, 2.0])
    logvar = jnp.asarray([0.5, -0.7, 0.0])
    z = reparameterize(jax.random.key(0), jnp.broadcast_to(mu, (400_000, 3)), jnp.broadcast_to(logvar, (400_000, 3)))
    log_ratio = diagonal_gaussian_log_prob(z, mu, logvar) - jnp.sum(norm.logpdf(z), -1)
    mc, se = float(jnp.mean(log_ratio)), float(jnp.std(log_ratio)) / math.sqrt(z.shape[0])
    kl = float(gaussian_kl(mu, logvar))
    assert abs(kl - mc) < 4 * se
    # and the reparameterised samples have the requested moments
    np.testing.assert_allclose(np.asarray(jnp.mean(z, 0)), np.asarray(mu), atol=0.02)
    np.testing.assert_allclose(np.asarray(jnp.var(z, 0)), np.asarray(jnp.exp(logvar)), rtol=0.02)
    assert float(gaussian_kl(jnp.zeros(4), jnp.zeros(4))) == 0.0


def test_categorical_likelihood_is_a_normalised_distribution_over_levels():
    levels, n_pix = 4, 2
    logits = jax.random.normal(jax.random.key(0), (1, n_pix, levels)) * 2.0
    grid = jnp.stack(jnp.meshgrid(jnp.arange(levels), jnp.arange(levels), indexing="ij"), -1).reshape(-1, n_pix)
    x = grid / (levels - 1)  # every image of 2 pixels in [0, 1]
    ll = categorical_log_likelihood(x, jnp.broadcast_to(logits, (x.shape[0], n_pix, levels)))
    np.testing.assert_allclose(float(jnp.sum(jnp.exp(ll))), 1.0, rtol=1e-5)
    # against a direct evaluation
    direct = jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits[0], -1)[None], grid[..., None], -1)[..., 0], -1)
    np.testing.assert_allclose(np.asarray(ll), np.asarray(direct), rtol=1e-6)
    # 8-bit pixels k/255 quantise back to k
    k = jnp.arange(256)
    np.testing.assert_array_equal(np.asarray(quantize(k / 255.0, 256)), np.asarray(k))


def test_gaussian_likelihood_matches_scipy():
    x = jax.random.normal(jax.random.key(0), (3, 2, 2))
    mean = jax.random.normal(jax.random.key(1), (3, 4))
    logvar = jnp.asarray([0.1, -0.3, 0.5, 0.0])
    direct = jnp.sum(norm.logpdf(x.reshape(3, 4), mean, jnp.exp(0.5 * logvar)), -1)
    np.testing.assert_allclose(np.asarray(gaussian_log_likelihood(x, (mean, logvar))), np.asarray(direct), rtol=1e-5)


def test_seed_networks_shapes_and_probabilities():
    d = 36  # 6×6 images keep the test fast; the widths are the seed's (hidden 256)
    enc = VAEEncoder(d, 8, rngs=nnx.Rngs(0))
    dec = CategoricalDecoder(8, d, 16, rngs=nnx.Rngs(1))
    gdec = GaussianDecoder(8, d, rngs=nnx.Rngs(2))
    assert enc.hidden.out_features == 256 and enc.out.out_features == 16 and dec.hidden.out_features == 256
    x = jax.random.uniform(jax.random.key(0), (5, 6, 6, 1))

    # the networks plug into the pure objectives, under jit and through the IW bound's lax.map
    @jax.jit
    def run(key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        mu, logvar = enc(x)
        return (mu, logvar, dec.probabilities(mu), gdec(mu), sample_categorical(k4, dec(mu)),
                elbo(k1, x, enc, dec, categorical_log_likelihood),
                importance_weighted_bound(k2, x, enc, dec, categorical_log_likelihood, 3),
                elbo(k3, x, enc, gdec, gaussian_log_likelihood))

    mu, logvar, probs, (mean, glogvar), pixels, value, iw, g = run(jax.random.key(1))
    assert mu.shape == logvar.shape == (5, 8)
    assert probs.shape == (5, d, 16)
    np.testing.assert_allclose(np.asarray(jnp.sum(probs, -1)), 1.0, rtol=1e-5)
    assert bool(jnp.all(probs >= 0))
    assert mean.shape == (5, d) and glogvar.shape == (d,)
    assert pixels.shape == (5, d) and float(pixels.min()) >= 0.0 and float(pixels.max()) <= 1.0
    for bound in (value, iw, g):
        assert bound.shape == (5,) and bool(jnp.all(jnp.isfinite(bound)))


def test_invalid_inputs_name_the_fix():
    model, decode, exact_encode, _ = _linear_gaussian()
    x = model.sample(jax.random.key(0), 4)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        importance_weighted_bound(jax.random.key(0), x, exact_encode, decode, gaussian_log_likelihood, 0)
    with pytest.raises(ValueError, match="logits must have shape"):
        categorical_log_likelihood(jnp.zeros((2, 3)), jnp.zeros((2, 4, 8)))
    with pytest.raises(ValueError, match="num_levels"):
        quantize(jnp.zeros(3), 1)
    with pytest.raises(ValueError, match="latent_dim"):
        CategoricalDecoder(8, 36, 16, rngs=nnx.Rngs(0))(jnp.zeros((2, 7)))
    with pytest.raises(ValueError, match="prod\\(shape\\) = data_dim"):
        VAEEncoder(36, 8, rngs=nnx.Rngs(0))(jnp.zeros((2, 10)))
