"""RealNVP (seed 000 §2.1.1, eq. 2.4–2.8): invertibility, the coupling log-determinant against
slogdet of the autodiff Jacobian, the identity flow against the base density, normalisation of
the exact density on a grid, and bits/dim against hand values."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.scipy.stats import norm

from sdegen_jax.classic import RealNVP, alternating_mask, bits_per_dim, coupling_forward, coupling_inverse


def _random_flow(data_shape, permute, seed=0, num_couplings=4):
    return RealNVP(data_shape, num_couplings=num_couplings, hidden=(16, 16), permute=permute,
                   identity_init=False, rngs=nnx.Rngs(seed))


def test_coupling_algebra_by_hand():
    x = jnp.asarray([[1.0, 2.0, -1.0, 4.0]])
    mask = alternating_mask(4, 0)  # conditions on features 0 and 2
    np.testing.assert_array_equal(np.asarray(mask), [1.0, 0.0, 1.0, 0.0])

    def conditioner(x_a):
        assert bool(jnp.all(x_a * (1 - mask) == 0))  # sees only x_a
        return jnp.full_like(x_a, math.log(3.0)), jnp.full_like(x_a, 0.5)

    z, logdet = coupling_forward(x, mask, conditioner)
    np.testing.assert_allclose(np.asarray(z), [[1.0, 6.5, -1.0, 12.5]], rtol=1e-6)  # eq. 2.4–2.5
    np.testing.assert_allclose(float(logdet[0]), 2 * math.log(3.0), rtol=1e-6)  # eq. 2.7: only x_b's s count
    back, inv_logdet = coupling_inverse(z, mask, conditioner)
    np.testing.assert_allclose(np.asarray(back), np.asarray(x), rtol=1e-6)
    np.testing.assert_allclose(float(inv_logdet[0]), -2 * math.log(3.0), rtol=1e-6)


@pytest.mark.parametrize("permute", [False, True])
def test_inverse_of_forward_is_identity(permute):
    flow = _random_flow((2, 3), permute)
    x = 2.0 * jax.random.normal(jax.random.key(0), (16, 2, 3))

    @jax.jit
    def run(v, key):
        z, logdet = flow.forward(v)
        return z, logdet, flow.inverse(z), flow.sample(key, 8)

    z, logdet, back, samples = run(x, jax.random.key(1))
    assert z.shape == x.shape and logdet.shape == (16,)
    assert float(jnp.max(jnp.abs(z - x))) > 0.1 and float(jnp.std(logdet)) > 0.01  # a non-trivial map
    np.testing.assert_allclose(np.asarray(back), np.asarray(x), atol=1e-5)
    assert samples.shape == (8, 2, 3)


@pytest.mark.parametrize("permute", [False, True])
def test_log_det_matches_slogdet_of_the_jacobian(permute):
    d = 5
    flow = _random_flow(d, permute, seed=3)
    xs = jax.random.normal(jax.random.key(2), (3, d))

    @jax.jit
    def both(x):
        one = lambda v: flow.forward(v[None])[0][0]
        _, logabsdet = jnp.linalg.slogdet(jax.jacfwd(one)(x))
        return flow.forward(x[None])[1][0], logabsdet

    for x in xs:
        logdet, reference = both(x)
        assert abs(float(reference)) > 0.05
        np.testing.assert_allclose(float(logdet), float(reference), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("permute", [False, True])
def test_identity_flow_is_the_standard_normal_base(permute):
    flow = RealNVP(6, num_couplings=3, hidden=(8,), permute=permute, rngs=nnx.Rngs(0))  # identity_init
    x = 1.7 * jax.random.normal(jax.random.key(0), (32, 6))
    z, logdet, logp = jax.jit(lambda v: (*flow.forward(v), flow.log_prob(v)))(x)
    # identity couplings: z = x, up to the fixed (volume-preserving) permutations
    np.testing.assert_allclose(np.sort(np.asarray(z), -1), np.sort(np.asarray(x), -1), atol=1e-6)
    if not permute:
        np.testing.assert_allclose(np.asarray(z), np.asarray(x), atol=1e-6)
    np.testing.assert_allclose(np.asarray(logp), np.asarray(jnp.sum(norm.logpdf(x), -1)), rtol=1e-6)
    assert float(jnp.max(jnp.abs(logdet))) == 0.0


def test_density_of_a_random_flow_integrates_to_one():
    """exp(log p) on a fine 2-D grid sums to 1: the log-determinant enters eq. 2.8 with the right sign."""
    flow = _random_flow(2, False, seed=5)
    h = 0.05
    grid = jnp.arange(-12.0, 12.0, h) + h / 2
    pts = jnp.stack(jnp.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    logp = jax.jit(lambda v: flow.log_prob(v))(pts)
    total = float(jnp.sum(jnp.exp(logp)) * h * h)
    assert abs(total - 1.0) < 5e-3, total
    # and it is not the base density
    assert float(jnp.max(jnp.abs(logp - jnp.sum(norm.logpdf(pts), -1)))) > 0.1


def test_bits_per_dim_hand_values():
    pixels = jnp.asarray(np.random.default_rng(0).integers(0, 256, size=(4, 3, 3)))
    key = jax.random.key(0)
    # A uniform density on [0, 1]^D puts mass 1/256 per level and pixel: exactly 8 bits/dim.
    np.testing.assert_allclose(np.asarray(bits_per_dim(key, lambda x: jnp.zeros(x.shape[0]), pixels)), 8.0, rtol=1e-6)
    # density 2^{-D} there: one more bit; on [−1, 1]^D the uniform density is 2^{-D}: 8 bits again.
    np.testing.assert_allclose(
        np.asarray(bits_per_dim(key, lambda x: jnp.full(x.shape[0], -9 * math.log(2.0)), pixels)), 9.0, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(bits_per_dim(key, lambda x: jnp.full(x.shape[0], -9 * math.log(2.0)), pixels, scale="symmetric")),
        8.0, rtol=1e-6)
    # the dequantised inputs lie in the pixel's cell [k/256, (k+1)/256)
    seen = []
    bits_per_dim(key, lambda x: seen.append(x) or jnp.zeros(x.shape[0]), pixels)
    cell = jnp.floor(seen[0] * 256)
    np.testing.assert_array_equal(np.asarray(cell), np.asarray(pixels))


def test_invalid_inputs_name_the_fix():
    with pytest.raises(ValueError, match="at least 2 features"):
        RealNVP(1, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="num_couplings"):
        RealNVP(4, num_couplings=0, rngs=nnx.Rngs(0))
    flow = RealNVP(4, num_couplings=2, hidden=(8,), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"\(N, \*\(4,\)\)"):
        flow.log_prob(jnp.zeros((3, 5)))
    with pytest.raises(ValueError, match="pixels must be a batch"):
        bits_per_dim(jax.random.key(0), flow.log_prob, jnp.zeros(4))
