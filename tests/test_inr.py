"""INR denoisers of seed 003 §4.1: the modulated SIREN against its closed form and across
resolutions, the modulation network as an x0-denoiser, and the meta-learning baseline's inner
loop (it fits, it is differentiable, its rates stay fixed)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import sdegen_jax as sg
from sdegen_jax.nets import MetaSirenDenoiser, ModulatedSiren, ModulationDenoiser, grid_coordinates


def _manual(siren, coords, t, shifts):
    h = np.concatenate([np.asarray(coords, np.float64), np.full((len(coords), 1), t)], axis=1)
    for layer in range(siren.depth):
        w, b = np.asarray(siren.weights[layer][...], np.float64), np.asarray(siren.biases[layer][...], np.float64)
        h = np.sin(siren.omega0 * (h @ w + b + shifts[layer]))
    return h @ np.asarray(siren.out_w[...], np.float64) + np.asarray(siren.out_b[...], np.float64)


def test_siren_is_its_closed_form_with_and_without_shifts():
    """Zero shifts: a fixed function of (p, t), the base network.  A shift enters one layer as
    sin(ω₀(W h + b + φ)): the one-layer network's output moves as that formula says."""
    siren = ModulatedSiren(width=16, depth=3, rngs=nnx.Rngs(0))
    coords = grid_coordinates(5, 4)
    zero = np.zeros((3, 16))
    np.testing.assert_allclose(siren(coords, 0.3), _manual(siren, coords, 0.3, zero), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(siren(coords, 0.3), siren(coords, 0.3, jnp.zeros(48)))
    one = ModulatedSiren(width=8, depth=1, rngs=nnx.Rngs(1))
    phi = 0.05 * jax.random.normal(jax.random.key(2), (1, 8))
    got = one(coords, 0.7, phi)
    np.testing.assert_allclose(got, _manual(one, coords, 0.7, np.asarray(phi, np.float64)), rtol=1e-4, atol=1e-5)
    assert float(jnp.max(jnp.abs(got - one(coords, 0.7)))) > 1e-3  # the shift changed the output


def test_siren_on_a_finer_grid_is_the_same_function():
    """The 32×32 grid is the even points of the 64×64 grid: the 64×64 output there equals the
    32×32 evaluation (same function, same points)."""
    siren = ModulatedSiren(rngs=nnx.Rngs(0))
    shifts = 0.1 * jax.random.normal(jax.random.key(0), (7, 128))
    fine = siren(grid_coordinates(64, 64), 0.4, shifts).reshape(64, 64)
    coarse = siren(grid_coordinates(32, 32), 0.4, shifts).reshape(32, 32)
    assert bool(jnp.all(jnp.isfinite(fine)))
    np.testing.assert_array_equal(fine[::2, ::2], coarse)  # exactly: measured difference 0


def test_modulation_denoiser_plugs_into_the_samplers_at_any_resolution():
    net = ModulationDenoiser(image_size=8, latent_dim=8, siren_width=16, siren_depth=2, vit_dim=32, vit_depth=2,
                             patch_size=4, rngs=nnx.Rngs(0))
    x, t = jax.random.normal(jax.random.key(0), (3, 8, 8, 1)), jnp.array([0.1, 0.5, 1.0])
    # one compiled program for the three calls (eagerly, every op compiles its own)
    out, fine, shifts = nnx.jit(lambda m, x, t: (m(x, t), m.at(x, t, grid_coordinates(16, 16)), m.modulations(x, t)))(net, x, t)
    assert out.shape == (3, 8, 8, 1)
    assert fine.shape == (3, 256, 1)
    # Zero-initialised decoder: every image starts at the base SIREN (shifts 0).
    np.testing.assert_array_equal(shifts, 0.0)
    sde = sg.functional.DriftlessSDE((8, 8, 1), jnp.ones((8, 5, 1)), T=1.0)
    denoiser = lambda xi, ti: net(xi[None], ti[None])[0]  # noqa: E731
    out = sg.sample(jax.random.key(1), sde, sg.functional.score_from_denoiser(sde, denoiser), (8, 8, 1), 2,
                    method=sg.samplers.EulerMaruyamaScan(), steps=3)
    assert out.shape == (2, 8, 8, 1) and bool(jnp.all(jnp.isfinite(out)))


def test_grid_denoiser_answers_on_any_grid():
    """`denoiser_on_grid`: on the model's own grid it is the model; given the band-limited 16×16
    interpolation of an 8×8 image it reads the same 8×8 image (resampling back is exact) and
    answers with the same function at the finer points (the even ones are the 8×8 grid); models
    without `at` are refused.  (Sampling with it on 48×48: the fdp_mnist quick test.)"""
    net = ModulationDenoiser(image_size=8, latent_dim=8, siren_width=16, siren_depth=2, vit_dim=32, vit_depth=2,
                             patch_size=4, rngs=nnx.Rngs(0))
    net.to_shifts.kernel[...] = 0.3 * jax.random.normal(jax.random.key(5), net.to_shifts.kernel.shape)
    call = jax.jit(lambda f, x, t: f(x, t))  # the denoiser is a pytree: one compilation per grid
    d = functools.partial(call, sg.nets.denoiser_on_grid(net))
    x = jax.random.normal(jax.random.key(6), (8, 8, 1))
    np.testing.assert_allclose(d(x, 0.5), nnx.jit(lambda m, x: m(x[None], jnp.array([0.5]))[0])(net, x), atol=1e-6)
    fine = d(sg.functional.resample(x, (16, 16)), 0.5)
    assert fine.shape == (16, 16, 1) and bool(jnp.all(jnp.isfinite(fine)))
    np.testing.assert_allclose(fine[::2, ::2], d(x, 0.5), atol=1e-5)
    with pytest.raises(ValueError, match="coordinate-based model"):
        sg.nets.denoiser_on_grid(sg.nets.TimeMLP(4, rngs=nnx.Rngs(0)))


def _digit():
    x, _ = sg.data.load_images("mnist_embedded", "test", scale="unit")
    return jnp.asarray(np.pad(x[0], ((2, 2), (2, 2), (0, 0)))) * 2.0 - 1.0


def test_meta_inner_loop_fits_a_held_out_digit_with_fixed_rates():
    """Three SGD steps on the shifts lower the fitting loss of a held-out digit at every step,
    and the rate is the configured one at every step (the reference code doubles it)."""
    net = MetaSirenDenoiser(inner_lr=1e-2, rngs=nnx.Rngs(0))
    coords, target = grid_coordinates(32, 32), _digit().reshape(-1, 1)
    shifts, losses, rates = net.inner_loop(coords, 0.5, target)
    assert losses.shape == (4,) and bool(jnp.all(jnp.diff(losses) < 0)), losses
    assert float(losses[-1]) < 0.9 * float(losses[0])
    np.testing.assert_array_equal(rates, 1e-2 * np.ones_like(rates))
    # The shifts are those of three plain SGD steps at the fixed rate 1e-2, written out here.
    fit = lambda phi: jnp.mean((net.siren(coords, 0.5, phi) - target) ** 2)  # noqa: E731
    phi = jnp.zeros(net.siren.num_modulations)
    for _ in range(3):
        phi = phi - 1e-2 * jax.grad(fit)(phi)
    np.testing.assert_allclose(shifts, phi, rtol=1e-4, atol=1e-7)


def test_meta_gradient_flows_through_the_inner_loop():
    """d(outer loss)/d(inner rate) with learned rates (Meta-SGD), against central finite
    differences in float64 along a random direction."""
    with jax.enable_x64(True):
        net = MetaSirenDenoiser(image_size=8, inner_lr=1e-2, learn_inner_lr=True, siren_width=16, siren_depth=2,
                                rngs=nnx.Rngs(0))
        graphdef, params, rest = nnx.split(net, nnx.Param, ...)
        params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), params)
        rest = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), rest)
        x = 0.3 * jax.random.normal(jax.random.key(0), (2, 8, 8, 1), jnp.float64)
        clean = jnp.tanh(x)
        t = jnp.array([0.3, 0.8])

        def outer(lr):
            p = jax.tree_util.tree_map(lambda a: a, params)
            p["inner_lr"] = p["inner_lr"].replace(lr)
            return jnp.mean((nnx.merge(graphdef, p, rest)(x, t) - clean) ** 2)

        lr0 = params["inner_lr"][...]
        direction = jax.random.normal(jax.random.key(1), lr0.shape, jnp.float64)
        analytic = float(jnp.vdot(jax.grad(outer)(lr0), direction))
        h = 1e-5
        numeric = float((outer(lr0 + h * direction) - outer(lr0 - h * direction)) / (2 * h))
    assert analytic != 0.0
    assert abs(analytic - numeric) < 1e-6 * max(1.0, abs(numeric)), (analytic, numeric)


def test_meta_denoiser_refuses_bad_settings():
    with pytest.raises(ValueError, match="inner_steps"):
        MetaSirenDenoiser(inner_steps=0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="coords must be"):
        ModulatedSiren(rngs=nnx.Rngs(0))(jnp.zeros((4, 3)), 0.1)


def test_meta_learned_rates_are_clipped_to_their_range_where_used():
    """Meta-SGD rates the outer optimiser pushed outside `inner_lr_range` (default [0, 1],
    functa's) are clipped in the inner loop, so no modulation is fitted by gradient ascent;
    the stored parameter is left as trained.  A start outside the range is refused."""
    net = MetaSirenDenoiser(image_size=8, inner_lr=1e-2, learn_inner_lr=True, siren_width=16, siren_depth=2,
                            rngs=nnx.Rngs(0))
    m = net.siren.num_modulations
    wild = jnp.linspace(-0.5, 1.5, m)
    net.inner_lr[...] = wild
    coords, target = grid_coordinates(8, 8), jnp.zeros((64, 1))
    shifts, _, rates = net.inner_loop(coords, 0.5, target)
    np.testing.assert_array_equal(rates, np.broadcast_to(np.clip(wild, 0.0, 1.0), rates.shape))
    np.testing.assert_array_equal(net.inner_lr[...], wild)
    fit = lambda phi: jnp.mean((net.siren(coords, 0.5, phi) - target) ** 2)  # noqa: E731
    phi = net.init_shifts[...]
    for _ in range(net.inner_steps):
        phi = phi - jnp.clip(wild, 0.0, 1.0) * jax.grad(fit)(phi)
    np.testing.assert_allclose(shifts, phi, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="outside inner_lr_range"):
        MetaSirenDenoiser(inner_lr=-1e-2, learn_inner_lr=True, rngs=nnx.Rngs(0))
