"""The benchmarks' peers (benchmarks/peers): the PyTorch ScoreNet, diffusionjax's EM sampler and
k-diffusion's few-step samplers.

Each test skips when its library (the optional extra `[peers]`) is absent.
"""

import importlib.util
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax.metrics import expected_w1_noise_floor, wasserstein1_to_mixture


def test_torch_scorenet_has_the_tutorials_parameter_count_and_trains():
    pytest.importorskip("torch")
    from benchmarks.peers import torch_scorenet as ts

    model = ts.make_model(0)
    assert ts.count_params(model) == ts.NUM_PARAMS == 1_115_425
    # The Fourier frequencies are counted but not trained, as in the tutorial.
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 1_115_425 - 128

    step = ts.make_train_step(batch=2, seed=0)
    losses = [step(), step()]
    assert all(isinstance(v, float) and math.isfinite(v) for v in losses), losses
    ts.make_forward(batch=2)()
    info = ts.torch_info()
    assert info["num_threads"] >= 1 and info["torch"]


def _diffusionjax():
    pytest.importorskip("diffusionjax")
    from benchmarks.peers import diffusionjax_em

    return diffusionjax_em


def test_diffusionjax_em_grid_keys_and_last_step_are_as_documented():
    # Three grid points: steps from t = 1, (1 + eps)/2 and eps with dt = (1 − eps)/2, keys
    # split once for the prior then once per step, and denoise=True drops the last noise.
    dj = _diffusionjax()
    smin, smax, eps, n = 0.01, 5.0, 1e-3, 8
    score_fn = lambda x, t: -x / (1.0 + t)  # any smooth per-sample score
    sample = dj.make_em_sampler(score_fn, sigma_min=smin, sigma_max=smax, steps=3, batch=n, shape=(2,), eps=eps)
    key = jax.random.key(3)
    x0 = jax.random.normal(jax.random.key(4), (n, 2)) * smax

    log_ratio = math.log(smax / smin)
    g = lambda t: smin * math.exp(t * log_ratio) * math.sqrt(2 * log_ratio)
    dt = (1.0 - eps) / 2
    rng, _ = jax.random.split(key)  # the prior's draw, consumed although x0 is given
    x = np.asarray(x0, np.float64)
    for t in (1.0, (1.0 + eps) / 2, eps):
        rng, step_rng = jax.random.split(rng)
        z = np.asarray(jax.random.normal(step_rng, x.shape), np.float64)
        x_mean = x + g(t) ** 2 * np.asarray(score_fn(x, t)) * dt
        x = x_mean + g(t) * math.sqrt(dt) * z
    np.testing.assert_allclose(np.asarray(sample(key, x0)), x_mean, rtol=2e-5, atol=1e-5)


def test_diffusionjax_em_samples_the_exact_mixture():
    # seed 002 Example 7 (VE, σ_min 0.001, σ_max 10) from the exact p_T with the exact score.
    # Bound as in test_samplers: 3 noise floors (one W1 draw scatters up to ~2.8 floors,
    # mostly through the binomial mode weights) + 0.02 for EM's discretisation at 200 steps
    # (measured: W1 0.020–0.048, mean 0.030, over 6 seeds at n = 65,536 against a floor of
    # 0.027; our lax.scan EM mean 0.029).  Bound ≈ 0.25 at n = 8192; starting from
    # diffusionjax's prior N(0, σ_max²) instead costs about 0.37, a wrong g² far more.
    dj = _diffusionjax()
    n, steps, eps = 8192, 200, 1e-5
    sde = sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0)
    mixture = sg.toy.seed002_mixture()
    x_init = mixture.marginal(sde, sde.T).sample(jax.random.key(1), n)
    sample = dj.make_em_sampler(
        mixture.score_fn(sde), sigma_min=0.001, sigma_max=10.0, steps=steps, batch=n, eps=eps
    )
    x = sample(jax.random.key(0), x_init)
    assert x.shape == (n, 1) and x.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(x)))
    target = mixture.marginal(sde, eps)
    bound = 3 * expected_w1_noise_floor(target, n) + 0.02
    assert wasserstein1_to_mixture(x, target) < bound


def test_kdiffusion_heun_and_dpmpp_2m_equal_ours_draw_for_draw():
    """k-diffusion's sample_heun and sample_dpmpp_2m on the exact mixture denoiser, from the same
    samples of p_T on the same ρ = 7 σ grid, give our EDMHeun / DPMSolverPP(2) results to
    float32 rounding, at the same NFE (measured: max difference ≤ 1.1e-4 over 20,000 samples)."""
    pytest.importorskip("torch")
    if importlib.util.find_spec("k_diffusion") is None:
        pytest.skip("k-diffusion is not installed: pip install --no-deps k-diffusion==0.1.1.post1")
    from benchmarks.peers import kdiffusion_samplers

    res = kdiffusion_samplers.compare(nfes=(10, 19), n=2000)
    assert {(r["sampler"], r["nfe_ours"]) for r in res["rows"]} == {("heun", 9), ("heun", 19), ("dpmpp_2m", 10),
                                                                     ("dpmpp_2m", 19)}
    for r in res["rows"]:
        assert r["nfe_ours"] == r["nfe_theirs"] and r["max_abs_diff"] < 1e-3, r
