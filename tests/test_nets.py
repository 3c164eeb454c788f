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
    count_params,
    im2col,
    score_fn_from,
)
from sdegen_jax.nets.conv_transpose import conv_transpose, conv_transpose_padding
from sdegen_jax.nets.strided_conv import strided_conv

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

    @jax.jit
    def outputs(v, x, t):
        scaled = ScoreNet(std_fn).apply(v, x, t)
        unscaled = ScoreNet(lambda t: jnp.ones_like(t)).apply(v, x, t)
        doubled = ScoreNet(lambda t: 2.0 * std_fn(t)).apply(v, x, t)
        return scaled, unscaled, doubled

    scaled, unscaled, doubled = outputs(v, x, t)
    assert_close(unscaled / std_fn(t)[:, None, None, None], scaled)
    assert_close(scaled, 2.0 * doubled)  # same input, twice the std: half the output


def test_scorenet_rejects_bad_inputs_and_names():
    with pytest.raises(ValueError, match="upsample"):
        jax.eval_shape(ScoreNet(std_fn, upsample="bogus").init, jax.random.key(0), X28, T2)
    with pytest.raises(ValueError, match=r"x \(N, H, W, C\) and t \(N,\)"):
        jax.eval_shape(ScoreNet(std_fn).init, jax.random.key(0), X28, jnp.ones((3,)))


# ----------------------------------------------------------------------------- fast layers

# Every convolution of ScoreNet at its real shape (batch 2): (H, C_in, C_out, stride, output_padding).
TCONV_SHAPES = [(2, 256, 128, 2, 0), (5, 256, 64, 2, 1), (12, 128, 32, 2, 1), (26, 64, 1, 1, 0)]
CONV_SHAPES = [(28, 1, 32, 1), (26, 32, 64, 2), (12, 64, 128, 2), (5, 128, 256, 2)]


def _check_layers(plain, fasts, x):
    """Each fast layer: same init, output and gradients (input and parameters) as `plain`,
    for a random cotangent.  One jit for all of them (compiling dominates the cost)."""

    @jax.jit
    def results(x):
        vp = plain.init(jax.random.key(5), x)
        v = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(7), a.shape), vp)  # non-zero biases
        yp, pull = jax.vjp(plain.apply, v, x)
        ct = jax.random.normal(jax.random.key(11), yp.shape)
        out = [(vp, yp, pull(ct))]
        for fast in fasts:
            yf, pull = jax.vjp(fast.apply, v, x)
            out.append((fast.init(jax.random.key(5), x), yf, pull(ct)))
        return out

    (vp, yp, (gvp, gxp)), *rest = results(x)
    for i, (vf, yf, (gvf, gxf)) in enumerate(rest):
        assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), vp, vf))  # same init
        assert_close(yp, yf, what=f"value {i}")
        assert_close(gxp, gxf, what=f"dx {i}")
        assert_trees_close(gvp, gvf)


@pytest.mark.parametrize("shape", TCONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fast_conv_transpose_equals_nn_conv_transpose(shape):
    H, cin, cout, s, op = shape
    x = jax.random.normal(jax.random.key(0), (2, H, H, cin))
    common = dict(kernel_size=(3, 3), strides=(s, s), use_bias=cout == 1)  # tconv1 has a bias
    plain = nn.ConvTranspose(cout, padding=conv_transpose_padding((3, 3), op), **common)
    fasts = [FastConvTranspose(cout, output_padding=op, impl=impl, **common) for impl in ("gemm", "subpixel")]
    _check_layers(plain, fasts, x)


@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fast_conv_equals_nn_conv(shape):
    H, cin, cout, s = shape
    x = jax.random.normal(jax.random.key(0), (2, H, H, cin))
    common = dict(kernel_size=(3, 3), strides=(s, s), use_bias=False)
    fasts = [FastConv(cout, impl=impl, **common) for impl in ("gemm", "space_to_depth")]
    _check_layers(nn.Conv(cout, padding="VALID", **common), fasts, x)


# Non-square kernels, strides larger than the kernel, every output padding.
GENERAL = [
    ((4, 5), (3, 2), (2, 1)),
    ((1, 2), (2, 3), (0, 2)),
]


def test_fast_convolutions_general_shapes():
    x = jax.random.normal(jax.random.key(0), (2, 7, 6, 3))

    @jax.jit
    def all_results(x):
        out = {}
        for i, (kernel, strides, op) in enumerate(GENERAL):
            w = jax.random.normal(jax.random.key(i), (*kernel, 3, 4))
            for kind, impls in (("tconv", ("plain", "gemm", "subpixel")), ("conv", ("plain", "gemm", "space_to_depth"))):
                for impl in impls:
                    if kind == "tconv":
                        f = lambda x, w, impl=impl: conv_transpose(x, w, strides, op, impl=impl)  # noqa: E731
                    else:
                        f = lambda x, w, impl=impl: strided_conv(x, w, strides, impl=impl)  # noqa: E731
                    y, pull = jax.vjp(f, x, w)
                    out[(i, kind, impl)] = (y, *pull(jax.random.normal(jax.random.key(99), y.shape)))
        return out

    res = all_results(x)
    for (i, kind, impl), got in res.items():
        ref = res[(i, kind, "plain")]
        for a, b, name in zip(ref, got, ("value", "dx", "dw")):
            assert_close(a, b, what=f"{kind} {impl} {GENERAL[i]} {name}")


def test_fast_layers_second_order_and_vmap():
    # Reverse-over-reverse goes through the custom VJPs' (differentiable) backward passes;
    # vmap (the samplers vmap the score) through their batching.
    x = jax.random.normal(jax.random.key(0), (2, 5, 5, 4))
    w = jax.random.normal(jax.random.key(1), (3, 3, 4, 3))

    @jax.jit
    def results(x, w):
        out = {}
        for op in (conv_transpose, strided_conv):
            for impl in ("plain", "gemm"):
                f = lambda w, op=op, impl=impl: jnp.sum(jnp.tanh(op(x, w, impl=impl)) ** 2)  # noqa: E731
                out[f"{op.__name__}:{impl}"] = jax.grad(lambda w, f=f: jnp.sum(jax.grad(f)(w) ** 2))(w)
        out["vmap"] = jax.vmap(lambda xi: conv_transpose(xi[None], w, (2, 2), (1, 1), impl="gemm")[0])(x)
        out["batched"] = conv_transpose(x, w, (2, 2), (1, 1), impl="plain")
        return out

    r = results(x, w)
    for op in ("conv_transpose", "strided_conv"):
        assert_close(r[f"{op}:plain"], r[f"{op}:gemm"], what=f"grad of grad {op}")
    assert_close(r["batched"], r["vmap"], what="vmap")


def test_im2col_col2im_are_adjoint():
    x = jax.random.normal(jax.random.key(0), (2, 9, 8, 3))
    cols = jax.random.normal(jax.random.key(1), (2, 4, 3, 3, 2, 3))
    patches, back = jax.jit(lambda x, c: (im2col(x, (3, 2), (2, 3), (4, 3)), col2im(c, (2, 3), (9, 8))))(x, cols)
    assert patches.shape == (2, 4, 3, 3, 2, 3)
    assert patches[1, 2, 1, 2, 1, 0] == x[1, 2 * 2 + 2, 3 * 1 + 1, 0]
    # Every entry against the definition, including windows that reach past the input only
    # where the phase split pads (out_hw given), strides larger than the kernel, stride 1.
    for kernel, strides, out_hw in [((3, 2), (2, 3), (4, 3)), ((1, 2), (3, 3), None), ((3, 3), (1, 1), None), ((2, 3), (2, 2), (4, 3))]:
        got = np.asarray(im2col(x, kernel, strides, out_hw))
        xn = np.asarray(x)
        for i, j, rh, rw in np.ndindex(*got.shape[1:5]):
            np.testing.assert_array_equal(got[:, i, j, rh, rw], xn[:, strides[0] * i + rh, strides[1] * j + rw])
    assert_close(jnp.vdot(patches, cols), jnp.vdot(x, back), rtol=1e-5)


@pytest.mark.parametrize("shape,groups", [((2, 26, 26, 32), 4), ((3, 4, 6, 128), 32)])
def test_group_norm_equals_flax(shape, groups):
    x = 3.0 * jax.random.normal(jax.random.key(0), shape) + 1.0
    _check_layers(nn.GroupNorm(num_groups=groups, epsilon=1e-5), [GroupNorm(groups, 1e-5)], x)


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


@pytest.mark.parametrize("embedding,sample_shape", [("sinusoidal", (2,)), ("fourier", (3, 2))])
def test_time_mlp_shapes(embedding, sample_shape):
    model = TimeMLP(features=(32, 16), embed_dim=8, embedding=embedding)
    x, t = jnp.ones((5, *sample_shape)), jnp.linspace(0.1, 1.0, 5)
    v, y = jax.jit(lambda x, t: (lambda v: (v, model.apply(v, x, t)))(model.init(jax.random.key(0), x, t)))(x, t)
    assert y.shape == (5, *sample_shape)
    assert ("constants" in v) == (embedding == "fourier")
    d = math.prod(sample_shape)
    expected = (8 * 8 + 8) + (d * 32 + 32) + (8 * 32 + 32) + (32 * 16 + 16) + (8 * 16 + 16) + (16 * d + d)
    assert count_params(v["params"]) == expected


def test_time_mlp_output_scaling():
    x, t = jax.random.normal(jax.random.key(1), (4, 2)), jnp.array([0.01, 0.1, 0.5, 1.0])
    plain, scaled = TimeMLP(features=(16,)), TimeMLP(features=(16,), marginal_std=std_fn)

    @jax.jit
    def outputs(x, t):
        v = plain.init(jax.random.key(0), x, t)
        return plain.apply(v, x, t), scaled.apply(v, x, t)

    unscaled, out = outputs(x, t)
    assert_close(unscaled / std_fn(t)[:, None], out)
    with pytest.raises(ValueError, match="embedding"):
        TimeMLP(embedding="cosine").init(jax.random.key(0), x, t)


# ----------------------------------------------------------------------------- adapter


def test_score_fn_from_is_per_sample(scorenet_vars):
    x, t, v = scorenet_vars
    net = ScoreNet(std_fn)

    @jax.jit
    def outputs(score_fn, x, t):
        return net.apply(score_fn.variables, x, t), score_fn(x[1], t[1]), jax.vmap(score_fn)(x, t)

    score_fn = score_fn_from(net.apply, v)
    batched, one, mapped = outputs(score_fn, x, t)
    assert one.shape == (28, 28, 1)
    assert_close(batched[1], one)
    assert_close(batched, mapped)
    # A pytree whose leaves are the variables: new weights reuse compiled samplers.
    assert len(jax.tree_util.tree_leaves(score_fn)) == len(jax.tree_util.tree_leaves(v))


def test_score_fn_from_drives_the_sampler(scorenet_vars):
    _, _, v = scorenet_vars
    score_fn = score_fn_from(ScoreNet(std_fn).apply, v)
    out = sg.sample(jax.random.key(0), SDE, score_fn, shape=(28, 28, 1), n=2, steps=3)
    assert out.shape == (2, 28, 28, 1)
    assert bool(jnp.all(jnp.isfinite(out)))
