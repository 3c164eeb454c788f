"""Every sampler against exact Gaussian-mixture targets, NFE counts, convergence orders."""

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax.metrics import expected_w1_noise_floor, sliced_wasserstein1_to_mixture, wasserstein1_to_mixture

VE7 = sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0)  # seed 002 Example 7
SAMPLERS = {m: sg.samplers.from_name(m) for m in sg.samplers.METHODS}
SAMPLERS["annealed_langevin"] = sg.samplers.AnnealedLangevin(steps_per_level=5, step_lr=0.5)


def _steps(method, steps):
    """The ODE chooses its own steps.  Ancestral sampling has a first-order bias in this
    bimodal target (Tweedie's point estimate of x0 drops the posterior variance): W1 0.070 /
    0.045 / 0.018 at 200 / 400 / 1000 steps with n = 200k; it gets 3× the steps."""
    if SAMPLERS[method].adaptive:
        return None
    return 3 * steps if method == "ancestral" else steps


def _from_exact_pT(sde, mixture, method, n, steps, seed=0):
    """Sample from the exact p_T with the exact score; return (samples, exact p_eps, info)."""
    k_init, k_run = jax.random.split(jax.random.PRNGKey(seed))
    x_init = mixture.marginal(sde, sde.T).sample(k_init, n)
    x, info = sg.sample_with_info(
        k_run, sde, mixture.score_fn(sde), method=SAMPLERS[method], steps=_steps(method, steps), x_init=x_init
    )
    return x, mixture.marginal(sde, sde.default_eps), info


# Tolerance: a correct sampler's W1 is sampling noise (of x_init and of the output, each
# bounded in expectation by the noise floor) plus its discretisation error, which at
# these step counts is below 0.02 (measured: 0.01–0.04 total at n = 50k, 500 steps).
# One draw of W1 scatters widely, mostly through the binomial mode weights: over 12 seeds
# of reverse-diffusion / ancestral at n = 20k, 200 steps, W1 ranged 0.037–0.136 (mean
# 0.07), up to 2.8× the n = 20k noise floor of 0.049; hence 3 floors (bound ≈ 0.17).
# Errors in the mathematics are far larger: starting from the wrong prior alone costs
# 0.39, a missing factor 2 in g² more than 1.
def _bound(target, n, discretisation=0.02):
    return 3 * expected_w1_noise_floor(target, n) + discretisation


@pytest.mark.parametrize("method", sg.samplers.METHODS)
def test_every_method_reproduces_example7_from_exact_pT(method):
    n = 20_000
    # Euler on the flow ODE is first order with a large constant under VE (W1 0.168 at 200
    # steps, above the bound's 0.02 of discretisation): it gets 1000.
    steps = {"annealed_langevin": 100, "euler_flow": 1000}.get(method, 200)
    x, target, info = _from_exact_pT(VE7, sg.toy.seed002_mixture(), method, n, steps=steps)
    assert x.shape == (n, 1)
    w1 = wasserstein1_to_mixture(x, target)
    assert w1 < _bound(target, n), (method, w1)
    assert int(info.nfe) > 0


@pytest.mark.parametrize("method", ["euler_maruyama", "srk", "reverse_diffusion", "ancestral", "pc", "ode"])
@pytest.mark.parametrize("sde", [sg.sde.VPSDE(), sg.sde.SubVPSDE()], ids=["vp", "subvp"])
def test_vp_family_reproduces_the_mixture(method, sde):
    n = 20_000
    x, target, _ = _from_exact_pT(sde, sg.toy.seed002_mixture(), method, n, steps=200)
    assert wasserstein1_to_mixture(x, target) < _bound(target, n)


@pytest.mark.parametrize("sde", [sg.sde.VPSDE(), sg.sde.SubVPSDE()], ids=["vp", "subvp"])
def test_annealed_langevin_on_vp_family(sde):
    """The level-to-level rescaling a(t_{i+1})/a(t_i) makes NCSN sampling exact on VP SDEs
    too: without it W1 was 0.57 at this setting (one draw), the modes left near a(t)·μ."""
    n = 20_000
    x, target, _ = _from_exact_pT(sde, sg.toy.seed002_mixture(), "annealed_langevin", n, steps=100)
    assert wasserstein1_to_mixture(x, target) < _bound(target, n)


def _sliced_bound(mixture, n, key, num_projections=32, discretisation=0.03):
    dirs = jax.random.normal(key, (num_projections, mixture.dim))
    dirs = dirs / jnp.linalg.norm(dirs, axis=1, keepdims=True)
    floor = np.mean([expected_w1_noise_floor(mixture.project(d), n) for d in dirs])
    return 2 * floor + discretisation


@pytest.mark.parametrize("method", sg.samplers.METHODS)
def test_every_method_reproduces_a_2d_ring(method):
    n = 10_000
    ring = sg.toy.ring_mixture(8, radius=4.0, std=0.5)
    sde = sg.sde.VESDE(sigma_min=0.01, sigma_max=20.0)
    x, target, _ = _from_exact_pT(sde, ring, method, n, steps=200 if method != "annealed_langevin" else 100)
    key = jax.random.PRNGKey(7)
    sw1 = sliced_wasserstein1_to_mixture(x, target, key, num_projections=32)
    assert sw1 < _sliced_bound(target, n, key), (method, sw1)


def test_seed_prior_start_has_a_floor_that_steps_do_not_remove():
    """From N(0, σ(T)² − σ(0)²) instead of p_T the error stays ≈ 0.37 (seed 002 footnote 1)."""
    g = sg.toy.seed002_mixture()
    target = g.marginal(VE7, VE7.default_eps)
    w = [
        wasserstein1_to_mixture(sg.sample(jax.random.PRNGKey(1), VE7, g.score_fn(VE7), (1,), 50_000, steps=s), target)
        for s in (100, 400)
    ]
    assert 0.25 < w[0] < 0.5 and 0.25 < w[1] < 0.5, w


def _counting(score_fn, counter):
    def fn(x, t):
        jax.debug.callback(lambda _: counter.__setitem__(0, counter[0] + 1), t)
        return score_fn(x, t)

    return fn


@pytest.mark.parametrize("method", sg.samplers.METHODS)
def test_reported_nfe_equals_counted_score_calls(method):
    counter = [0]
    g = sg.toy.seed002_mixture()
    _, info = sg.sample_with_info(
        jax.random.PRNGKey(0), VE7, _counting(g.score_fn(VE7), counter), (1,), 1, method=SAMPLERS[method],
        steps=_steps(method, 16),
    )
    jax.effects_barrier()
    assert counter[0] == int(info.nfe), (method, counter[0], int(info.nfe))


def test_ode_is_adaptive():
    g = sg.toy.seed002_mixture()
    ode = sg.samplers.ProbabilityFlowODE
    coarse = sg.sample_with_info(jax.random.PRNGKey(0), VE7, g.score_fn(VE7), (1,), 64, method=ode(rtol=1e-3, atol=1e-3))[1]
    fine = sg.sample_with_info(jax.random.PRNGKey(0), VE7, g.score_fn(VE7), (1,), 64, method=ode(rtol=1e-6, atol=1e-6))[1]
    assert int(fine.num_steps) > int(coarse.num_steps) > 0


@pytest.mark.parametrize("solver, order", [(dfx.Euler(), 0.5), (dfx.ItoMilstein(), 1.0)], ids=["euler", "milstein"])
def test_strong_order_on_geometric_brownian_motion(solver, order):
    """E|X_N − X(1)| ∝ dt^order against the exact GBM solution (seed 002 eq. 5.3.7)."""
    gbm = sg.sde.GeometricBrownianMotion(mu=0.5, sigma=0.8)
    n = 800
    keys = jax.random.split(jax.random.PRNGKey(0), n)

    def error(key, steps):
        bm = dfx.VirtualBrownianTree(0.0, 1.0, tol=2**-10, shape=(1,), key=key)
        x, _, _ = sg.samplers.solve_sde(
            gbm.drift, gbm.diffusion, jnp.ones((1, 1)), 0.0, 1.0, steps=steps, solver=solver, brownian_motion=bm
        )
        exact = gbm.exact_solution(1.0, 1.0, bm.evaluate(0.0, 1.0))
        return jnp.abs(x[0] - exact)

    steps = [4, 8, 16, 32, 64]
    errs = [float(jax.jit(jax.vmap(lambda k: error(k, s)))(keys).mean()) for s in steps]
    slope = np.polyfit(np.log(1.0 / np.array(steps)), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.15, (solver, errs, slope)


def test_langevin_reaches_the_target_from_both_starts():
    """Seed 002 Example 6 (Fig. 2 and 3): from N(0, 1) and from U[−20, 20]."""
    g = sg.toy.seed002_mixture()
    n = 10_000
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    starts = {
        "normal": jax.random.normal(k1, (n, 1)),
        "uniform": jax.random.uniform(k2, (n, 1), minval=-20.0, maxval=20.0),
    }
    # γ = 0.1 for 3000 steps (300 time units): crossing the barrier between the modes at
    # ±5 takes tens of time units, so the seed's γ = 0.01 × 5000 has not mixed yet.
    # ULA's bias at γ = 0.1 inflates each σ = 2 mode by ≈ 0.6 %, well inside the bound.
    for name, x0 in starts.items():
        x = sg.langevin(k3, g.score_fn(), x0, step_size=0.1, steps=3000)
        w1 = wasserstein1_to_mixture(x, g)
        assert w1 < _bound(g, n), (name, w1)
        assert abs(float((x < 0).mean()) - 0.3) < 0.03, name


def test_langevin_path():
    g = sg.toy.seed002_mixture()
    x0 = jnp.zeros((5, 1))
    x, path = sg.langevin(jax.random.PRNGKey(0), g.score_fn(), x0, step_size=0.1, steps=20, return_path=True, num_saves=4)
    assert path.shape == (5, 5, 1)
    np.testing.assert_array_equal(path[:, 0], x0)
    np.testing.assert_array_equal(path[:, -1], x)


@pytest.mark.parametrize("method", ["euler_maruyama", "pc", "ode", "annealed_langevin"])
def test_saved_path(method):
    g = sg.toy.seed002_mixture()
    x_init = g.marginal(VE7, 1.0).sample(jax.random.PRNGKey(1), 8)
    x, info = sg.sample_with_info(
        jax.random.PRNGKey(0), VE7, g.score_fn(VE7), x_init=x_init, method=SAMPLERS[method], steps=_steps(method, 20),
        num_saves=5,
    )
    assert info.path.shape == (8, 6, 1)
    grid = np.linspace(1.0, 1e-5, 6) if method == "ode" else np.linspace(1.0, 1e-5, 21)[::4]
    np.testing.assert_allclose(info.ts, grid, rtol=1e-5)
    np.testing.assert_allclose(info.path[:, 0], x_init)
    np.testing.assert_allclose(info.path[:, -1], x, rtol=1e-5, atol=1e-6)


def test_compiles_once_per_shape():
    traces = [0]
    g = sg.toy.seed002_mixture()
    inner = g.score_fn(VE7)

    def score(x, t):
        traces[0] += 1  # runs only while tracing
        return inner(x, t)

    sg.sample(jax.random.PRNGKey(0), VE7, score, (1,), 32, steps=10)
    after_first_call = traces[0]  # diffrax traces the vector field several times
    for seed in range(1, 4):
        sg.sample(jax.random.PRNGKey(seed), VE7, score, (1,), 32, steps=10)
    assert traces[0] == after_first_call


def test_same_key_same_samples_and_new_key_new_samples():
    g = sg.toy.seed002_mixture()
    f = g.score_fn(VE7)
    a = sg.sample(jax.random.PRNGKey(0), VE7, f, (1,), 100, steps=10)
    b = sg.sample(jax.random.PRNGKey(0), VE7, f, (1,), 100, steps=10)
    c = sg.sample(jax.random.PRNGKey(1), VE7, f, (1,), 100, steps=10)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_image_shaped_samples():
    """Any sample shape works; noise stays diagonal (no (D×D) matrix for D = 784)."""
    point = sg.toy.GaussianMixture([1.0], jnp.zeros((1, 28 * 28)), 0.5)
    flat_score = point.score_fn(VE7)
    score = lambda x, t: flat_score(x.reshape(-1), t).reshape(x.shape)
    x_init = point.marginal(VE7, VE7.T).sample(jax.random.PRNGKey(1), 4).reshape(4, 1, 28, 28)
    for method in ("euler_maruyama", "srk", "pc"):
        x = sg.sample(jax.random.PRNGKey(0), VE7, score, x_init=x_init, method=method, steps=100, chunk_size=3)
        assert x.shape == (4, 1, 28, 28)
        # the target is N(0, 0.5²) per pixel: 3136 values give the std to ≈ 1.3 %
        assert abs(float(x.std()) - 0.5) < 0.05, (method, float(x.std()))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method="rk4"), "unknown sampler 'rk4'"),
        (dict(method=3), "method must be a sampler object"),
        (dict(steps=0), "steps must be an integer >= 1"),
        (dict(eps=2.0), "eps must be < T"),
        (dict(eps=0.0), "eps must be > 0"),
        (dict(snr=0.1), "unexpected keyword argument 'snr'"),
        (dict(method="ode", steps=10), "chooses its own steps; drop `steps`"),
        (dict(num_saves=3, steps=10), "must divide steps=10"),
        (dict(chunk_size=0), "chunk_size must be an integer >= 1"),
        (dict(x_init=jnp.zeros((4, 2))), r"x_init has shape \(4, 2\), expected"),
        (dict(shape=None), "give `shape` and `n`"),
    ],
)
def test_invalid_sampler_arguments_raise(kwargs, match):
    g = sg.toy.seed002_mixture()
    args = dict(shape=(1,), n=4, steps=10)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        sg.sample(jax.random.PRNGKey(0), VE7, g.score_fn(VE7), **args)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: sg.samplers.PredictorCorrector(snr=-1.0), "snr must be > 0"),
        (lambda: sg.samplers.PredictorCorrector(corrector_steps=-1), "corrector_steps must be an integer >= 0"),
        (lambda: sg.samplers.PredictorCorrector(predictor=None, corrector_steps=0), "would not move the samples"),
        (lambda: sg.samplers.AnnealedLangevin(step_lr=0.0), "step_lr must be > 0"),
        (lambda: sg.samplers.AnnealedLangevin(steps_per_level=0), "steps_per_level must be an integer >= 1"),
        (lambda: sg.samplers.ProbabilityFlowODE(rtol=-1.0), "rtol must be > 0"),
        (lambda: sg.samplers.ProbabilityFlowODE(solver=dfx.Euler()), "cannot count the score evaluations of Euler"),
        (lambda: sg.samplers.from_name("pc", predictor_name="x"), "sampler 'pc' does not take"),
    ],
)
def test_sampler_constructors_validate(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_langevin_invalid_arguments_raise():
    g = sg.toy.seed002_mixture()
    with pytest.raises(ValueError, match="step_size must be > 0"):
        sg.langevin(jax.random.PRNGKey(0), g.score_fn(), jnp.zeros((2, 1)), step_size=-0.1)
    with pytest.raises(ValueError, match="needs num_saves"):
        sg.langevin(jax.random.PRNGKey(0), g.score_fn(), jnp.zeros((2, 1)), return_path=True)


def test_denoise_returns_the_tweedie_mean_of_p_eps():
    """Gaussian data N(μ, v) under VE: p_eps = N(μ, v + s²), and E[x0 | x_eps] has mean μ and
    variance v² / (v + s²).  The ODE carries exact p_T samples to p_eps (to ~1e-5)."""
    mu, v = 2.0, 0.25
    gauss = sg.toy.GaussianMixture(weights=[1.0], means=[[mu]], stds=[[v**0.5]])
    sde = sg.sde.VESDE(sigma_min=0.01, sigma_max=10.0)
    eps = 0.6  # s(eps)² ≈ 0.40, so p_eps and its denoised law differ clearly from the data
    s2 = float(sde.marginal_coeffs(eps)[1]) ** 2
    n = 100_000
    k_init, k_run = jax.random.split(jax.random.PRNGKey(3))
    x_T = gauss.marginal(sde, sde.T).sample(k_init, n)
    kw = dict(method=sg.samplers.ProbabilityFlowODE(rtol=1e-6, atol=1e-6), x_init=x_T, eps=eps)
    x, info = sg.sample_with_info(k_run, sde, gauss.score_fn(sde), **kw)
    xd, info_d = sg.sample_with_info(k_run, sde, gauss.score_fn(sde), denoise=True, **kw)
    assert int(info_d.nfe) == int(info.nfe) + 1
    np.testing.assert_allclose(xd, jax.vmap(lambda xi: sg.sde.tweedie_denoise(sde, gauss.score_fn(sde), xi, eps))(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.var(x), v + s2, rtol=0.02)
    np.testing.assert_allclose(np.mean(xd), mu, atol=0.01)
    np.testing.assert_allclose(np.var(xd), v**2 / (v + s2), rtol=0.02)
    with pytest.raises(ValueError, match="denoise must be True or False"):
        sg.sample(k_run, sde, gauss.score_fn(sde), denoise="yes", **kw)


class _Recording(eqx.Module):
    """Runs `inner` and returns, as the saved path, the state it ended in and the grid it got."""

    inner: eqx.Module

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        x, info = self.inner(key, sde, score_fn, x_init, ts, chunk_size=chunk_size)
        return x, sg.samplers.SampleInfo(info.nfe, info.num_steps, ts, x)


@pytest.mark.parametrize("method", ["euler_maruyama", "pc"])
def test_denoise_replaces_the_last_step_by_tweedie(method):
    """denoise=True runs the sampler on the grid without its last step, then applies Tweedie's
    mean at the grid's last time to exactly what the sampler returned (one more NFE)."""
    g = sg.toy.seed002_mixture()
    score = g.score_fn(VE7)
    x_T = g.marginal(VE7, VE7.T).sample(jax.random.PRNGKey(0), 512)
    key, steps = jax.random.PRNGKey(1), 50
    rec = _Recording(sg.samplers.from_name(method))
    xd, info = sg.sample_with_info(key, VE7, score, x_init=x_T, method=rec, steps=steps, denoise=True)
    grid = np.linspace(VE7.T, VE7.default_eps, steps + 1)[:-1]  # the grid without its last step
    np.testing.assert_allclose(info.ts, grid, rtol=1e-5)  # a float32 grid
    t_last = info.ts[-1]
    np.testing.assert_allclose(xd, jax.vmap(lambda xi: sg.sde.tweedie_denoise(VE7, score, xi, t_last))(info.path), rtol=1e-6)
    assert int(info.nfe) == (steps - 1) * SAMPLERS[method].nfe_per_step + 1
    xd, info = sg.sample_with_info(key, VE7, score, x_init=x_T, method=method, steps=steps, denoise=True, num_saves=7)
    assert info.path.shape[1] == 8 and float(info.ts[-1]) == pytest.approx(float(t_last))
    with pytest.raises(ValueError, match="must divide steps - 1 = 49"):
        sg.sample(key, VE7, score, x_init=x_T, method=method, steps=steps, denoise=True, num_saves=10)
    with pytest.raises(ValueError, match="needs steps >= 2"):
        sg.sample(key, VE7, score, x_init=x_T, method=method, steps=1, denoise=True)


# ----------------------------------------------------------------------------- open protocol


class OutsideSampler:
    """A sampler written outside the package, subclassing nothing: deterministic Euler on the
    probability-flow ODE, dx = [f − ½ g² s] dt, with the protocol's signature."""

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        def step(x, t_pair):
            t, t_next = t_pair
            drift = lambda xi: sde.drift(xi, t) - 0.5 * sde.diffusion(xi, t) ** 2 * score_fn(xi, t)
            return x + jax.vmap(drift)(x) * (t_next - t), None

        x, _ = jax.lax.scan(step, x_init, (ts[:-1], ts[1:]))
        steps = ts.shape[0] - 1
        return x, sg.samplers.SampleInfo(nfe=jnp.asarray(steps), num_steps=jnp.asarray(steps))


class FlowEuler(sg.samplers.StepSampler):
    """The same method as a StepSampler: only the one-sample update."""

    def update(self, sde, score_fn, x, z, t, t_next):
        return x + (sde.drift(x, t) - 0.5 * sde.diffusion(x, t) ** 2 * score_fn(x, t)) * (t_next - t)


def test_samplers_written_outside_the_package_run_through_sample():
    g = sg.toy.seed002_mixture()
    n = 20_000
    x_T = g.marginal(VE7, VE7.T).sample(jax.random.PRNGKey(0), n)
    target = g.marginal(VE7, VE7.default_eps)
    a, info_a = sg.sample_with_info(jax.random.PRNGKey(1), VE7, g.score_fn(VE7), x_init=x_T, method=OutsideSampler(), steps=400)
    b, info_b = sg.sample_with_info(jax.random.PRNGKey(1), VE7, g.score_fn(VE7), x_init=x_T, method=FlowEuler(), steps=400)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert int(info_a.nfe) == int(info_b.nfe) == 400
    assert wasserstein1_to_mixture(a, target) < _bound(target, n)


@pytest.mark.parametrize("method", ["euler_maruyama", "euler_maruyama_scan", "pc", "annealed_langevin", "ode", "milstein"])
def test_chunked_score_evaluation_gives_the_same_samples(method):
    g = sg.toy.seed002_mixture()
    x_T = g.marginal(VE7, VE7.T).sample(jax.random.PRNGKey(0), 10)
    kw = dict(x_init=x_T, method=SAMPLERS[method], steps=_steps(method, 20))
    whole = sg.sample(jax.random.PRNGKey(1), VE7, g.score_fn(VE7), **kw)
    chunked = sg.sample(jax.random.PRNGKey(1), VE7, g.score_fn(VE7), chunk_size=3, **kw)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)


def test_pc_default_snr_follows_the_sde():
    assert sg.sde.VESDE().default_snr == 0.16 and sg.sde.TutorialVESDE().default_snr == 0.16
    assert sg.sde.VPSDE().default_snr == sg.sde.SubVPSDE().default_snr == sg.sde.OUSDE().default_snr == 0.01
    pc = sg.samplers.PredictorCorrector()
    assert pc.resolved_snr(VE7) == 0.16 and pc.resolved_snr(sg.sde.VPSDE()) == 0.01
    gbm = sg.sde.GeometricBrownianMotion()
    with pytest.raises(ValueError, match="has no default corrector snr; pass PredictorCorrector"):
        sg.sample(jax.random.PRNGKey(0), gbm, lambda x, t: -x, (1,), 4, method=pc, steps=4)


@pytest.mark.parametrize("method", ["ancestral", "annealed_langevin"])
def test_samplers_that_need_a_kernel_say_so(method):
    gbm = sg.sde.GeometricBrownianMotion()
    with pytest.raises(ValueError, match="needs `marginal_coeffs`, which GeometricBrownianMotion does not have"):
        sg.sample(jax.random.PRNGKey(0), gbm, lambda x, t: -x, (1,), 4, method=method, steps=4)
    with pytest.raises(ValueError, match=r"denoise=True .* needs `marginal_coeffs`"):
        sg.sample(jax.random.PRNGKey(0), gbm, lambda x, t: -x, (1,), 4, steps=4, denoise=True)


def test_batched_score_forms_evaluate_chunks_like_the_per_sample_call():
    from flax import nnx

    sde = sg.sde.VPSDE()
    net = sg.nets.TimeMLP(2, features=(16,), marginal_std=lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(0))
    score = sg.nets.score_fn_from(net)
    x = jax.random.normal(jax.random.PRNGKey(0), (10, 2))
    ref = jax.vmap(score, in_axes=(0, None))(x, 0.3)
    for chunk in (None, 3, 5, 10, 20):
        np.testing.assert_allclose(sg.samplers.batch_score(score, chunk)(x, 0.3), ref, rtol=1e-4, atol=1e-5)  # GEMM order
