"""Forward SDEs: closed-form kernels against their own ODEs and against simulated paths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg

LINEAR_SDES = {
    "ve": lambda: sg.sde.VESDE(sigma_min=0.01, sigma_max=10.0),
    "vp": lambda: sg.sde.VPSDE(beta_min=0.1, beta_max=20.0),
    "subvp": lambda: sg.sde.SubVPSDE(beta_min=0.1, beta_max=20.0),
    "ou": lambda: sg.sde.OUSDE(T=5.0),
    "tutorial_ve": lambda: sg.sde.TutorialVESDE(sigma=25.0),
    "ve_T2": lambda: sg.sde.VESDE(sigma_min=0.01, sigma_max=5.0, T=2.0),
}


@pytest.mark.parametrize("name", LINEAR_SDES)
def test_kernel_solves_moment_odes(name):
    """d log a/dt = f(t) and d s²/dt = 2 f s² + g² (seed 002 Example 8), by autodiff."""
    sde = LINEAR_SDES[name]()
    log_a = lambda t: jnp.log(sde.marginal_coeffs(t)[0])
    var = lambda t: sde.marginal_coeffs(t)[1] ** 2
    for t in np.linspace(0.05, 0.95, 7) * sde.T:
        t = jnp.float32(t)
        np.testing.assert_allclose(jax.grad(log_a)(t), sde.drift_coeff(t), rtol=1e-4, atol=1e-5)
        rhs = 2 * sde.drift_coeff(t) * var(t) + sde.diffusion_coeff(t) ** 2
        np.testing.assert_allclose(jax.grad(var)(t), rhs, rtol=2e-3, atol=1e-4)
    a0, s0 = sde.marginal_coeffs(0.0)
    np.testing.assert_allclose([a0, s0], [1.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("name", LINEAR_SDES)
def test_marginal_matches_simulated_paths(name):
    """Mean and std of 20k Euler–Maruyama paths (2000 steps) against `marginal`."""
    sde = LINEAR_SDES[name]()
    n, steps = 20_000, 2000
    x0 = jnp.array([1.5, -2.0])
    for t_end in (0.3 * sde.T, sde.T):
        x, _, _ = sg.samplers.solve_sde(
            sde.drift, sde.diffusion, jnp.tile(x0, (n, 1)), 0.0, t_end, steps=steps, key=jax.random.PRNGKey(3)
        )
        mean, std = sde.marginal(x0, t_end)
        # standard errors of the sample mean and std, plus the O(dt) Euler bias
        se_mean = float(std) / np.sqrt(n)
        err_mean = np.abs(np.asarray(x.mean(0)) - np.asarray(mean))
        assert np.all(err_mean <= 5 * se_mean + 2e-3), (err_mean, se_mean)
        np.testing.assert_allclose(x.std(0), float(std) * np.ones(2), rtol=5 / np.sqrt(2 * n) + 5e-3)


@pytest.mark.parametrize("name", ["ve", "vp", "subvp"])
def test_discretisation_chains_to_marginal(name):
    """Chaining the SDE's own discretisation (SMLD for VE, DDPM for VP) reproduces the kernel."""
    sde = LINEAR_SDES[name]()
    steps = 1000
    ts = jnp.linspace(0.0, sde.T, steps + 1)
    mean, var = 1.0, 0.0
    for i in range(1, steps + 1):
        F, G = sde.discretize(jnp.float32(mean), ts[i], ts[i] - ts[i - 1])
        scale = 1 + F / mean
        mean, var = mean * scale, var * scale**2 + G**2
    a, s = sde.marginal_coeffs(sde.T)
    # DDPM's ∏ sqrt(1 − β_i) = exp(−½ Σ β_i − ¼ Σ β_i² − …): an O(β_max / N) relative gap
    # (≈ 4 % at N = 1000); the exact SMLD/VE kernel chains exactly.
    np.testing.assert_allclose(mean, a, rtol=5e-2, atol=1e-4)
    np.testing.assert_allclose(np.sqrt(var), s, rtol=2e-2)


def test_ve_kernel_is_seed002_eq_4_2_17():
    sde = sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0)
    for t in (0.1, 0.5, 1.0):
        a, s = sde.marginal_coeffs(t)
        sigma_t = 0.001 * (10.0 / 0.001) ** t
        np.testing.assert_allclose(s**2, sigma_t**2 - 0.001**2, rtol=1e-5)
        assert a == 1.0
    np.testing.assert_allclose(sde.prior_std**2, 100.0 - 1e-6)


def test_prior_logp_is_gaussian():
    sde = sg.sde.VESDE(sigma_min=0.01, sigma_max=3.0)
    x = jnp.array([0.5, -1.0, 2.0])
    var = 9.0 - 1e-4
    expected = -0.5 * np.sum(np.asarray(x) ** 2) / var - 1.5 * np.log(2 * np.pi * var)
    np.testing.assert_allclose(sde.prior_logp(x), expected, rtol=1e-6)
    samples = sde.prior_sample(jax.random.PRNGKey(0), (50_000,))
    np.testing.assert_allclose(samples.std(), np.sqrt(var), rtol=0.02)


def test_reverse_sde_and_flow_drifts():
    """Reverse drift f − g² s and flow drift f − ½ g² s (seed 000 eq. 4.2)."""
    sde = sg.sde.VPSDE()
    score = lambda x, t: -x * (1.0 + t)
    x, t = jnp.array([0.3, -1.2]), 0.4
    f, g = sde.drift(x, t), sde.diffusion(x, t)
    rev = sg.sde.ReverseSDE(sde, score)
    np.testing.assert_allclose(rev.drift(x, t), f - g**2 * score(x, t), rtol=1e-6)
    np.testing.assert_allclose(rev.diffusion(x, t), g)
    flow = sg.sde.probability_flow(sde, score)
    np.testing.assert_allclose(flow.drift(x, t), f - 0.5 * g**2 * score(x, t), rtol=1e-6)
    np.testing.assert_allclose(flow.diffusion(x, t), 0.0)
    np.testing.assert_allclose(rev.drift_in_reversed_time(x, sde.T - t), -rev.drift(x, t), rtol=1e-6)


def test_tweedie_recovers_x0_for_a_point_mass():
    sde = sg.sde.VPSDE()
    x0 = jnp.array([0.7, -0.2])
    point = sg.toy.GaussianMixture([1.0], x0[None], 1e-4)
    score = point.score_fn(sde)
    xt = sde.marginal(x0, 0.5)[0] + 0.3
    np.testing.assert_allclose(sg.sde.tweedie_denoise(sde, score, xt, 0.5), x0, atol=1e-3)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: sg.sde.VESDE(sigma_min=10.0, sigma_max=1.0), "sigma_min must be < sigma_max"),
        (lambda: sg.sde.VESDE(sigma_min=0.0, sigma_max=1.0), "sigma_min must be > 0"),
        (lambda: sg.sde.VESDE(T=-1.0), "T must be > 0"),
        (lambda: sg.sde.VPSDE(beta_min=20.0, beta_max=0.1), "beta_min must be < beta_max"),
        (lambda: sg.sde.VPSDE(beta_min=-1.0), "beta_min must be >= 0"),
        (lambda: sg.sde.SubVPSDE(beta_min=5.0, beta_max=5.0), "beta_min must be < beta_max"),
        (lambda: sg.sde.OUSDE(T=0.0), "T must be > 0"),
        (lambda: sg.sde.TutorialVESDE(sigma=0.5), "sigma > 1"),
        (lambda: sg.sde.TutorialVESDE(25.0, T=0.0), "T must be > 0"),
        (lambda: sg.sde.GeometricBrownianMotion(T=-2.0), "T must be > 0"),
        (lambda: sg.sde.GeometricBrownianMotion(sigma=-1.0), "sigma must be > 0"),
        (lambda: sg.sde.GeometricBrownianMotion(0.5, 0.8, x0=0.0), "x0 must be > 0"),
        (lambda: sg.sde.GeometricBrownianMotion(mu=float("nan")), "mu must be finite"),
    ],
)
def test_invalid_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_positional_constructors_take_the_schedule_in_its_natural_order():
    """score_sde users write VESDE(sigma_min, sigma_max); T is keyword-only."""
    ve = sg.sde.VESDE(0.001, 10.0)
    assert (ve.sigma_min, ve.sigma_max, ve.T) == (0.001, 10.0, 1.0)
    vp = sg.sde.VPSDE(0.1, 20.0)
    assert (vp.beta_min, vp.beta_max, vp.T) == (0.1, 20.0, 1.0)
    sub = sg.sde.SubVPSDE(0.2, 10.0, T=2.0)
    assert (sub.beta_min, sub.beta_max, sub.T) == (0.2, 10.0, 2.0)
    assert sg.sde.TutorialVESDE(25.0).sigma == 25.0 and sg.sde.TutorialVESDE(25.0).T == 1.0
    assert sg.sde.VPSDE(0.1).beta_min == 0.1 and sg.sde.VPSDE(0.1).T == 1.0
    gbm = sg.sde.GeometricBrownianMotion(0.3, 0.5, 2.0)
    assert (gbm.mu, gbm.sigma, gbm.x0, gbm.T) == (0.3, 0.5, 2.0, 1.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: sg.sde.VESDE(0.001, 10.0, 2.0),
        lambda: sg.sde.VPSDE(0.1, 20.0, 1.0),
        lambda: sg.sde.SubVPSDE(0.1, 20.0, 1.0),
        lambda: sg.sde.TutorialVESDE(25.0, 1.0),
        lambda: sg.sde.OUSDE(10.0),
        lambda: sg.sde.GeometricBrownianMotion(0.5, 0.8, 1.0, 1.0),
    ],
)
def test_T_is_never_set_positionally(make):
    with pytest.raises(TypeError, match="positional argument"):
        make()


@pytest.mark.parametrize("name", ["ve", "vp", "ou", "tutorial_ve"])
def test_step_noise_is_accurate_in_float32(name):
    """The exact step noise σ_{t|s} = sqrt(s(t)² − α² s(s)²) (SMLD: sqrt(σ_i² − σ_{i−1}²)) is a
    difference of squares; written without it, float32 matches a float64 reference to ~1e-6
    relative over a 5000-step grid (the plain difference loses up to 2e-4 there)."""
    sde = {"ve": sg.sde.VESDE(0.001, 50.0), **{k: v() for k, v in LINEAR_SDES.items() if k != "ve"}}[name]
    steps = 5000
    ts32 = np.linspace(sde.default_eps, sde.T, steps + 1).astype(np.float32)
    alpha, sigma = jax.vmap(sde.transition_coeffs)(jnp.asarray(ts32[:-1]), jnp.asarray(ts32[1:]))
    assert sigma.dtype == jnp.float32
    t64 = ts32.astype(np.float64)  # the same grid times, in float64
    with jax.enable_x64(True):
        a64, s64 = jax.vmap(lambda s, t: sg.sde.base.LinearSDE.transition_coeffs(sde, s, t))(jnp.asarray(t64[:-1]), jnp.asarray(t64[1:]))
        a64, s64 = np.asarray(a64), np.asarray(s64)
    np.testing.assert_allclose(np.asarray(sigma, np.float64), s64, rtol=2e-6)
    np.testing.assert_allclose(np.asarray(alpha, np.float64), a64, rtol=2e-6)


def test_sdes_are_pytrees_usable_under_jit():
    sde = sg.sde.VPSDE(beta_min=0.1, beta_max=20.0)
    f = jax.jit(lambda s, t: s.marginal_coeffs(t))
    np.testing.assert_allclose(f(sde, 0.5), sde.marginal_coeffs(0.5), rtol=1e-6)
    assert len(jax.tree_util.tree_leaves(sde)) == 3  # beta_min, beta_max, T
    # a changed hyperparameter flows through jit without retracing by hand
    other = sg.sde.VPSDE(beta_min=0.2, beta_max=10.0)
    np.testing.assert_allclose(f(other, 0.5), other.marginal_coeffs(0.5), rtol=1e-6)
