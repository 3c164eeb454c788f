"""Score networks (Flax NNX): ScoreNet's size, state and scaling; the exact fast layers
against the plain NNX layers in value, reverse mode, forward mode, second order and vmap;
the MLP and the sampler adapter.

Weights for the exactness tests are drawn with numpy into the state of
`nnx.eval_shape(...)` (free), so that biases and GroupNorm scales are not at their
trivial initial values.
"""

from __future__ import annotations

import contextlib
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import sdegen_jax as sg
from sdegen_jax._tree import count_params as tree_count_params
from sdegen_jax.nets import (
    Constant,
    FastConv,
    FastConvTranspose,
    GaussianFourierProjection,
    GroupNorm,
    PerSampleScore,
    ScoreNet,
    SinusoidalEmbedding,
    TimeMLP,
    col2im,
    conv_plain,
    conv_transpose_gemm,
    conv_transpose_padding,
    conv_transpose_plain,
    count_params,
    group_norm,
    im2col,
    score_fn_from,
    initializers,
    strided_conv_gemm,
)
from sdegen_jax.nets.initializers import lecun_normal

SDE = sg.sde.TutorialVESDE(sigma=25.0)


def std_fn(t):
    return SDE.marginal_coeffs(t)[1]


def random_state(state, seed=0):
    """`state` (arrays or ShapeDtypeStructs) refilled with numpy draws: kernels ~ N(0, 1/fan_in),
    GroupNorm scales 1 + N(0, 0.3²), biases N(0, 0.3²), Fourier W ~ N(0, 30²)."""
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        name = str(getattr(path[-1], "key", path[-1]))
        if name == "kernel":
            scale = 1.0 / math.sqrt(math.prod(leaf.shape[:-1]))
        else:
            scale = 30.0 if name == "W" else 0.3
        val = scale * rng.standard_normal(leaf.shape) + (1.0 if name == "scale" else 0.0)
        return jnp.asarray(val, leaf.dtype)

    return jax.tree_util.tree_map_with_path(draw, state)


def random_model(build, seed=0):
    """The module `build()` makes, with `random_state` weights, without running its init."""
    graphdef, state = nnx.split(nnx.eval_shape(build))
    return nnx.merge(graphdef, random_state(state, seed))


def assert_close(a, b, rtol=1e-4, what=""):
    """max |a − b| ≤ rtol · max |a| (float32 reassociation noise is ~1e-6 relative)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(np.abs(a).max(), 1e-30)
    assert np.abs(a - b).max() <= rtol * scale, (what, np.abs(a - b).max() / scale)


def assert_trees_close(ta, tb, rtol=1e-4, what=""):
    """Leaf-wise, relative to the largest value of the whole tree (some gradients are ~0)."""
    assert jax.tree_util.tree_structure(ta) == jax.tree_util.tree_structure(tb), what
    la, lb = jax.tree_util.tree_leaves_with_path(ta), jax.tree_util.tree_leaves(tb)
    scale = max(float(np.abs(np.asarray(v)).max()) for _, v in la)
    for (path, a), b in zip(la, lb):
        assert np.shape(a) == np.shape(b), (what, jax.tree_util.keystr(path))
        err = float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
        assert err <= rtol * scale, (what, jax.tree_util.keystr(path), err / scale)


# Compiling dominates these tests: without XLA's expensive optimisation passes it is about
# 3x faster, and the arithmetic is the same (only fusion and op order can differ).
QUICK_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def run(fn, *args):
    """`jax.jit(fn)(*args)`, compiled with QUICK_COMPILE."""
    return jax.jit(fn, compiler_options=QUICK_COMPILE)(*args)


# ----------------------------------------------------------------------------- ScoreNet


X28 = jnp.zeros((2, 28, 28, 1))
T2 = jnp.array([0.3, 0.9])


def scorenet(layers="fast", **kw):
    return lambda: ScoreNet(std_fn, layers=layers, rngs=nnx.Rngs(0), **kw)


@pytest.mark.parametrize("layers", ["fast", "plain"])
def test_scorenet_parameter_count(layers):
    model = nnx.eval_shape(scorenet(layers))
    assert count_params(nnx.state(model)) == 1_115_425  # seed 000 Table 1 (PyTorch counts the fixed W)
    assert count_params is tree_count_params  # the one counter
    _, params, rest = nnx.split(model, nnx.Param, ...)
    assert count_params(params) == 1_115_297  # what the optimiser sees
    assert count_params(rest) == 128  # Gaussian Fourier W, embed_dim / 2
    assert isinstance(model.fourier.W, Constant) and model.fourier.W.shape == (128,)
    assert [path for path, _ in nnx.to_flat_state(rest)] == [("fourier", "W")]


def test_fast_and_plain_scorenet_have_the_same_state():
    fast, plain = nnx.eval_shape(scorenet("fast")), nnx.eval_shape(scorenet("plain"))
    sf, sp = nnx.state(fast), nnx.state(plain)
    assert jax.tree_util.tree_structure(sf) == jax.tree_util.tree_structure(sp)
    assert jax.tree.map(lambda a: a.shape, sf) == jax.tree.map(lambda a: a.shape, sp)
    names = {path[0] for path, _ in nnx.to_flat_state(sf)}
    assert names == {"fourier", "embed"} | {f"conv{i}" for i in range(1, 5)} | {f"dense{i}" for i in range(1, 8)} | {
        f"gnorm{i}" for i in range(1, 5)
    } | {f"tconv{i}" for i in range(1, 5)} | {f"tgnorm{i}" for i in range(2, 5)}


@pytest.fixture(scope="module")
def scorenet_pair():
    """(fast, plain) ScoreNets with the same random weights, and a batch (x, t)."""
    fast = random_model(scorenet("fast"), seed=3)
    plain = nnx.eval_shape(scorenet("plain"))
    nnx.update(plain, nnx.state(fast))
    x = jax.random.uniform(jax.random.key(1), (2, 28, 28, 1))
    t = jnp.array([0.05, 0.7])
    return fast, plain, x, t


def test_scorenet_init_is_identical_for_fast_and_plain():
    # The same rngs give the same weights: the fast layers draw the same keys in the same order.
    init = lambda layers: nnx.split(ScoreNet(std_fn, layers=layers, rngs=nnx.Rngs(7)))[1]  # noqa: E731
    fast, plain = run(lambda: (init("fast"), init("plain")))
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), fast, plain))


@contextlib.contextmanager
def float64():
    """Trace and run in float64 (restores the previous setting)."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", old)


def test_scorenet_fast_equals_plain_value_and_gradients(scorenet_pair):
    """Exact in float64 (1e-9); in float32 the fast net is within 1e-4 of that reference.
    (The plain port is the noisier one in float32: flax's E[x²] − E[x]² variance cancels, so
    its value is 2e-5 (jaxlib 0.10.2) to 8e-4 (jaxlib 0.10.0) off the float64 value for these
    weights; the fast net's shifted sums keep it at 1e-6 with either.)"""
    fast, plain, x, t = scorenet_pair
    ct = jax.random.normal(jax.random.key(4), x.shape)

    def vjp(model, x, t, ct):
        g, params, rest = nnx.split(model, nnx.Param, ...)
        y, pull = jax.vjp(lambda p, x: nnx.merge(g, p, rest)(x, t), params, x)
        return y, *pull(ct)

    y32, dp32, dx32 = run(vjp, fast, x, t, ct)
    assert y32.shape == (2, 28, 28, 1) and bool(jnp.all(jnp.isfinite(y32)))
    with float64():
        to64 = lambda tree: jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tree)  # noqa: E731
        results = {}
        for name, model in (("fast", fast), ("plain", plain)):
            graphdef, state = nnx.split(model)
            results[name] = run(vjp, nnx.merge(graphdef, to64(state)), to64(x), to64(t), to64(ct))
    (yf, dpf, dxf), (yp, dpp, dxp) = results["fast"], results["plain"]
    assert yf.dtype == jnp.float64
    assert_close(yp, yf, rtol=1e-9, what="value")
    assert_trees_close(dpp, dpf, rtol=1e-9, what="d params")
    assert_close(dxp, dxf, rtol=1e-9, what="dx")
    assert_close(yp, y32, what="value float32")
    assert_trees_close(dpp, dp32, what="d params float32")
    assert_close(dxp, dx32, what="dx float32")


def test_scorenet_update_moves_weights_between_layers(scorenet_pair):
    fast, plain, x, t = scorenet_pair
    other = nnx.eval_shape(scorenet("plain"))
    nnx.update(other, nnx.state(fast))
    assert_close(run(lambda m: m(x, t), plain), run(lambda m: m(x, t), other))


def test_scorenet_output_scales_as_one_over_std(scorenet_pair):
    fast, _, x, t = scorenet_pair
    graphdef, state = nnx.split(fast)
    unit = nnx.split(nnx.eval_shape(lambda: ScoreNet(lambda t: jnp.ones_like(t), rngs=nnx.Rngs(0))))[0]

    def outputs(state, x, t):
        return nnx.merge(graphdef, state)(x, t), nnx.merge(unit, state)(x, t)

    scaled, unscaled = run(outputs, state, x, t)
    assert_close(unscaled / std_fn(t)[:, None, None, None], scaled)


def test_scorenet_rejects_bad_arguments():
    with pytest.raises(ValueError, match="layers must be one of"):
        ScoreNet(std_fn, layers="gemm", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="channels must have 4"):
        ScoreNet(std_fn, channels=(32, 64, 128), rngs=nnx.Rngs(0))
    model = nnx.eval_shape(scorenet())
    with pytest.raises(ValueError, match=r"x \(N, H, W, C\) with C = in_channels = 1 and t \(N,\)"):
        model(X28, jnp.ones((3,)))
    with pytest.raises(ValueError, match="in_channels = 1"):
        model(jnp.zeros((2, 28, 28, 3)), T2)
    with pytest.raises(ValueError, match=r"8k \+ 12"):
        model(jnp.zeros((2, 32, 32, 1)), T2)


def test_scorenet_other_sizes_and_channels():
    model = random_model(lambda: ScoreNet(std_fn, in_channels=3, channels=(32, 32, 64, 64), embed_dim=64, rngs=nnx.Rngs(0)))
    y = run(lambda m, x, t: m(x, t), model, jnp.ones((2, 20, 36, 3)), T2)
    assert y.shape == (2, 20, 36, 3)


def test_scorenet_jacfwd_fast_equals_plain():
    """Forward mode through ScoreNet(fast): the full input Jacobian on a small input."""
    def build(layers):
        return lambda: ScoreNet(std_fn, channels=(32, 32, 32, 32), embed_dim=32, layers=layers, rngs=nnx.Rngs(0))

    fast = random_model(build("fast"), seed=5)
    plain = nnx.eval_shape(build("plain"))
    nnx.update(plain, nnx.state(fast))
    x = jax.random.normal(jax.random.key(0), (1, 20, 20, 1))
    t = jnp.array([0.4])

    def jacobians(fast, plain, x):
        jf = jax.jacfwd(lambda x: fast(x, t))(x)
        jp = jax.jacfwd(lambda x: plain(x, t))(x)
        jr = jax.jacrev(lambda x: fast(x, t))(x)
        return jf, jp, jr

    jf, jp, jr = run(jacobians, fast, plain, x)
    assert jf.shape == (1, 20, 20, 1, 1, 20, 20, 1)
    assert_close(jp, jf, what="jacfwd fast vs plain")
    assert_close(jr, jf, what="jacrev vs jacfwd")


def test_scorenet_vmap_of_per_sample_call_equals_batched(scorenet_pair):
    fast, _, x, t = scorenet_pair

    def results(model, x, t):
        per_sample = lambda xi, ti: model(xi[None], ti[None])[0]  # noqa: E731
        loss = lambda m, f: jnp.sum(jnp.sin(f(m)))  # noqa: E731
        batched = jax.value_and_grad(lambda m: loss(m, lambda m: m(x, t)))(model)
        mapped = jax.value_and_grad(lambda m: loss(m, lambda m: jax.vmap(lambda a, b: m(a[None], b[None])[0])(x, t)))(model)
        return model(x, t), jax.vmap(per_sample)(x, t), batched, mapped

    y, ym, (lb, gb), (lm, gm) = run(results, fast, x, t)
    assert_close(y, ym, what="vmap forward")
    assert_close(lb, lm, what="vmap loss")
    assert_trees_close(nnx.state(gb), nnx.state(gm), what="vmap gradient")


# ----------------------------------------------------------------------------- initialisers


def test_compiled_initializers_are_flax_s_up_to_rounding_and_work_inside_a_trace():
    """The -O0 compiled initialisers give Flax's / jax.random's values up to float32 rounding,
    eagerly and inside jit (a tracer key: the enclosing program compiles them), and are cached
    per hyperparameter (one compiled program per shape, not per call)."""
    key, shape = jax.random.key(3), (3, 3, 8, 16)
    flax_init = nnx.initializers.lecun_normal()
    ref = flax_init(key, shape)
    got = lecun_normal(key, shape)
    assert got.shape == shape and got.dtype == jnp.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)
    assert float(jnp.std(got)) > 0.1  # a draw, not zeros
    np.testing.assert_allclose(jax.jit(lambda k: lecun_normal(k, shape))(key), ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(initializers.truncated_normal(0.02)(key, (5, 7)),
                               0.02 * jax.random.truncated_normal(key, -2.0, 2.0, (5, 7)), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(initializers.normal(3.0)(key, (6,)), 3.0 * jax.random.normal(key, (6,)), rtol=1e-5)
    u = initializers.uniform(0.5)(key, (1000,))
    assert float(jnp.min(u)) >= -0.5 and float(jnp.max(u)) <= 0.5 and float(jnp.max(u) - jnp.min(u)) > 0.9
    assert initializers.uniform(0.5) is initializers.uniform(0.5)
    assert lecun_normal(key, shape, jnp.bfloat16).dtype == jnp.bfloat16
    # a whole module's initialisation as one program: the eager construction's values
    make = lambda: nnx.Sequential(nnx.Linear(3, 5, rngs=nnx.Rngs(1)), nnx.Linear(5, 2, rngs=nnx.Rngs(2)))  # noqa: E731
    built, eager = initializers.build_compiled(make), make()
    assert jax.tree.structure(nnx.state(built)) == jax.tree.structure(nnx.state(eager))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), nnx.state(built), nnx.state(eager))


# ----------------------------------------------------------------------------- fast layers

# Every convolution of ScoreNet at its real shape (batch 2): (H, C_in, C_out, stride, output_padding).
TCONV_SHAPES = [(2, 256, 128, 2, 0), (5, 256, 64, 2, 1), (12, 128, 32, 2, 1), (26, 64, 1, 1, 0)]
CONV_SHAPES = [(28, 1, 32, 1), (26, 32, 64, 2), (12, 64, 128, 2), (5, 128, 256, 2)]


def _check_layer(fast_build, plain_build, x):
    """Fast layer against the plain NNX layer: same init from the same rngs (the plain layer
    given the fast layers' default, `initializers.lecun_normal`), and the same
    value, reverse mode (dx, d params), forward mode (along x and along the parameters) and
    per-sample vmap.  One jit for all (compiling dominates the cost)."""
    fast, plain = fast_build(nnx.Rngs(5)), plain_build(nnx.Rngs(5))
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), nnx.state(fast), nnx.state(plain)))
    nnx.update(fast, random_state(nnx.state(fast), seed=9))  # non-trivial biases and scales
    nnx.update(plain, nnx.state(fast))
    gf, state = nnx.split(fast)
    gp = nnx.split(plain)[0]

    def results(state, x):
        out = []
        dstate = random_state(state, seed=13)
        dx = jax.random.normal(jax.random.key(17), x.shape)
        for g in (gf, gp):
            f = lambda s, x, g=g: nnx.merge(g, s)(x)  # noqa: E731
            y, pull = jax.vjp(f, state, x)
            ct = jax.random.normal(jax.random.key(11), y.shape)
            tangent = jax.jvp(f, (state, x), (dstate, dx))[1]
            mapped = jax.vmap(lambda xi, f=f: f(state, xi[None])[0])(x)
            out.append((y, pull(ct), tangent, mapped))
        return out

    (yf, (dsf, dxf), tf, mf), (yp, (dsp, dxp), tp, mp) = run(results, state, x)
    assert_close(yp, yf, what="value")
    assert_close(dxp, dxf, what="dx")
    assert_trees_close(dsp, dsf, what="d params")
    assert_close(tp, tf, what="jvp")
    assert_close(yf, mf, what="vmap")
    assert_close(yp, mp, what="vmap plain")


@pytest.mark.parametrize("shape", TCONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fast_conv_transpose_equals_nnx_conv_transpose(shape):
    H, cin, cout, s, op = shape
    x = jax.random.normal(jax.random.key(0), (2, H, H, cin))
    common = dict(kernel_size=(3, 3), strides=(s, s), use_bias=cout == 1)  # tconv1 has a bias
    _check_layer(
        lambda rngs: FastConvTranspose(cin, cout, output_padding=op, rngs=rngs, **common),
        lambda rngs: nnx.ConvTranspose(cin, cout, padding=conv_transpose_padding((3, 3), op), kernel_init=lecun_normal,
                                       rngs=rngs, **common),
        x,
    )


@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_fast_conv_equals_nnx_conv(shape):
    H, cin, cout, s = shape
    x = jax.random.normal(jax.random.key(0), (2, H, H, cin))
    common = dict(kernel_size=(3, 3), strides=(s, s))
    _check_layer(
        lambda rngs: FastConv(cin, cout, use_bias=s == 2, rngs=rngs, **common),
        lambda rngs: nnx.Conv(cin, cout, padding="VALID", use_bias=s == 2, kernel_init=lecun_normal, rngs=rngs,
                              **common),
        x,
    )


@pytest.mark.parametrize("shape,groups", [((2, 26, 26, 32), 4), ((3, 4, 6, 128), 32)])
def test_group_norm_equals_nnx_group_norm(shape, groups):
    x = 3.0 * jax.random.normal(jax.random.key(0), shape) + 1.0
    C = shape[-1]
    _check_layer(
        lambda rngs: GroupNorm(C, groups, 1e-5, rngs=rngs),
        lambda rngs: nnx.GroupNorm(C, groups, epsilon=1e-5, rngs=rngs),
        x,
    )


# Odd and even sizes, non-square kernels, strides larger than the kernel, every output
# padding: (input H, W, kernel, strides, output_padding).
GENERAL = [
    (7, 6, (3, 3), (2, 2), (1, 0)),
    (8, 9, (3, 3), (2, 2), (0, 1)),
    (7, 6, (4, 5), (3, 2), (2, 1)),
    (7, 6, (1, 2), (2, 3), (0, 2)),
    (5, 5, (3, 3), (1, 1), (0, 0)),
    (4, 7, (2, 3), (2, 2), (1, 1)),
]


def _general_ops(i):
    H, W, kernel, strides, op = GENERAL[i]
    tconv = {
        "plain": lambda x, w: conv_transpose_plain(x, w, strides, op),
        "gemm": lambda x, w: conv_transpose_gemm(x, w, strides, op),
    }
    conv = {"plain": lambda x, w: conv_plain(x, w, strides), "gemm": lambda x, w: strided_conv_gemm(x, w, strides)}
    return (H, W, kernel), {"tconv": tconv, "conv": conv}


def test_fast_convolutions_general_shapes_all_autodiff_modes():
    """Value, jvp (along x and w), vjp, grad of grad and jvp of vjp of every shape of GENERAL,
    fast against plain."""

    def all_results():
        out = {}
        for i in range(len(GENERAL)):
            (H, W, kernel), ops = _general_ops(i)
            x = jax.random.normal(jax.random.key(i), (2, H, W, 3))
            w = jax.random.normal(jax.random.key(100 + i), (*kernel, 3, 4))
            dx, dw = jax.random.normal(jax.random.key(200 + i), x.shape), jax.random.normal(jax.random.key(300 + i), w.shape)
            for kind, impls in ops.items():
                for impl, f in impls.items():
                    y, pull = jax.vjp(f, x, w)
                    ct = jax.random.normal(jax.random.key(99), y.shape)
                    tangent = jax.jvp(f, (x, w), (dx, dw))[1]
                    # second order: grad of grad (w), jvp of vjp (along x, w and the cotangent)
                    scalar = lambda w, f=f, x=x: jnp.sum(jnp.tanh(f(x, w)) ** 2)  # noqa: E731
                    gg = jax.grad(lambda w, scalar=scalar: jnp.sum(jax.grad(scalar)(w) ** 2))(w)
                    vjp_fn = lambda x, w, ct, f=f: jax.vjp(f, x, w)[1](ct)  # noqa: E731
                    jvp_of_vjp = jax.jvp(vjp_fn, (x, w, ct), (dx, dw, ct))[1]
                    out[(i, kind, impl)] = (y, *pull(ct), tangent, gg, *jvp_of_vjp)
        return out

    res = run(all_results)
    names = ("value", "dx", "dw", "jvp", "grad of grad", "jvp of vjp dx", "jvp of vjp dw")
    for (i, kind, impl), got in res.items():
        ref = res[(i, kind, "plain")]
        for a, b, name in zip(ref, got, names):
            assert_close(a, b, what=f"{kind} {impl} {GENERAL[i]} {name}")


def test_fast_convolutions_jacfwd_and_vmap():
    x = jax.random.normal(jax.random.key(0), (3, 5, 5, 2))
    w = jax.random.normal(jax.random.key(1), (3, 3, 2, 3))

    def results(x, w):
        out = {}
        for kind, f in (
            ("tconv", lambda x, w: conv_transpose_gemm(x, w, (2, 2), (1, 1))),
            ("tconv plain", lambda x, w: conv_transpose_plain(x, w, (2, 2), (1, 1))),
            ("conv", lambda x, w: strided_conv_gemm(x, w, (2, 2))),
            ("conv plain", lambda x, w: conv_plain(x, w, (2, 2))),
        ):
            out[kind] = (
                jax.jacfwd(f, argnums=(0, 1))(x[:1], w),
                jax.vmap(lambda xi, f=f: f(xi[None], w)[0])(x),
                f(x, w),
            )
        return out

    r = run(results, x, w)
    for kind in ("tconv", "conv"):
        (jx, jw), mapped, batched = r[kind]
        (px, pw), _, _ = r[kind + " plain"]
        assert_close(px, jx, what=f"{kind} jacfwd x")
        assert_close(pw, jw, what=f"{kind} jacfwd w")
        assert_close(batched, mapped, what=f"{kind} vmap")


def test_fast_convolutions_reject_bad_shapes():
    x, w = jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 2))
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_gemm(x, w, (2, 2), (2, 0))
    with pytest.raises(ValueError, match="output_padding"):
        FastConvTranspose(2, 2, strides=(1, 1), output_padding=1, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="C_in"):
        strided_conv_gemm(jnp.ones((1, 4, 4, 3)), w)
    with pytest.raises(ValueError, match="do not fit"):
        strided_conv_gemm(jnp.ones((1, 2, 2, 2)), w)
    with pytest.raises(ValueError, match=r"\(N, H, W, 2\)"):
        FastConv(2, 4, rngs=nnx.Rngs(0))(jnp.ones((4, 4, 2)))
    with pytest.raises(ValueError, match="num_groups"):
        GroupNorm(30, 32, rngs=nnx.Rngs(0))


def test_im2col_col2im_are_adjoint():
    x = jax.random.normal(jax.random.key(0), (2, 9, 8, 3))
    cols = jax.random.normal(jax.random.key(1), (2, 4, 3, 3, 2, 3))
    patches, back = run(lambda x, c: (im2col(x, (3, 2), (2, 3), (4, 3)), col2im(c, (2, 3), (9, 8))), x, cols)
    assert patches.shape == (2, 4, 3, 3, 2, 3)
    assert patches[1, 2, 1, 2, 1, 0] == x[1, 2 * 2 + 2, 3 * 1 + 1, 0]
    # Every entry against the definition, including windows that reach past the input only
    # where the phase split pads (out_hw given), strides larger than the kernel, stride 1.
    cases = [((3, 2), (2, 3), (4, 3)), ((1, 2), (3, 3), None), ((3, 3), (1, 1), None), ((2, 3), (2, 2), (4, 3))]
    for kernel, strides, out_hw in cases:
        got = np.asarray(im2col(x, kernel, strides, out_hw))
        xn = np.asarray(x)
        for i, j, rh, rw in np.ndindex(*got.shape[1:5]):
            np.testing.assert_array_equal(got[:, i, j, rh, rw], xn[:, strides[0] * i + rh, strides[1] * j + rw])
    assert_close(jnp.vdot(patches, cols), jnp.vdot(x, back), rtol=1e-5)
    # ... and autodiff transposes each into the other.
    transposed = jax.linear_transpose(lambda x: im2col(x, (3, 2), (2, 3), (4, 3)), x)(cols)[0]
    assert_close(back, transposed, rtol=1e-6)


def test_group_norm_function_supports_any_spatial_rank():
    x = jax.random.normal(jax.random.key(0), (2, 5, 8))
    y = group_norm(x, jnp.ones(8), jnp.zeros(8), 4)
    g = np.asarray(x).reshape(2, 5, 4, 2)
    ref = (g - g.mean(axis=(1, 3), keepdims=True)) / np.sqrt(g.var(axis=(1, 3), keepdims=True) + 1e-5)
    assert_close(ref.reshape(2, 5, 8), y)


def test_group_norm_is_accurate_in_float32_when_the_mean_dwarfs_the_std():
    """Mean 3000, std 1: E[x²] − E[x]² in float32 loses every digit of the variance (9e6 −
    9e6); the shifted sums keep the float32 output within 1e-5 of the float64 value."""
    r = np.random.default_rng(0)
    x = (3000.0 + r.standard_normal((2, 9, 9, 8))).astype(np.float32).astype(np.float64)  # float32-exact
    g = x.reshape(2, 81, 4, 2)
    ref = ((g - g.mean(axis=(1, 3), keepdims=True)) / np.sqrt(g.var(axis=(1, 3), keepdims=True) + 1e-5)).reshape(x.shape)
    y = jax.jit(group_norm, static_argnums=3)(jnp.asarray(x, jnp.float32), jnp.ones(8), jnp.zeros(8), 4)
    assert float(np.abs(np.asarray(y, np.float64) - ref).max()) < 1e-5
    # The gradient too: through the shift (a stop_gradient constant) it is the exact one.
    ct = r.standard_normal(x.shape)
    dx = jax.grad(lambda x: jnp.vdot(group_norm(x, jnp.ones(8), jnp.zeros(8), 4), jnp.asarray(ct, jnp.float32)))(
        jnp.asarray(x, jnp.float32)
    )
    with float64():
        dx64 = jax.grad(lambda x: jnp.vdot(group_norm(x, jnp.ones(8), jnp.zeros(8), 4), jnp.asarray(ct)))(jnp.asarray(x))
        assert_close(np.asarray(dx64), np.asarray(dx, np.float64), rtol=1e-4, what="dx")


# ----------------------------------------------------------------------------- embeddings, MLP


def test_time_embeddings():
    t = jnp.array([0.0, 0.5, 1.0])
    fourier = GaussianFourierProjection(8, 30.0, rngs=nnx.Rngs(0))
    W = fourier.W[...]
    assert W.shape == (4,) and isinstance(fourier.W, Constant)
    proj = 2 * np.pi * np.asarray(t)[:, None] * np.asarray(W)
    np.testing.assert_allclose(fourier(t), np.concatenate([np.sin(proj), np.cos(proj)], -1), rtol=1e-5, atol=1e-5)
    assert count_params(nnx.state(fourier, nnx.Param)) == 0  # nothing to train
    sin = SinusoidalEmbedding(6)
    assert sin(t).shape == (3, 6) and count_params(nnx.state(sin)) == 0
    with pytest.raises(ValueError, match="even"):
        SinusoidalEmbedding(5)


@pytest.mark.parametrize("embedding,sample_shape", [("sinusoidal", (2,)), ("fourier", (3, 2))])
def test_time_mlp_shapes(embedding, sample_shape):
    d = math.prod(sample_shape)
    model = TimeMLP(d, features=(32, 16), embed_dim=8, embedding=embedding, rngs=nnx.Rngs(0))
    x, t = jnp.ones((5, *sample_shape)), jnp.linspace(0.1, 1.0, 5)
    y = run(lambda m, x, t: m(x, t), model, x, t)
    assert y.shape == (5, *sample_shape)
    _, params, rest = nnx.split(model, nnx.Param, ...)
    assert count_params(rest) == (4 if embedding == "fourier" else 0)
    expected = (8 * 8 + 8) + (d * 32 + 32) + (8 * 32 + 32) + (32 * 16 + 16) + (8 * 16 + 16) + (16 * d + d)
    assert count_params(params) == expected
    wide = TimeMLP(d, features=(16,), out_features=3, rngs=nnx.Rngs(0))
    assert wide(x, t).shape == (5, 3)


def test_time_mlp_output_scaling_and_errors():
    x, t = jax.random.normal(jax.random.key(1), (4, 2)), jnp.array([0.01, 0.1, 0.5, 1.0])
    plain = TimeMLP(2, features=(16,), rngs=nnx.Rngs(0))
    scaled = TimeMLP(2, features=(16,), marginal_std=std_fn, rngs=nnx.Rngs(0))
    nnx.update(scaled, nnx.state(plain))
    assert_close(plain(x, t) / std_fn(t)[:, None], scaled(x, t))
    with pytest.raises(ValueError, match="embedding"):
        TimeMLP(2, embedding="cosine", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="in_features = 2"):
        plain(jnp.ones((4, 3)), t)


# ----------------------------------------------------------------------------- adapter


def test_score_fn_from_is_a_per_sample_pytree(scorenet_pair):
    fast, _, x, t = scorenet_pair
    traces = []

    @partial(jax.jit, compiler_options=QUICK_COMPILE)
    def outputs(score_fn, x, t):
        traces.append(1)
        return score_fn.model()(x, t), score_fn(x[1], t[1]), jax.vmap(score_fn)(x, t), score_fn.batched(x, t)

    score_fn = score_fn_from(fast)
    assert isinstance(score_fn, PerSampleScore)
    batched, one, mapped, fast_path = outputs(score_fn, x, t)
    assert one.shape == (28, 28, 1)
    assert_close(batched[1], one)
    assert_close(batched, mapped)
    assert_close(batched, fast_path)
    # Its leaves are the state: new weights (same graph) reuse the compiled function.
    assert len(jax.tree_util.tree_leaves(score_fn)) == len(jax.tree_util.tree_leaves(nnx.state(fast)))
    graphdef, params, rest = nnx.split(fast, nnx.Param, ...)
    halved = jax.tree.map(lambda a: 0.5 * a, params)
    batched2, *_ = outputs(score_fn_from(nnx.merge(graphdef, halved, rest)), x, t)
    assert len(traces) == 1
    assert not np.allclose(batched, batched2)
    # (graphdef, *states) as from nnx.split: the same function of the same weights.
    batched3, *_ = outputs(score_fn_from(graphdef, halved, rest), x, t)
    assert_close(batched2, batched3)
    with pytest.raises(ValueError, match="state"):
        score_fn_from(graphdef)
    with pytest.raises(ValueError, match="nnx.Module"):
        score_fn_from(lambda x, t: x)


def test_score_fn_from_drives_the_sampler(scorenet_pair):
    fast, _, _, _ = scorenet_pair
    out = sg.sample(jax.random.key(0), SDE, score_fn_from(fast), shape=(28, 28, 1), n=2, steps=3)
    assert out.shape == (2, 28, 28, 1)
    assert bool(jnp.all(jnp.isfinite(out)))


def test_time_mlp_mixed_precision_keeps_float32_parameters_and_output():
    """dtype=bfloat16: parameters stay float32 (the optimizer's master copy), the output is
    float32, and it agrees with the float32 network to bfloat16 precision."""
    import jax.numpy as jnp
    from flax import nnx

    import sdegen_jax as sg

    full = sg.nets.TimeMLP(2, features=(64, 64), rngs=nnx.Rngs(0))
    mixed = sg.nets.TimeMLP(2, features=(64, 64), dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    assert {p.dtype for p in jax.tree_util.tree_leaves(nnx.state(mixed, nnx.Param))} == {jnp.dtype("float32")}
    x, t = jax.random.normal(jax.random.key(0), (16, 2)), jnp.linspace(0.01, 1.0, 16)
    out = mixed(x, t)
    assert out.dtype == jnp.float32
    ref = full(x, t)
    err = float(jnp.max(jnp.abs(out - ref)) / jnp.max(jnp.abs(ref)))
    assert 0 < err < 3e-2, err  # computed in bfloat16 (not silently float32), to its precision


def _check_mixed_precision(build, x, t, jaxpr_marker):
    """`build(dtype)` -> a network; the bfloat16 one keeps float32 parameters and output, its
    jaxpr holds `jaxpr_marker` (bfloat16 activations) and dot_generals, and its output is within
    bfloat16 precision of the float32 net at the same initialisation (not silently float32).
    Returns the bfloat16 net's output."""
    import jax.numpy as jnp
    from flax import nnx

    full, mixed = build(None), build(jnp.bfloat16)
    assert {p.dtype for p in jax.tree_util.tree_leaves(nnx.state(mixed, nnx.Param))} == {jnp.dtype("float32")}
    apply = nnx.jit(lambda m, x, t: m(x, t))  # compiled: op by op the ScoreNet took ~40 s on 2 CPUs
    out, ref = apply(mixed, x, t), apply(full, x, t)
    assert out.dtype == jnp.float32 and out.shape == ref.shape
    err = float(jnp.linalg.norm(out - ref) / jnp.linalg.norm(ref))
    assert 1e-4 < err < 3e-2, err  # measured 0.009 for ScoreNet
    jaxpr = str(jax.make_jaxpr(lambda x, t: mixed(x, t))(x, t))
    assert jaxpr_marker in jaxpr and "dot_general" in jaxpr
    return out


def test_scorenet_mixed_precision_computes_convolutions_in_bfloat16():
    """ScoreNet(dtype=bfloat16): the convolutions' GEMMs run on bfloat16 operands.  (The
    training loss curve against float32: experiments.mixed_precision.)"""
    import jax.numpy as jnp
    from flax import nnx

    std = lambda t: SDE.marginal_coeffs(t)[1]  # noqa: E731
    small = dict(channels=(32, 32, 32, 32), embed_dim=32)  # the dtype plumbing, at a fraction of the cost
    _check_mixed_precision(lambda dtype: sg.nets.ScoreNet(std, dtype=dtype, rngs=nnx.Rngs(0), **small),
                           jax.random.normal(jax.random.key(1), (4, 28, 28, 1)), jnp.array([0.05, 0.3, 0.6, 0.95]),
                           "bf16[")


def test_uvit_mixed_precision_computes_in_bfloat16():
    """UViT(dtype=bfloat16): the attention and MLP GEMMs run on bfloat16 tokens."""
    import jax.numpy as jnp
    from flax import nnx

    kw = dict(patch_size=4, dim=32, depth=2, num_heads=2)
    x = jax.random.normal(jax.random.key(1), (3, 16, 16, 1))
    out = _check_mixed_precision(lambda dtype: sg.nets.UViT(16, 1, dtype=dtype, rngs=nnx.Rngs(0), **kw), x,
                                 jnp.array([0.05, 1.0, 20.0]), "bf16[3,17,32]")  # the 1 + 16 tokens, in bfloat16
    assert out.shape == x.shape


def test_bsde_gen_mixed_precision_computes_in_bfloat16():
    """BSDEGenNets(dtype=bfloat16): N_z's dense layers run on bfloat16 activations, the control
    comes back float32 (the FBSDE's y-recursion stays float32)."""
    import jax.numpy as jnp
    from flax import nnx

    class Control(nnx.Module):  # the helper's (x, t) call order
        def __init__(self, dtype):
            self.nets = sg.nets.BSDEGenNets(8, 8, 12, hidden=(16, 8, 16), dtype=dtype, rngs=nnx.Rngs(0))

        def __call__(self, x, t):
            return jax.vmap(self.nets.control)(t, x)

    _check_mixed_precision(Control, jax.random.normal(jax.random.key(1), (5, 8)), jnp.linspace(0.0, 1.0, 5),
                           "bf16[5,16]")  # N_z's first hidden layer, in bfloat16
