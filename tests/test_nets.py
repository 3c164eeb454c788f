"""Score networks: ScoreNet's size and scaling, the exact fast layers against the plain
Flax layers (values and gradients), the MLP and the sampler adapter.

Variables are drawn with numpy from `jax.eval_shape(model.init, ...)`: `model.init` of the
full ScoreNet costs 10–25 s on the CI machine (eagerly or to compile), the shapes are free.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax.nets import (
    FastConv,
    FastConvTranspose,
    GroupNorm,
    ScoreNet,
    TimeMLP,
    col2im,
    conv_transpose,
    count_params,
    im2col,
    score_fn_from,
    strided_conv,
)
from sdegen_jax.nets.conv_transpose import conv_transpose_padding

SDE = sg.sde.TutorialVESDE(sigma=25.0)


def std_fn(t):
    return SDE.marginal_coeffs(t)[1]


PLAIN = dict(upsample="plain", downsample="plain", norm="flax")
VARIANTS = {
    "fast": {},
    "subpixel": dict(upsample="subpixel", downsample="space_to_depth"),
    "plain": PLAIN,
}


def random_variables(model, x, t, seed=0):
    """Variables of `model` with the shapes `model.init` gives, drawn with numpy."""
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(model.init, jax.random.key(0), x, t)

    def draw(path, leaf):
        name = str(getattr(path[-1], "key", path[-1]))
        if name == "kernel":
            scale = 1.0 / math.sqrt(math.prod(leaf.shape[:-1]))
        else:
            scale = 30.0 if name == "W" else 0.3
        val = scale * rng.standard_normal(leaf.shape) + (1.0 if name == "scale" else 0.0)
        return jnp.asarray(val, leaf.dtype)

    return jax.tree_util.tree_map_with_path(draw, shapes)


def assert_close(a, b, rtol=1e-4, what=""):
    """max |a − b| ≤ rtol · max |a| (float32 reassociation noise is ~1e-6 relative)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(np.abs(a).max(), 1e-30)
    assert np.abs(a - b).max() <= rtol * scale, (what, np.abs(a - b).max() / scale)


def assert_trees_close(ta, tb, rtol=1e-4):
    """Leaf-wise, relative to the largest value of the whole tree (some gradients are ~0)."""
    la, lb = jax.tree_util.tree_leaves_with_path(ta), jax.tree_util.tree_leaves(tb)
    assert jax.tree_util.tree_structure(ta) == jax.tree_util.tree_structure(tb)
    scale = max(float(np.abs(np.asarray(v)).max()) for _, v in la)
    for (path, a), b in zip(la, lb):
        err = float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
        assert err <= rtol * scale, (jax.tree_util.keystr(path), err / scale)


# ----------------------------------------------------------------------------- ScoreNet


X28 = jnp.zeros((2, 28, 28, 1))
T2 = jnp.array([0.3, 0.9])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_scorenet_parameter_count(variant):
    shapes = jax.eval_shape(ScoreNet(std_fn, **VARIANTS[variant]).init, jax.random.key(0), X28, T2)
    assert set(shapes) == {"params", "constants"}
    assert count_params(shapes) == 1_115_425  # seed 000 Table 1 (PyTorch counts the fixed W)
    assert count_params(shapes["params"]) == 1_115_297  # trainable
    assert count_params(shapes["constants"]) == 128  # Gaussian Fourier W, embed_dim / 2
    assert shapes["constants"]["fourier"]["W"].shape == (128,)


def test_scorenet_variants_share_parameters():
    trees = [jax.eval_shape(ScoreNet(std_fn, **kw).init, jax.random.key(0), X28, T2) for kw in VARIANTS.values()]
    for tree in trees[1:]:
        assert jax.tree_util.tree_structure(tree) == jax.tree_util.tree_structure(trees[0])
        assert jax.tree.map(lambda a: a.shape, tree) == jax.tree.map(lambda a: a.shape, trees[0])


def test_scorenet_init_is_the_same_for_every_variant():
    # The fast layers use the plain layers' initialisers: same key, same parameters.
    x, t = jnp.zeros((1, 28, 28, 1)), jnp.ones((1,))
    init = lambda kw: jax.jit(ScoreNet(std_fn, **kw).init)(jax.random.key(3), x, t)  # noqa: E731
    a, b = init({}), init(PLAIN)
    assert jax.tree.all(jax.tree.map(lambda u, v: bool(jnp.array_equal(u, v)), a, b))


@pytest.fixture(scope="module")
def scorenet_vars():
    x = jax.random.uniform(jax.random.key(1), (2, 28, 28, 1))
    t = jnp.array([0.05, 0.7])
    return x, t, random_variables(ScoreNet(std_fn, **PLAIN), x, t)


def test_scorenet_output_shape_and_fast_equals_plain(scorenet_vars):
    x, t, v = scorenet_vars
    outs = {k: jax.jit(ScoreNet(std_fn, **kw).apply)(v, x, t) for k, kw in VARIANTS.items()}
    assert outs["fast"].shape == (2, 28, 28, 1)
    assert bool(jnp.all(jnp.isfinite(outs["fast"])))
    for k in ("fast", "subpixel"):
        assert_close(outs["plain"], outs[k], what=k)


def test_scorenet_fast_gradients_equal_plain(scorenet_vars):
    x, t, v = scorenet_vars

    def grads(kw):
        model = ScoreNet(std_fn, **kw)
        loss = lambda p, x: jnp.sum(jnp.sin(model.apply({"params": p, "constants": v["constants"]}, x, t)))  # noqa: E731
        return jax.jit(jax.grad(loss, argnums=(0, 1)))(v["params"], x)

    gp, gx_plain = grads(PLAIN)
    gf, gx_fast = grads({})
    assert_trees_close(gp, gf)
    assert_close(gx_plain, gx_fast, what="dx")


def test_scorenet_output_scales_as_one_over_std(scorenet_vars):
    x, t, v = scorenet_vars
    scaled = ScoreNet(std_fn).apply(v, x, t)
    unscaled = ScoreNet(lambda t: jnp.ones_like(t)).apply(v, x, t)
    assert_close(unscaled / std_fn(t)[:, None, None, None], scaled)
    # Same input, different std: the output ratio is the std ratio.
    doubled = ScoreNet(lambda t: 2.0 * std_fn(t)).apply(v, x, t)
    assert_close(scaled, 2.0 * doubled)


def test_scorenet_rejects_bad_inputs_and_names():
    with pytest.raises(ValueError, match="upsample"):
        jax.eval_shape(ScoreNet(std_fn, upsample="bogus").init, jax.random.key(0), X28, T2)
    with pytest.raises(ValueError, match=r"x \(N, H, W, C\) and t \(N,\)"):
        jax.eval_shape(ScoreNet(std_fn).init, jax.random.key(0), X28, jnp.ones((3,)))


# ----------------------------------------------------------------------------- fast layers

# Every convolution of ScoreNet at its real shape (batch 2): (H, C_in, C_out, stride, output_padding).
TCONV_SHAPES = [(2, 256, 128, 2, 0), (5, 256, 64, 2, 1), (12, 128, 32, 2, 1), (26, 64, 1, 1, 0)]
CONV_SHAPES = [(28, 1, 32, 1), (26, 32, 64, 2), (12, 64, 128, 2), (5, 128, 256, 2)]


def _check_layer(plain, fast, x, key=jax.random.key(7)):
    """Same init, same output, same gradients (input and parameters) for a random cotangent."""
    vp = plain.init(jax.random.key(5), x)
    vf = fast.init(jax.random.key(5), x)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), vp, vf))  # same params
    vp = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(key, a.shape), vp)  # non-zero bias too
    yp, pull_p = jax.vjp(plain.apply, vp, x)
    yf, pull_f = jax.vjp(fast.apply, vp, x)
    assert_close(yp, yf, what="value")
    ct = jax.random.normal(jax.random.key(11), yp.shape)
    (gvp, gxp), (gvf, gxf) = pull_p(ct), pull_f(ct)
    assert_close(gxp, gxf, what="dx")
    assert_trees_close(gvp, gvf)


@pytest.mark.parametrize("impl", ["gemm", "subpixel"])
@pytest.mark.parametrize("shape", TCONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fast_conv_transpose_equals_nn_conv_transpose(impl, shape):
    H, cin, cout, s, op = shape
    x = jax.random.normal(jax.random.key(0), (2, H, H, cin))
    common = dict(kernel_size=(3, 3), strides=(s, s), use_bias=cout == 1)
    plain = nn.ConvTranspose(cout, padding=conv_transpose_padding((3, 3), op), **common)
    fast = FastConvTranspose(cout, output_padding=op, impl=impl, **common)
    _check_layer(plain, fast, x)


@pytest.mark.parametrize("impl", ["gemm", "space_to_depth"])
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fast_conv_equals_nn_conv(impl, shape):
    H, cin, cout, s = shape
    x = jax.random.normal(jax.random.key(0), (2, H, H, cin))
    common = dict(kernel_size=(3, 3), strides=(s, s), use_bias=False)
    _check_layer(nn.Conv(cout, padding="VALID", **common), FastConv(cout, impl=impl, **common), x)


@pytest.mark.parametrize("strides", [(1, 1), (2, 2), (3, 2), (2, 3)])
@pytest.mark.parametrize("kernel", [(3, 3), (4, 5), (1, 2)])
def test_fast_convolutions_general_shapes(strides, kernel):
    """Non-square kernels, strides larger than the kernel, every output padding."""
    x = jax.random.normal(jax.random.key(0), (2, 7, 6, 3))
    w = jax.random.normal(jax.random.key(1), (*kernel, 3, 4))
    for op in {(0, 0), (strides[0] - 1, strides[1] - 1), (0, strides[1] - 1)}:
        ref = lambda x, w: conv_transpose(x, w, strides, op, impl="plain")  # noqa: E731
        for impl in ("gemm", "subpixel"):
            f = lambda x, w, impl=impl: conv_transpose(x, w, strides, op, impl=impl)  # noqa: E731
            _check_fn(ref, f, x, w, f"tconv {impl} {kernel} {strides} {op}")
    if kernel[0] <= 7 and kernel[1] <= 6:
        ref = lambda x, w: strided_conv(x, w, strides, impl="plain")  # noqa: E731
        for impl in ("gemm", "space_to_depth"):
            f = lambda x, w, impl=impl: strided_conv(x, w, strides, impl=impl)  # noqa: E731
            _check_fn(ref, f, x, w, f"conv {impl} {kernel} {strides}")


def _check_fn(ref, f, x, w, what):
    yr, pull_r = jax.vjp(ref, x, w)
    yf, pull_f = jax.vjp(f, x, w)
    assert_close(yr, yf, what=what)
    ct = jax.random.normal(jax.random.key(2), yr.shape)
    for a, b, name in zip(pull_r(ct), pull_f(ct), ("dx", "dw")):
        assert_close(a, b, what=f"{what} {name}")


def test_fast_layers_second_order_and_vmap():
    # Reverse-over-reverse goes through the custom VJPs' (differentiable) backward passes;
    # vmap (the samplers vmap the score) through their batching.
    x = jax.random.normal(jax.random.key(0), (2, 5, 5, 4))
    w = jax.random.normal(jax.random.key(1), (3, 3, 4, 3))
    for op in (conv_transpose, strided_conv):
        f = lambda w, impl, op=op: jnp.sum(jnp.tanh(op(x, w, impl=impl)) ** 2)  # noqa: E731
        gg = lambda impl, f=f: jax.grad(lambda w: jnp.sum(jax.grad(f)(w, impl) ** 2))(w)  # noqa: E731
        assert_close(gg("plain"), gg("gemm"), what=f"grad of grad {op.__name__}")
    vm = jax.vmap(lambda xi: conv_transpose(xi[None], w, (2, 2), (1, 1), impl="gemm")[0])(x)
    assert_close(conv_transpose(x, w, (2, 2), (1, 1), impl="plain"), vm, what="vmap")


def test_im2col_col2im_are_adjoint():
    x = jax.random.normal(jax.random.key(0), (2, 9, 8, 3))
    cols = jax.random.normal(jax.random.key(1), (2, 4, 3, 3, 2, 3))
    patches = im2col(x, (3, 2), (2, 3), (4, 3))
    assert patches.shape == (2, 4, 3, 3, 2, 3)
    assert patches[1, 2, 1, 2, 1, 0] == x[1, 2 * 2 + 2, 3 * 1 + 1, 0]
    back = col2im(cols, (2, 3), (9, 8))
    assert_close(jnp.vdot(patches, cols), jnp.vdot(x, back), rtol=1e-5)


@pytest.mark.parametrize("shape,groups", [((2, 26, 26, 32), 4), ((2, 5, 5, 128), 32), ((3, 4, 6, 8), 2)])
def test_group_norm_equals_flax(shape, groups):
    x = 3.0 * jax.random.normal(jax.random.key(0), shape) + 1.0
    _check_layer(nn.GroupNorm(num_groups=groups, epsilon=1e-5), GroupNorm(groups, 1e-5), x)


def test_group_norm_supports_forward_mode():
    x = jax.random.normal(jax.random.key(0), (2, 5, 5, 8))
    v = GroupNorm(4).init(jax.random.key(1), x)
    # A random tangent: along x itself GroupNorm is (nearly) scale-invariant, so the
    # tangent would be ~0 and the comparison pure float32 noise.
    dx = jax.random.normal(jax.random.key(2), x.shape)
    tf = jax.jvp(lambda x: GroupNorm(4).apply(v, x), (x,), (dx,))[1]
    tp = jax.jvp(lambda x: nn.GroupNorm(num_groups=4, epsilon=1e-5).apply(v, x), (x,), (dx,))[1]
    assert_close(tp, tf)


def test_unknown_impl_raises():
    x, w = jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 2))
    with pytest.raises(ValueError, match="impl"):
        conv_transpose(x, w, impl="nope")
    with pytest.raises(ValueError, match="impl"):
        strided_conv(x, w, impl="nope")
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose(x, w, (2, 2), (2, 0))


# ----------------------------------------------------------------------------- MLP


@pytest.mark.parametrize("embedding", ["fourier", "sinusoidal"])
@pytest.mark.parametrize("sample_shape", [(2,), (3, 2)])
def test_time_mlp_shapes(embedding, sample_shape):
    model = TimeMLP(features=(32, 16), embed_dim=8, embedding=embedding)
    x, t = jnp.ones((5, *sample_shape)), jnp.linspace(0.1, 1.0, 5)
    v = model.init(jax.random.key(0), x, t)
    assert model.apply(v, x, t).shape == (5, *sample_shape)
    assert ("constants" in v) == (embedding == "fourier")
    d = math.prod(sample_shape)
    expected = (8 * 8 + 8) + (d * 32 + 32) + (8 * 32 + 32) + (32 * 16 + 16) + (8 * 16 + 16) + (16 * d + d)
    assert count_params(v["params"]) == expected


def test_time_mlp_output_scaling():
    x, t = jax.random.normal(jax.random.key(1), (4, 2)), jnp.array([0.01, 0.1, 0.5, 1.0])
    plain, scaled = TimeMLP(features=(16,)), TimeMLP(features=(16,), marginal_std=std_fn)
    v = plain.init(jax.random.key(0), x, t)
    assert_close(plain.apply(v, x, t) / std_fn(t)[:, None], scaled.apply(v, x, t))
    with pytest.raises(ValueError, match="embedding"):
        TimeMLP(embedding="cosine").init(jax.random.key(0), x, t)


# ----------------------------------------------------------------------------- adapter


def test_score_fn_from_is_per_sample(scorenet_vars):
    x, t, v = scorenet_vars
    net = ScoreNet(std_fn)
    score_fn = score_fn_from(net.apply, v)
    batched = net.apply(v, x, t)
    assert_close(batched[1], score_fn(x[1], t[1]))
    assert_close(batched, jax.vmap(score_fn)(x, t))
    # A pytree: new parameters reuse the structure (and the samplers' compiled code).
    assert jax.tree_util.tree_structure(score_fn) == jax.tree_util.tree_structure(score_fn_from(net.apply, v))


def test_score_fn_from_drives_the_sampler(scorenet_vars):
    _, _, v = scorenet_vars
    score_fn = score_fn_from(ScoreNet(std_fn).apply, v)
    out = sg.sample(jax.random.key(0), SDE, score_fn, shape=(28, 28, 1), n=2, steps=3)
    assert out.shape == (2, 28, 28, 1)
    assert bool(jnp.all(jnp.isfinite(out)))


def test_score_fn_from_mlp_drives_the_sampler():
    sde = sg.sde.VESDE(sigma_min=0.01, sigma_max=10.0)
    model = TimeMLP(features=(16,), marginal_std=lambda t: sde.marginal_coeffs(t)[1])
    v = model.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.ones((1,)))
    out = sg.sample(jax.random.key(1), sde, score_fn_from(model.apply, v), shape=(2,), n=8, steps=4)
    assert out.shape == (8, 2) and bool(jnp.all(jnp.isfinite(out)))
