"""GAN objectives (seed 004) against closed forms between two 1-D Gaussians: each f-GAN bound
with the optimal critic T* = φ'(p/q) equals its divergence and any other critic gives less; the
minimax objective with D* = p/(p + q) equals 2 JS − log 4; the WGAN gradient penalty on linear
and quadratic critics; MMD-GAN against the library's MMD; the small networks."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.scipy.stats import norm

from sdegen_jax._tree import count_params
from sdegen_jax.classic import (
    F_DIVERGENCES,
    ConvCritic,
    ConvGenerator,
    MLPCritic,
    MLPGenerator,
    f_divergence,
    f_gan_bound,
    f_gan_critic_loss,
    f_gan_generator_loss,
    gradient_penalty,
    minimax_discriminator_loss,
    minimax_generator_loss,
    mmd_gan_critic_loss,
    mmd_gan_loss,
    non_saturating_generator_loss,
    random_interpolates,
    wgan_critic_loss,
    wgan_generator_loss,
    wgan_gp_critic_loss,
)
from sdegen_jax.losses.mmd import mmd2, rbf_kernel, rbf_mmd2_gaussians

MU_P, SD_P, MU_Q, SD_Q = 0.0, 1.0, 0.5, 1.2
N = 200_000


def _kl_gauss(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def _quadrature(fn):
    """∫ fn(x) dx by the midpoint rule on [−10, 10], h = 1e-3, in float64 (the Gaussian tails
    beyond ±10 carry < 1e-20; the rule's error is O(h²) ≈ 1e-7 here)."""
    h = 1e-3
    x = np.arange(-10.0, 10.0, h) + h / 2
    return float(np.sum(np.asarray(fn(x), np.float64)) * h)


def _gauss_pdf(x, mu, sd):
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _p(x):
    return _gauss_pdf(x, MU_P, SD_P)


def _q(x):
    return _gauss_pdf(x, MU_Q, SD_Q)


def _js():
    """seed 004's JS(P, Q) = ½ KL(P‖M) + ½ KL(Q‖M), M = (P + Q)/2, by quadrature."""
    def integrand(x):
        p, q = _p(x), _q(x)
        m = (p + q) / 2
        return 0.5 * (p * np.log(p / m) + q * np.log(q / m))
    return _quadrature(integrand)


def _divergences():
    """Closed forms of D_φ(P‖Q) for each row (the JS row of Nowozin et al. is 2 JS)."""
    v = SD_P**2 + SD_Q**2
    bc = math.sqrt(2 * SD_P * SD_Q / v) * math.exp(-((MU_P - MU_Q) ** 2) / (4 * v))  # Bhattacharyya coefficient
    return {
        "kl": _kl_gauss(MU_P, SD_P, MU_Q, SD_Q),
        "reverse_kl": _kl_gauss(MU_Q, SD_Q, MU_P, SD_P),
        "hellinger": 2.0 * (1.0 - bc),  # ∫ (√p − √q)²
        "js": 2.0 * _js(),
    }


# raw critic outputs V* with g_f(V*) = T* = φ'(p/q), from r = log p − log q
OPTIMAL_V = {
    "kl": lambda r: 1.0 + r,
    "reverse_kl": lambda r: r,
    "hellinger": lambda r: 0.5 * r,
    "js": lambda r: r,
}


def _samples(kind):
    """x ~ P and y ~ Q: random ("mc") or the n quantiles F⁻¹((i + ½)/n) ("quantile", deterministic,
    error O(1/n) in the expectations)."""
    if kind == "mc":
        kp, kq = jax.random.split(jax.random.key(0))
        return MU_P + SD_P * jax.random.normal(kp, (N,)), MU_Q + SD_Q * jax.random.normal(kq, (N,))
    u = (jnp.arange(N) + 0.5) / N
    z = jax.scipy.special.ndtri(u)
    return MU_P + SD_P * z, MU_Q + SD_Q * z


def _log_ratio(x):
    return norm.logpdf(x, MU_P, SD_P) - norm.logpdf(x, MU_Q, SD_Q)


def test_generators_integrate_to_the_closed_forms():
    """∫ q φ(p/q) by quadrature equals each closed form (checks every row's φ and the references)."""
    exact = _divergences()
    for name, div in F_DIVERGENCES.items():
        value = _quadrature(lambda x: _q(x) * np.asarray(div.generator(jnp.asarray(_p(x) / _q(x), jnp.float32)), np.float64))
        assert abs(value - exact[name]) < 1e-4, (name, value, exact[name])


def test_conjugates_activations_and_derivatives_are_consistent():
    v = jnp.linspace(-3.0, 3.0, 61)
    u = jnp.exp(jnp.linspace(-2.0, 2.0, 41))
    for name, div in F_DIVERGENCES.items():
        t = div.activation(v)
        np.testing.assert_allclose(np.asarray(div.conjugate_of_activation(v)), np.asarray(div.conjugate(t)), rtol=2e-5,
                                   atol=2e-6, err_msg=name)
        # Fenchel–Young equality at t = φ'(u): φ*(φ'(u)) = u φ'(u) − φ(u)
        tu = div.derivative(u)
        np.testing.assert_allclose(np.asarray(div.conjugate(tu)), np.asarray(u * tu - div.generator(u)), rtol=1e-4,
                                   atol=1e-5, err_msg=name)
        # φ* is the supremum: u t − φ(u) ≤ φ*(t) on a grid of u
        grid_u = jnp.exp(jnp.linspace(-6.0, 6.0, 4001))[:, None]
        sup = jnp.max(grid_u * t[None] - div.generator(grid_u), axis=0)
        assert bool(jnp.all(sup <= div.conjugate(t) + 1e-4)), name
        np.testing.assert_allclose(np.asarray(sup), np.asarray(div.conjugate(t)), atol=5e-3, err_msg=name)


@pytest.mark.parametrize("name", sorted(F_DIVERGENCES))
def test_optimal_critic_attains_the_divergence_and_others_fall_short(name):
    div = f_divergence(name)
    exact = _divergences()[name]
    to_v = OPTIMAL_V[name]

    @jax.jit
    def bounds(x, y):
        rx, ry = _log_ratio(x), _log_ratio(y)
        v_star_x, v_star_y = to_v(rx), to_v(ry)
        # the activation of V* is the optimal critic T* = φ'(p/q)
        t_err = jnp.max(jnp.abs(div.activation(v_star_x) - div.derivative(jnp.exp(rx))))
        others = [(to_v(rx) + 0.3, to_v(ry) + 0.3), (0.7 * to_v(rx), 0.7 * to_v(ry)),
                  (to_v(rx) + 0.2 * jnp.sin(x), to_v(ry) + 0.2 * jnp.sin(y))]
        terms = (div.activation(v_star_x), div.conjugate_of_activation(v_star_y))
        se = jnp.sqrt(jnp.var(terms[0]) / N + jnp.var(terms[1]) / N)
        return f_gan_bound(div, v_star_x, v_star_y), jnp.stack([f_gan_bound(div, a, b) for a, b in others]), se, t_err

    bound_mc, _, se, t_err = bounds(*_samples("mc"))
    assert float(t_err) < 1e-4
    assert abs(float(bound_mc) - exact) < 4 * float(se), (float(bound_mc), exact, float(se))
    bound_q, other_q, _, _ = bounds(*_samples("quantile"))
    assert abs(float(bound_q) - exact) < 5e-4, (float(bound_q), exact)  # observed ≤ 1.1e-4
    assert bool(jnp.all(other_q < bound_q - 1e-3)), (other_q, bound_q)
    # the losses are the bound's sides
    x, y = _samples("quantile")
    v_x, v_y = OPTIMAL_V[name](_log_ratio(x)), OPTIMAL_V[name](_log_ratio(y))
    np.testing.assert_allclose(float(f_gan_critic_loss(div, v_x, v_y)), -float(bound_q), rtol=1e-5)
    np.testing.assert_allclose(float(f_gan_generator_loss(div, v_y, non_saturating=False)),
                               -float(jnp.mean(div.conjugate_of_activation(v_y))), rtol=1e-5)
    np.testing.assert_allclose(float(f_gan_generator_loss(div, v_y)), -float(jnp.mean(div.activation(v_y))), rtol=1e-5)


def test_minimax_with_the_optimal_discriminator_is_2js_minus_log4():
    js = _js()
    for kind in ("mc", "quantile"):
        x, y = _samples(kind)
        logit_x, logit_y = _log_ratio(x), _log_ratio(y)  # D* = p/(p+q) = sigmoid(log p − log q)
        value = -float(minimax_discriminator_loss(logit_x, logit_y))
        tol = 2e-3 if kind == "quantile" else 4 * math.sqrt(
            float(jnp.var(jax.nn.log_sigmoid(logit_x)) + jnp.var(jax.nn.log_sigmoid(-logit_y))) / N)
        assert abs(value - (2 * js - math.log(4.0))) < tol, (kind, value, 2 * js - math.log(4.0))
        worse = -float(minimax_discriminator_loss(0.8 * logit_x + 0.1, 0.8 * logit_y + 0.1))
        if kind == "quantile":
            assert worse < value - 1e-3
    # the generator's losses, against their definitions
    logits = jnp.asarray([-3.0, -0.5, 0.0, 2.0])
    d = jax.nn.sigmoid(logits)
    np.testing.assert_allclose(float(minimax_generator_loss(logits)), float(jnp.mean(jnp.log1p(-d))), rtol=1e-5)
    np.testing.assert_allclose(float(non_saturating_generator_loss(logits)), float(-jnp.mean(jnp.log(d))), rtol=1e-5)


def test_gradient_penalty_closed_forms():
    key = jax.random.key(0)
    real = jax.random.normal(jax.random.key(1), (64, 2, 3))
    fake = jax.random.normal(jax.random.key(2), (64, 2, 3)) + 2.0
    w = jax.random.normal(jax.random.key(3), (2, 3))
    unit_w = w / jnp.linalg.norm(w)

    def linear(weight):
        return lambda x: jnp.sum(x * weight, axis=(1, 2))

    # a linear critic with a unit-norm weight is exactly 1-Lipschitz with unit gradient norm: no penalty
    assert float(gradient_penalty(key, linear(unit_w), real, fake)) < 1e-10
    # any linear critic: (‖w‖ − 1)² wherever it is evaluated
    np.testing.assert_allclose(float(gradient_penalty(key, linear(w), real, fake)), (float(jnp.linalg.norm(w)) - 1) ** 2,
                               rtol=1e-5)
    # a quadratic critic ½‖x‖²: ∇ = x̂, so the penalty is the mean of (‖x̂‖ − 1)² on the interpolates
    x_hat = random_interpolates(key, real, fake)
    expected = jnp.mean((jnp.sqrt(jnp.sum(x_hat**2, axis=(1, 2))) - 1.0) ** 2)
    np.testing.assert_allclose(float(gradient_penalty(key, lambda x: 0.5 * jnp.sum(x**2, axis=(1, 2)), real, fake)),
                               float(expected), rtol=1e-5)
    # interpolates lie on the segments [fake_i, real_i], one ε per sample
    eps = (x_hat - fake) / (real - fake)
    np.testing.assert_allclose(np.asarray(eps), np.asarray(jnp.broadcast_to(eps[:, :1, :1], eps.shape)), atol=1e-4)
    assert float(eps.min()) >= 0.0 and float(eps.max()) <= 1.0 and float(jnp.std(eps[:, 0, 0])) > 0.1
    # the WGAN-GP critic loss assembles E_Q c − E_P c + λ (‖w‖ − 1)²
    c = linear(w)
    np.testing.assert_allclose(
        float(wgan_gp_critic_loss(key, c, real, fake, penalty_weight=10.0)),
        float(jnp.mean(c(fake)) - jnp.mean(c(real)) + 10.0 * (jnp.linalg.norm(w) - 1) ** 2), rtol=1e-5)
    assert float(wgan_critic_loss(c(real), c(fake))) == pytest.approx(float(jnp.mean(c(fake)) - jnp.mean(c(real))), rel=1e-6)
    assert float(wgan_generator_loss(c(fake))) == pytest.approx(-float(jnp.mean(c(fake))), rel=1e-6)


def test_mmd_gan_reuses_the_library_mmd():
    x = jax.random.normal(jax.random.key(0), (1000, 2))
    y = 0.5 + 1.3 * jax.random.normal(jax.random.key(1), (1000, 2))
    ident = lambda v: v
    np.testing.assert_allclose(float(mmd_gan_loss(ident, x, y)), float(mmd2(x, y)), rtol=1e-6)
    np.testing.assert_allclose(float(mmd_gan_critic_loss(ident, x, y)), -float(mmd2(x, y)), rtol=1e-6)
    embed = lambda v: jnp.tanh(v @ jnp.asarray([[1.0, -0.5, 0.2], [0.3, 0.8, -1.0]]))
    np.testing.assert_allclose(float(mmd_gan_loss(embed, x, y, unbiased=True)),
                               float(mmd2(embed(x), embed(y), unbiased=True)), rtol=1e-6)
    # identity embedding, RBF kernel, unbiased: the closed-form MMD² between the two Gaussians
    kernel = rbf_kernel((0.5, 2.0))
    value = float(mmd_gan_loss(ident, x, y, kernel=kernel, unbiased=True))
    exact = float(rbf_mmd2_gaussians(jnp.zeros(2), 1.0, jnp.full(2, 0.5), 1.69, 2, bandwidths=(0.5, 2.0)))
    assert abs(value - exact) < 0.055, (value, exact)  # 4 sd: the U-statistic's sd is 0.0135 at n = 1000 (20 seeds)


def test_networks_shapes_ranges_and_sizes():
    gen2, crit2 = MLPGenerator(rngs=nnx.Rngs(0)), MLPCritic(rngs=nnx.Rngs(1))
    gen, crit = ConvGenerator(rngs=nnx.Rngs(2)), ConvCritic(rngs=nnx.Rngs(3))
    gen_sym = ConvGenerator(output="symmetric", rngs=nnx.Rngs(4))
    for module in (gen2, crit2, gen, crit, gen_sym):
        assert count_params(nnx.state(module)) < 1_000_000

    @jax.jit
    def run(key):
        k1, k2, k3 = jax.random.split(key, 3)
        pts, images = gen2(jax.random.normal(k1, (8, 2))), gen(jax.random.normal(k2, (4, 64)))
        sym = gen_sym(jax.random.normal(k3, (4, 64)))
        gp = gradient_penalty(k3, crit, images, jnp.zeros_like(images))
        mmd = mmd_gan_loss(crit.features, images, jnp.zeros_like(images))
        return pts, crit2(pts), crit2.features(pts), images, crit(images), sym, gp, mmd

    pts, scores2, feats, images, scores, sym, gp, mmd = run(jax.random.key(0))
    assert pts.shape == (8, 2) and scores2.shape == (8,) and feats.shape == (8, 128)
    assert images.shape == (4, 28, 28, 1) and scores.shape == (4,)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert sym.shape == (4, 28, 28, 1) and float(sym.min()) >= -1.0 and float(sym.max()) <= 1.0
    assert bool(jnp.isfinite(gp)) and float(gp) > 0.0 and float(mmd) > 0.0


def test_invalid_inputs_name_the_fix():
    choices = r"\['hellinger', 'js', 'kl', 'reverse_kl'\]"
    with pytest.raises(ValueError, match=rf"unknown f-divergence 'tv'; choose one of {choices}"):
        f_divergence("tv")
    with pytest.raises(ValueError, match="same shape to interpolate"):
        random_interpolates(jax.random.key(0), jnp.zeros((4, 2)), jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="penalty_weight must be >= 0"):
        wgan_gp_critic_loss(jax.random.key(0), lambda x: x[:, 0], jnp.zeros((4, 2)), jnp.zeros((4, 2)), penalty_weight=-1.0)
    with pytest.raises(ValueError, match="output"):
        ConvGenerator(output="sigmoid", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        ConvCritic(rngs=nnx.Rngs(0))(jnp.zeros((2, 32, 32, 1)))
