"""Probability-flow log-likelihoods against closed forms (seed 000 §4.1, seed 002): Gaussian data
and a 2-D mixture under VE, VP and sub-VP with exact scores, Hutchinson's estimator against the
exact divergence, and bits/dim of a discretised Gaussian against its entropy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import sdegen_jax as sg
from sdegen_jax import likelihood as L

SDES = {
    "ve": lambda: sg.sde.VESDE(0.01, 10.0),
    "vp": lambda: sg.sde.VPSDE(0.1, 20.0),
    "subvp": lambda: sg.sde.SubVPSDE(0.1, 20.0),
}


def _check_against_exact(sde, gmm, n, key, divergence="exact", tol_per_dim=1e-2):
    """The ODE gives log p_eps(x) when started at the exact p_T: compare with the closed form."""
    eps = sde.default_eps
    x = gmm.marginal(sde, eps).sample(key, n)
    p_T = gmm.marginal(sde, sde.T)
    lik = L.log_likelihood(jax.random.key(1), sde, gmm.score_fn(sde), x, eps=eps, divergence=divergence,
                           prior_logp=p_T.log_prob)
    exact = gmm.marginal(sde, eps).log_prob(x)
    err = np.abs(np.asarray(lik.logp - exact)) / gmm.dim
    assert err.max() < tol_per_dim, (err.max(), np.asarray(lik.logp[:3]), np.asarray(exact[:3]))
    assert int(lik.nfe) > 0
    return lik


@pytest.mark.parametrize("name", sorted(SDES))
@pytest.mark.parametrize("dim", [1, 2, 10])
def test_gaussian_log_likelihood_matches_the_closed_form(name, dim):
    mean = jnp.linspace(-1.0, 1.5, dim)[None]
    gmm = sg.toy.GaussianMixture([1.0], mean, jnp.linspace(0.5, 1.5, dim)[None])
    _check_against_exact(SDES[name](), gmm, 64, jax.random.key(dim))


@pytest.mark.parametrize("name", sorted(SDES))
def test_mixture_log_likelihood_matches_the_closed_form(name):
    gmm = sg.toy.GaussianMixture([0.3, 0.7], [[-2.0, 1.0], [2.0, -0.5]], [[0.6, 1.0], [1.0, 0.4]])
    _check_against_exact(SDES[name](), gmm, 64, jax.random.key(3))


def test_hutchinson_likelihood_is_unbiased_around_the_exact_one():
    """On a mixture (a non-diagonal Jacobian: for a diagonal one Rademacher probes are exact)
    the per-sample estimate scatters around the exact log p; the mean error over samples is
    within 4 standard errors of 0."""
    sde = SDES["vp"]()
    gmm = sg.toy.GaussianMixture([0.5, 0.5], [[-1.0, 1.0, 0.0, 0.5], [1.0, -1.0, 0.5, 0.0]], 0.5)
    x = gmm.marginal(sde, sde.default_eps).sample(jax.random.key(0), 400)
    p_T = gmm.marginal(sde, sde.T).log_prob
    hut = L.log_likelihood(jax.random.key(1), sde, gmm.score_fn(sde), x, divergence="hutchinson", prior_logp=p_T)
    exact = gmm.marginal(sde, sde.default_eps).log_prob(x)
    diff = np.asarray(hut.logp - exact)
    assert diff.std() > 1e-3  # it is an estimate, not the exact trace
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(len(diff))


def test_hutchinson_divergence_is_unbiased_on_an_mlp():
    mlp = sg.nets.TimeMLP(5, features=(16, 16), rngs=nnx.Rngs(0))
    f = lambda x: mlp(x[None], jnp.full((1,), 0.3))[0]
    x = jax.random.normal(jax.random.key(0), (5,))
    exact = float(L.exact_divergence(f, x))
    for kind in L.PROBES:
        probes = L.sample_probes(jax.random.key(1), (5,), 4000, kind)
        one = jax.vmap(lambda e: L.hutchinson_divergence(f, x, e[None]))(probes)
        se = float(jnp.std(one)) / math.sqrt(4000)
        assert abs(float(jnp.mean(one)) - exact) < 4 * se, (kind, float(jnp.mean(one)), exact, se)
        np.testing.assert_allclose(L.hutchinson_divergence(f, x, probes), jnp.mean(one), rtol=1e-4)


def test_bits_per_dim_of_a_discretised_gaussian():
    """Pixels k = floor(256 u), u ~ N(0.5, 0.1²) (clipped far in the tails): the discrete entropy
    is log2(0.1 · 256 · sqrt(2πe)) = 6.725 bits/dim up to O((1/256)²/σ²).  With the exact score
    of N(0.5, 0.1²) (what dequantised pixels follow, up to that bin width), the dequantised
    bound equals it within the Monte-Carlo error of the mean (4 standard errors)."""
    n, d, s = 2000, 2, 0.1
    u = 0.5 + s * jax.random.normal(jax.random.key(0), (n, d))
    pixels = jnp.clip(jnp.floor(256 * u), 0, 255)
    gmm = sg.toy.GaussianMixture([1.0], jnp.full((1, d), 0.5), jnp.full((1, d), s))
    sde = sg.sde.VPSDE(0.1, 20.0)
    eps = sde.default_eps
    # The exact model of the data at eps (the data's law pushed to eps) and its exact p_T.
    bpd, lik = L.bits_per_dim(jax.random.key(1), sde, gmm.score_fn(sde), pixels, scale="unit", divergence="exact",
                              eps=eps, prior_logp=gmm.marginal(sde, sde.T).log_prob)
    entropy = math.log2(s * 256 * math.sqrt(2 * math.pi * math.e))
    se = float(jnp.std(bpd)) / math.sqrt(n)
    assert abs(float(jnp.mean(bpd)) - entropy) < 4 * se + 0.01, (float(jnp.mean(bpd)), entropy, se)
    # Symmetric scale: the same data, the model on [−1, 1] — same bits/dim (offset 7, not 8).
    gmm_s = sg.toy.GaussianMixture([1.0], jnp.zeros((1, d)), jnp.full((1, d), 2 * s))
    bpd_s, _ = L.bits_per_dim(jax.random.key(1), sde, gmm_s.score_fn(sde), pixels, scale="symmetric",
                              divergence="exact", eps=eps, prior_logp=gmm_s.marginal(sde, sde.T).log_prob)
    assert abs(float(jnp.mean(bpd_s)) - entropy) < 4 * se + 0.01


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: L.log_likelihood(jax.random.key(0), sg.sde.VPSDE(), lambda x, t: -x, jnp.zeros((2, 3)),
                                  divergence="trace"), "unknown divergence"),
        (lambda: L.log_likelihood(jax.random.key(0), sg.sde.VPSDE(), lambda x, t: -x, jnp.zeros(3)),
         "must be a batch"),
        (lambda: L.log_likelihood(jax.random.key(0), sg.sde.VPSDE(), lambda x, t: -x, jnp.zeros((2, 3)), eps=2.0),
         "eps must be < T"),
        (lambda: L.bits_per_dim(jax.random.key(0), sg.sde.VPSDE(), lambda x, t: -x, jnp.full((2, 3), 0.5)),
         "integer values in 0..255"),
        (lambda: L.sample_probes(jax.random.key(0), (3,), 0), "num_probes must be an integer >= 1"),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
