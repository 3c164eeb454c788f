"""BSDE-Gen (seed 000 §4.2): the FBSDE scheme against its closed forms, the networks' size,
the MMD against closed forms, and a short training run on a 2-D mixture."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import sdegen_jax as sg
from sdegen_jax import bsde, losses
from sdegen_jax.nets import BSDEGenNets, bsde_fns_from


def test_reference_sizes_have_12948560_parameters():
    nets = nnx.eval_shape(lambda: BSDEGenNets(32, 32, 784, hidden=(64, 32, 64), rngs=nnx.Rngs(0)))
    assert sg.nets.count_params(nnx.state(nets, nnx.Param)) == 12_948_560


def _zero_control(dim_y, dim_w):
    return lambda t, x, key: jnp.zeros((dim_y, dim_w))


def test_zero_control_and_f_minus_y_give_the_closed_form():
    """z ≡ 0, f = −y: y_{i+1} = y_i (1 + Δt), so y_N = y_0 (1 + Δt)^N exactly (→ y_0 e^T)."""
    fbsde = bsde.FBSDE(3, 2, 5, num_steps=50, T=1.0, generator=bsde.generator_linear)
    y0 = jnp.array([1.0, -2.0, 0.5, 3.0, 0.0])
    initial_fn = lambda x0, key: y0
    _, y_T = bsde.euler_fbsde(fbsde, initial_fn, _zero_control(5, 2), jnp.ones(3),
                              bsde.brownian_increments(jax.random.key(0), fbsde))
    np.testing.assert_allclose(y_T, y0 * (1 + fbsde.dt) ** 50, rtol=1e-5)
    assert abs((1 + fbsde.dt) ** 50 - math.e) < 0.03  # the Euler factor tends to e^T


def test_forward_process_follows_the_ou_marginal():
    """x from a fixed x0 = c under b = −x, σ = √2 I: Euler gives mean c(1−Δt)^N and variance
    2Δt Σ_k (1−Δt)^{2k}; both are O(Δt) from the exact OU marginal N(c e^{−T}, 1 − e^{−2T})."""
    n, c = 20_000, 2.0
    fbsde = bsde.FBSDE(2, 2, 1, num_steps=100, T=1.0)
    dw = bsde.brownian_increments(jax.random.key(1), fbsde, n)
    x_T = jax.vmap(lambda w: bsde.euler_fbsde(fbsde, lambda x0, k: jnp.zeros(1), _zero_control(1, 2),
                                              jnp.full(2, c), w)[0])(dw)
    dt, N = fbsde.dt, fbsde.num_steps
    mean = c * (1 - dt) ** N
    var = 2 * dt * (1 - (1 - dt) ** (2 * N)) / (1 - (1 - dt) ** 2)
    x_T = np.asarray(x_T)
    np.testing.assert_allclose(x_T.mean(0), mean, atol=4 * math.sqrt(var / n))
    np.testing.assert_allclose(x_T.var(0), var, rtol=4 * math.sqrt(2 / n))
    assert abs(mean - c * math.exp(-1)) < 0.01 and abs(var - (1 - math.exp(-2))) < 0.01


def test_brownian_forward_and_alternative_generator():
    fbsde = bsde.FBSDE.brownian(2, 2, 3, num_steps=10, generator=bsde.generator_neg_abs_y)
    dw = bsde.brownian_increments(jax.random.key(2), fbsde)
    x_T, y_T = bsde.euler_fbsde(fbsde, lambda x0, k: -jnp.ones(3), _zero_control(3, 2), jnp.zeros(2), dw)
    np.testing.assert_allclose(x_T, dw.sum(0), rtol=1e-5, atol=1e-6)  # b = 0, σ = I: x_T = W_T
    np.testing.assert_allclose(y_T, -(1 - fbsde.dt) ** 10 * jnp.ones(3), rtol=1e-5)  # y' = |y| = −y for y < 0


def test_the_scheme_matches_a_python_loop_and_remat_changes_nothing():
    nets = BSDEGenNets(3, 2, 4, hidden=(8, 4, 8), rngs=nnx.Rngs(0))
    fns = bsde_fns_from(nets)
    fbsde = bsde.FBSDE(3, 2, 4, num_steps=7)
    x0 = jax.random.normal(jax.random.key(0), (3,))
    dw = bsde.brownian_increments(jax.random.key(1), fbsde)
    x, y = x0, fns.initial_fn(x0)
    for i in range(7):
        t = i * fbsde.dt
        z = fns.control_fn(t, x)
        x = x - x * fbsde.dt + math.sqrt(2) * jnp.eye(3, 2) @ dw[i]
        y = y - (-y + jnp.abs(z).sum(-1)) * fbsde.dt + z @ dw[i]
    for remat in (True, False):
        x_T, y_T = bsde.euler_fbsde(fbsde, fns.initial_fn, fns.control_fn, x0, dw, remat=remat)
        np.testing.assert_allclose(x_T, x, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y_T, y, rtol=1e-5, atol=1e-6)
    grad = lambda remat: jax.grad(lambda s: jnp.sum(bsde.euler_fbsde(fbsde, bsde_fns_from(nets).initial_fn,
        lambda t, x, k: nnx.merge(*nnx.split(nets)[:1], s).control(t, x), x0, dw, remat=remat)[1] ** 2))(nnx.state(nets))
    g1, g0 = grad(True), grad(False)
    for a, b in zip(jax.tree_util.tree_leaves(g1), jax.tree_util.tree_leaves(g0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_dropout_is_on_with_a_key_and_off_without():
    nets = BSDEGenNets(3, 2, 4, hidden=(8, 16, 8), rngs=nnx.Rngs(0))
    x = jnp.ones(3)
    np.testing.assert_array_equal(nets.initial(x), nets.initial(x))
    assert not np.allclose(nets.initial(x, jax.random.key(0)), nets.initial(x, jax.random.key(1)))
    assert nets.control(0.5, x).shape == (4, 2)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bsde.FBSDE(0, 2, 3), "dim_x must be an integer >= 1"),
        (lambda: bsde.FBSDE(2, 2, 3, T=-1.0), "T must be > 0"),
        (lambda: bsde.FBSDE(2, 2, 3, num_steps=0), "num_steps must be an integer >= 1"),
        (lambda: bsde.euler_fbsde(bsde.FBSDE(2, 2, 3), lambda x, k: jnp.zeros(3), _zero_control(3, 2), jnp.zeros(3),
                                  jnp.zeros((200, 2))), r"x0 must be one sample of shape \(dim_x,\)"),
        (lambda: bsde.euler_fbsde(bsde.FBSDE(2, 2, 3), lambda x, k: jnp.zeros(3), _zero_control(3, 3), jnp.zeros(2),
                                  jnp.zeros((200, 2))), r"control_fn must return z of shape \(dim_y, dim_w\)"),
        (lambda: bsde.euler_fbsde(bsde.FBSDE(2, 2, 3), lambda x, k: jnp.zeros(3), _zero_control(3, 2), jnp.zeros(2),
                                  jnp.zeros((10, 2))), "draw it with sg.bsde.brownian_increments"),
        (lambda: losses.mmd2(jnp.zeros((4, 2)), jnp.zeros((4, 3))), "same size"),
        (lambda: losses.mmd2(jnp.zeros((1, 2)), jnp.zeros((4, 2)), unbiased=True), "at least 2 samples"),
        (lambda: BSDEGenNets(3, 3, 4, hidden=(8, 4, 5), rngs=nnx.Rngs(0)), "divisible by 4"),
        (lambda: bsde.PCAEncoder.fit(np.zeros((10, 4)), 8), "more than dim_x=8 images"),
        (lambda: sg.train.bsde_training(BSDEGenNets(2, 2, 2, hidden=(4, 4, 4), rngs=nnx.Rngs(0)), bsde.FBSDE(2, 2, 2),
                                        sg.train.make_mesh(jax.devices()[:1]), optimizer=sg.train.make_rmsprop(),
                                        key=jax.random.key(0), recon_weight=1.0), "recon_weight needs an encoder"),
    ],
)
def test_bad_input_is_refused_with_the_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------------- MMD


def test_mmd_of_a_sample_with_itself():
    x = jax.random.normal(jax.random.key(0), (300, 5))
    assert abs(float(losses.mmd2(x, x))) < 1e-5  # biased: exactly 0 up to round-off
    # Unbiased, two independent samples of one law: mean zero over draws.
    vals = [float(losses.mmd2(jax.random.normal(jax.random.key(2 * i), (200, 5)),
                              jax.random.normal(jax.random.key(2 * i + 1), (200, 5)), unbiased=True))
            for i in range(20)]
    assert abs(np.mean(vals)) < 4 * np.std(vals) / math.sqrt(len(vals))


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("offset", [0.0, 3.0])
def test_mmd_in_float32_matches_pairwise_differences_in_float64(unbiased, offset):
    """MNIST-like batches (784 pixels, mostly −1): the Gram formula |x|² + |y|² − 2x·y cancels
    |x|² ≈ 600 down to d² ≈ 100, and k is steepest at d² = 0, where the V-statistic's diagonal sits.
    Before the self-pairs' diagonal was set to exactly 0 and the samples centred, float32 was off
    by 8e-4 (offset 0) and 4e-3 (offset 3) relative in the V-statistic, 7e-6 in the U-statistic
    at offset 3: the round-off that split BSDE-Gen's first loss on 1 and 8 devices by 6e-4 on CI."""
    rng = np.random.default_rng(0)

    def digits(n, ink):
        on = rng.random((n, 784)) < ink
        return np.where(on, rng.uniform(-1, 1, (n, 784)), -1.0) + offset

    x, y = digits(48, 0.1), digits(64, 0.3)  # two laws, so that MMD² is well away from 0

    def mean_k(u, v, same):
        d2 = ((u[:, None] - v[None]) ** 2).sum(-1)
        k = sum(a * a / (a * a + d2) for a in (0.2, 0.5, 0.9, 1.3))
        if same and unbiased:
            return (k.sum() - np.trace(k)) / (len(u) * (len(u) - 1))
        return k.mean()

    exact = mean_k(x, x, True) + mean_k(y, y, True) - 2 * mean_k(x, y, False)
    value = losses.mmd2(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), unbiased=unbiased)
    np.testing.assert_allclose(float(value), exact, rtol=2e-6)
    chunked = losses.mmd2(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), unbiased=unbiased, chunk_size=20)
    np.testing.assert_allclose(float(chunked), exact, rtol=2e-6)


@pytest.mark.parametrize("shift", [0.5, 1.5])
def test_rbf_mmd_between_gaussians_matches_the_closed_form(shift):
    """The unbiased estimator's mean over independent draws equals the closed form (within 4
    standard errors of that mean)."""
    d, n, draws = 4, 1500, 8
    kernel = losses.rbf_kernel((1.0, 4.0))
    mu = jnp.full(d, shift / math.sqrt(d))
    exact = float(losses.rbf_mmd2_gaussians(jnp.zeros(d), 1.0, mu, 2.25, d, bandwidths=(1.0, 4.0)))
    est = []
    for i in range(draws):
        x = jax.random.normal(jax.random.key(2 * i), (n, d))
        y = mu + 1.5 * jax.random.normal(jax.random.key(2 * i + 1), (n, d))
        est.append(float(losses.mmd2(x, y, kernel=kernel, unbiased=True)))
    assert exact > 0.05
    assert abs(np.mean(est) - exact) < 4 * np.std(est, ddof=1) / math.sqrt(draws), (np.mean(est), exact)
    # Chunked evaluation is the same number.
    np.testing.assert_allclose(losses.mmd2(x, y, kernel=kernel, unbiased=True, chunk_size=400), est[-1], rtol=1e-4)


def test_mmd_falls_as_one_gaussian_approaches_another():
    x = jax.random.normal(jax.random.key(0), (1000, 2))
    z = jax.random.normal(jax.random.key(1), (1000, 2))
    shifts = [3.0, 1.5, 0.75, 0.3]
    est = [float(losses.mmd2(x, z + s, unbiased=True)) for s in shifts]
    exact = [float(losses.rbf_mmd2_gaussians(jnp.zeros(2), 1.0, jnp.full(2, s), 1.0, 2)) for s in shifts]
    assert all(a > b for a, b in zip(est, est[1:])), est
    assert all(a > b for a, b in zip(exact, exact[1:])), exact


# ---------------------------------------------------------------------------- training


def test_bsde_gen_learns_a_2d_mixture():
    """A few hundred RMSprop steps on a 4-mode 2-D mixture lower MMD² and sliced W1 to it."""
    mixture = sg.toy.ring_mixture(num_modes=4, radius=2.0, std=0.3)
    fbsde = bsde.FBSDE(4, 4, 2, num_steps=20)
    nets = BSDEGenNets(4, 4, 2, hidden=(32, 32, 32), dropout_rate=0.0, rngs=nnx.Rngs(0))
    mesh = sg.train.make_mesh(jax.devices()[:1])
    training = sg.train.bsde_training(nets, fbsde, mesh, optimizer=sg.train.make_rmsprop(3e-3),
                                      key=jax.random.key(0), ema_decay=0.0)

    def scores(params):
        fns = training.fns(params)
        y = sg.bsde.generate(jax.random.key(7), fbsde, fns.initial_fn, fns.control_fn, n=2000)
        truth = mixture.sample(jax.random.key(8), 2000)
        w1 = sg.metrics.sliced_wasserstein1_to_mixture(y, mixture, jax.random.key(9))
        return float(losses.mmd2(y, truth, unbiased=True)), w1

    mmd_before, w1_before = scores(training.state.params)
    state = training.state
    for i in range(300):
        batch = mixture.sample(jax.random.key(100 + i), 256)
        state, metrics = training.step(state, batch)
    mmd_after, w1_after = scores(state.params)
    assert np.isfinite(float(metrics["loss"]))
    assert mmd_after < 0.25 * mmd_before, (mmd_before, mmd_after)
    assert w1_after < 0.5 * w1_before and w1_after < 0.5, (w1_before, w1_after)


def test_encoder_decoder_mode_learns_to_reconstruct():
    """With x0 a lightly noised PCA code of the data and recon_weight > 0, y_T(x0(x)) learns to
    reconstruct x: the paired error falls well below what an unpaired generator gives."""
    mixture = sg.toy.ring_mixture(num_modes=4, radius=2.0, std=0.3)
    data = mixture.sample(jax.random.key(0), 4000)
    encoder = bsde.PCAEncoder.fit(data, 2, noise=0.1)
    fbsde = bsde.FBSDE(2, 2, 2, num_steps=10)
    nets = BSDEGenNets(2, 2, 2, hidden=(32, 32, 32), dropout_rate=0.0, rngs=nnx.Rngs(0))
    training = sg.train.bsde_training(nets, fbsde, sg.train.make_mesh(jax.devices()[:1]),
                                      optimizer=sg.train.make_rmsprop(3e-3), key=jax.random.key(0), ema_decay=0.0,
                                      encoder=encoder, recon_weight=1.0)

    def paired_error(params):
        fns = training.fns(params)
        x = data[:500]
        x0 = jax.vmap(encoder)(x, jax.random.split(jax.random.key(5), 500))
        y = sg.bsde.generate(jax.random.key(6), fbsde, fns.initial_fn, fns.control_fn, x0=x0)
        return float(jnp.mean(jnp.sum((y - x) ** 2, -1)))

    before = paired_error(training.state.params)
    state = training.state
    for i in range(200):
        state, _ = training.step(state, data[jax.random.randint(jax.random.key(i), (128,), 0, 4000)])
    after = paired_error(state.params)
    unpaired = float(2 * jnp.sum(jnp.var(data, 0)))  # E|x − x'|² of independent draws
    assert after < 0.2 * unpaired and after < 0.2 * before, (before, after, unpaired)
