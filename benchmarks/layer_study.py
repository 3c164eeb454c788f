"""Per-layer study: every convolution and GroupNorm of ScoreNet, per implementation (XLA CPU).

    python -m benchmarks.layer_study            # full study, writes results/bench_layers.json
    python -m benchmarks.layer_study --smoke    # seconds: batch 2, 1 round, unoptimised compiles

What is timed (fp32, `jax.jit`, batch 64, each layer at its real ScoreNet shape):
  fwd        the layer's output y = f(x, w)
  dx, dw     the input and the kernel gradient alone (a VJP with a ones cotangent)
  bwd        both gradients (one VJP): what a training step needs per layer
  vmap_bwd   `bwd` of the per-sample call vmapped over the batch,
             `jax.vmap(lambda x: f(x[None], w)[0])`, which is how the library's losses and
             samplers call the network (the kernel gradient then contracts the vmap axis)
and GroupNorm followed by swish, forward and forward + backward (gradients of x, scale, bias).

Implementations (all exact; checked against "plain" before timing, section "exactness"):
  convolutions (stride 1 or 2, 'VALID')
    plain           `lax.conv_general_dilated`, what `nnx.Conv` runs
    gemm            `sdegen_jax.nets.strided_conv_gemm`: im2col + GEMM, plain autodiff (the library)
    gemm_custom_vjp XLA's convolution forward with a `jax.custom_vjp` whose backward is
                    GEMM + col2im (dx) and im2col + GEMM (dw): the library's layer until the
                    move to NNX, kept here to show why it went (no forward mode; under vmap
                    the batched custom backward forms one kernel gradient per sample)
    space_to_depth  fold each s×s block into channels, stride-1 convolution (this file)
  transposed convolutions (stride 1 or 2, 'VALID' + output_padding)
    plain           `lax.conv_transpose`, what `nnx.ConvTranspose` runs (lhs_dilation)
    gemm            `sdegen_jax.nets.conv_transpose_gemm`: GEMM + col2im, plain autodiff (the library)
    gemm_custom_vjp GEMM + col2im forward, `jax.custom_vjp` backward im2col + 2 GEMMs (the
                    library's layer until the move to NNX)
    subpixel        stride-1 convolution to s²·C_out channels + depth-to-space (this file)
  GroupNorm + swish
    nnx             `nnx.GroupNorm`
    fast            `sdegen_jax.nets.group_norm` (per-channel sums, fewer memory passes)

Method.  The machine is shared and 2-core: every function is timed in the same rounds
(`benchmarks._timing.run_rounds`, order reversed every other round), each call keeping the
fastest of up to 3 back-to-back runs (`Timed(burst=3)`); we report the best and the median
round in ms and the process CPU time.  Totals add fwd + bwd over the layers of one kind.
Compiler options are explicit (none for the full run; `_timing.SMOKE_OPTIONS` with --smoke).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import lax

from benchmarks._timing import SMOKE_OPTIONS, Timed, compile_fn, logger, metadata, run_rounds, write_json
from sdegen_jax.nets import (
    col2im,
    conv_plain,
    conv_transpose_gemm,
    conv_transpose_plain,
    group_norm,
    im2col,
    strided_conv_gemm,
)
from sdegen_jax.nets.conv_transpose import DIMENSION_NUMBERS, conv_transpose_output_size, kernel_matrix
from sdegen_jax.nets.im2col import as_pair

# (name, kind, input H = W, C_in, C_out, stride, output_padding): every convolution of ScoreNet.
LAYERS = [
    ("conv1", "conv", 28, 1, 32, 1, 0),
    ("conv2", "conv", 26, 32, 64, 2, 0),
    ("conv3", "conv", 12, 64, 128, 2, 0),
    ("conv4", "conv", 5, 128, 256, 2, 0),
    ("tconv4", "tconv", 2, 256, 128, 2, 0),
    ("tconv3", "tconv", 5, 256, 64, 2, 1),
    ("tconv2", "tconv", 12, 128, 32, 2, 1),
    ("tconv1", "tconv", 26, 64, 1, 1, 0),
]
# (name, H = W, channels, groups): every GroupNorm of ScoreNet.
NORMS = [
    ("gnorm1", 26, 32, 4),
    ("gnorm2", 12, 64, 32),
    ("gnorm3", 5, 128, 32),
    ("gnorm4", 2, 256, 32),
    ("tgnorm4", 5, 128, 32),
    ("tgnorm3", 12, 64, 32),
    ("tgnorm2", 26, 32, 32),
]
PARTS = ("fwd", "dx", "dw", "bwd", "vmap_bwd")


# ----------------------------------------------------------------------------- sub-pixel


def subpixel_kernel(kernel: jax.Array, strides=(2, 2)) -> jax.Array:
    """(K_h, K_w, C_in, C_out) transposed-conv kernel -> (T_h, T_w, C_in, s_h·s_w·C_out)."""
    # Tap a of phase φ uses kernel index K − 1 − s(T − 1 − a) − φ (zero when negative): flip
    # the kernel, zero-pad it to s·T, split each axis into (T, s) and flip the T axis back.
    Kh, Kw, Cin, Cout = kernel.shape
    sh, sw = as_pair(strides)
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    kf = jnp.pad(jnp.flip(kernel, (0, 1)), ((0, Th * sh - Kh), (0, Tw * sw - Kw), (0, 0), (0, 0)))
    w = jnp.flip(kf.reshape(Th, sh, Tw, sw, Cin, Cout), (0, 2))  # (Th, sh, Tw, sw, Cin, Cout)
    return w.transpose(0, 2, 4, 1, 3, 5).reshape(Th, Tw, Cin, sh * sw * Cout)


def depth_to_space(y: jax.Array, strides=(2, 2)) -> jax.Array:
    """(N, M_h, M_w, s_h·s_w·C) -> (N, M_h·s_h, M_w·s_w, C), channel order (φ_h, φ_w, c)."""
    N, Mh, Mw, C4 = y.shape
    sh, sw = as_pair(strides)
    C = C4 // (sh * sw)
    y = y.reshape(N, Mh, Mw, sh, sw, C).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(N, Mh * sh, Mw * sw, C)


def conv_transpose_subpixel(x, kernel, strides=(2, 2), output_padding=(0, 0), precision=None):
    """Exactly `conv_transpose_plain(x, kernel, strides, output_padding)` as a stride-1
    convolution to s²·C_out channels + depth-to-space + crop (the sub-pixel rewrite, Shi et
    al. 2016).

    Output row s·m + φ (phase φ) only sees input rows m − j with s·j + φ < K, i.e.
    T = ⌈K/s⌉ taps, so one stride-1 T×T convolution of the zero-padded input to s²·C_out
    channels computes every phase; depth-to-space interleaves them and a crop removes the
    rows past the true output size.  Plain autodiff, no dilation anywhere, but for K=3, s=2
    it multiplies 16 kernel taps where 9 are non-zero, and more on small maps.
    """
    N, H, W, _ = x.shape
    Kh, Kw, _, _ = kernel.shape
    sh, sw = as_pair(strides)
    Lh, Lw = conv_transpose_output_size(x.shape, kernel.shape, strides, output_padding)
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    Mh, Mw = -(-Lh // sh), -(-Lw // sw)  # positions per phase
    xp = jnp.pad(x, ((0, 0), (Th - 1, Mh - H), (Tw - 1, Mw - W), (0, 0)))
    w = subpixel_kernel(kernel, (sh, sw)).astype(x.dtype)
    y = lax.conv_general_dilated(xp, w, (1, 1), "VALID", dimension_numbers=DIMENSION_NUMBERS, precision=precision)
    return depth_to_space(y, (sh, sw))[:, :Lh, :Lw, :]


# ----------------------------------------------------------------------------- space-to-depth


def space_to_depth(x: jax.Array, strides=(2, 2)) -> jax.Array:
    """(N, H, W, C) with H, W multiples of s -> (N, H/s_h, W/s_w, s_h·s_w·C), order (φ_h, φ_w, c)."""
    N, H, W, C = x.shape
    sh, sw = as_pair(strides)
    x = x.reshape(N, H // sh, sh, W // sw, sw, C).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(N, H // sh, W // sw, sh * sw * C)


def space_to_depth_kernel(kernel: jax.Array, strides=(2, 2)) -> jax.Array:
    """(K_h, K_w, C_in, C_out) -> (T_h, T_w, s_h·s_w·C_in, C_out) matching `space_to_depth`."""
    Kh, Kw, Cin, Cout = kernel.shape
    sh, sw = as_pair(strides)
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    kp = jnp.pad(kernel, ((0, Th * sh - Kh), (0, Tw * sw - Kw), (0, 0), (0, 0)))
    kp = kp.reshape(Th, sh, Tw, sw, Cin, Cout).transpose(0, 2, 1, 3, 4, 5)
    return kp.reshape(Th, Tw, sh * sw * Cin, Cout)


def conv_space_to_depth(x, kernel, strides=(2, 2), precision=None):
    """Exactly `conv_plain(x, kernel, strides)` ('VALID'), with stride-1 arithmetic only.

    Folds each s×s block into channels and runs a stride-1 convolution with T = ⌈K/s⌉ taps
    per axis over s²·C_in channels (kernel zero-padded to s·T and reshaped), so plain
    autodiff only meets stride-1 convolutions; 16 taps where 9 are non-zero for K=3, s=2.
    """
    N, H, W, _ = x.shape
    Kh, Kw, _, _ = kernel.shape
    sh, sw = as_pair(strides)
    mh, mw = (H - Kh) // sh + 1, (W - Kw) // sw + 1  # output size
    Th, Tw = -(-Kh // sh), -(-Kw // sw)
    Hn, Wn = sh * (mh + Th - 1), sw * (mw + Tw - 1)  # rows/cols the blocks must cover
    x = x[:, :Hn, :Wn, :]  # rows past the last window are never read
    x = jnp.pad(x, ((0, 0), (0, Hn - x.shape[1]), (0, Wn - x.shape[2]), (0, 0)))  # zeros meet zero taps
    w = space_to_depth_kernel(kernel, (sh, sw)).astype(x.dtype)
    return lax.conv_general_dilated(
        space_to_depth(x, (sh, sw)), w, (1, 1), "VALID", dimension_numbers=DIMENSION_NUMBERS, precision=precision
    )


# ----------------------------------------------------------------------------- custom-VJP GEMM layers


def _matmul_tn(a, b):
    """aᵀ · b for a (M, K), b (M, O), contracting the long leading axis without a copy."""
    return lax.dot_general(a, b, (((0,), (0,)), ((), ())))


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv_transpose_custom_vjp(x, kernel, strides, output_padding):
    """`conv_transpose_gemm`'s forward with a hand-written backward (no forward mode)."""
    return conv_transpose_gemm(x, kernel, strides, output_padding)


def _ct_fwd(x, kernel, strides, output_padding):
    return conv_transpose_gemm(x, kernel, strides, output_padding), (x, kernel)


def _ct_bwd(strides, output_padding, res, g):
    x, kernel = res
    N, H, W, Cin = x.shape
    Kh, Kw, _, Cout = kernel.shape
    # Output s·i + r received x[i]·kernel[K−1−r]: G[i, r] = g[s·i + r], dx = G·Wᵀ, dW = xᵀ·G.
    G = im2col(g, (Kh, Kw), strides, (H, W)).reshape(N * H * W, Kh * Kw * Cout)
    dx = jnp.dot(G, kernel_matrix(kernel).T).reshape(x.shape)
    dw = _matmul_tn(x.reshape(N * H * W, Cin), G)
    return dx, jnp.flip(dw.reshape(Cin, Kh, Kw, Cout).transpose(1, 2, 0, 3), (0, 1))


conv_transpose_custom_vjp.defvjp(_ct_fwd, _ct_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_custom_vjp(x, kernel, strides):
    """XLA's strided convolution forward with a GEMM backward (no forward mode)."""
    return conv_plain(x, kernel, strides)


def _c_fwd(x, kernel, strides):
    return conv_plain(x, kernel, strides), (x, kernel)


def _c_bwd(strides, res, g):
    x, kernel = res
    N, Ho, Wo, Cout = g.shape
    Kh, Kw, Cin, _ = kernel.shape
    cols = jnp.dot(g.reshape(N * Ho * Wo, Cout), kernel.reshape(Kh * Kw * Cin, Cout).T)
    dx = col2im(cols.reshape(N, Ho, Wo, Kh, Kw, Cin), strides, x.shape[1:3])
    patches = im2col(x, (Kh, Kw), strides, (Ho, Wo)).reshape(N * Ho * Wo, Kh * Kw * Cin)
    return dx, _matmul_tn(patches, g.reshape(N * Ho * Wo, Cout)).reshape(kernel.shape)


conv_custom_vjp.defvjp(_c_fwd, _c_bwd)


def implementations(kind: str, s: int, op: int) -> dict:
    """name -> f(x, w) for a layer of `kind` ("conv" or "tconv"), stride s, output padding op."""
    st, opp = (s, s), (op, op)
    if kind == "conv":
        return {
            "plain": lambda x, w: conv_plain(x, w, st),
            "gemm": lambda x, w: strided_conv_gemm(x, w, st),
            "gemm_custom_vjp": lambda x, w: conv_custom_vjp(x, w, st),
            "space_to_depth": lambda x, w: conv_space_to_depth(x, w, st),
        }
    return {
        "plain": lambda x, w: conv_transpose_plain(x, w, st, opp),
        "gemm": lambda x, w: conv_transpose_gemm(x, w, st, opp),
        "gemm_custom_vjp": lambda x, w: conv_transpose_custom_vjp(x, w, st, opp),
        "subpixel": lambda x, w: conv_transpose_subpixel(x, w, st, opp),
    }


def layer_parts(f, x, w, g) -> dict:
    """part -> (function, args) for the timed parts of one layer implementation."""
    per_sample = lambda x, w: jax.vmap(lambda xi: f(xi[None], w)[0])(x)  # noqa: E731
    return {
        "fwd": (f, (x, w)),
        "dx": (lambda x, w, g: jax.vjp(lambda x_: f(x_, w), x)[1](g)[0], (x, w, g)),
        "dw": (lambda x, w, g: jax.vjp(lambda w_: f(x, w_), w)[1](g)[0], (x, w, g)),
        "bwd": (lambda x, w, g: jax.vjp(f, x, w)[1](g), (x, w, g)),
        "vmap_bwd": (lambda x, w, g: jax.vjp(per_sample, x, w)[1](g), (x, w, g)),
    }


def _rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))


# ----------------------------------------------------------------------------- study


def study(batch: int, rounds: int, layers, norms, parts, options, log) -> dict:
    timed: dict = {}
    exactness: dict = {}
    for name, kind, H, Cin, Cout, s, op in layers:
        x = jax.random.normal(jax.random.key(0), (batch, H, H, Cin))
        w = 0.1 * jax.random.normal(jax.random.key(1), (3, 3, Cin, Cout))
        impls = implementations(kind, s, op)
        g = jax.random.normal(jax.random.key(2), jax.eval_shape(impls["plain"], x, w).shape)
        ref = None
        for impl, f in impls.items():
            # Exactness first: value and both gradients against plain.
            val, grads = jax.jit(lambda x, w, g, f=f: (f(x, w), jax.vjp(f, x, w)[1](g)))(x, w, g)
            if ref is None:
                ref = (val, *grads)
            exactness.setdefault(name, {})[impl] = max(_rel_err(a, b) for a, b in zip(ref, (val, *grads)))
            log(f"compiling {name} {impl}")
            for part, (fn, args) in layer_parts(f, x, w, jnp.ones_like(g)).items():
                if part in parts:
                    timed[("conv", name, impl, part)] = Timed(compile_fn(fn, *args, options=options)[0], burst=3)
    for name, H, C, G in norms:
        x = jax.random.normal(jax.random.key(0), (batch, H, H, C))
        graphdef, state = nnx.split(nnx.GroupNorm(C, G, epsilon=1e-5, rngs=nnx.Rngs(0)))
        scale, bias = 1.0 + 0.1 * jax.random.normal(jax.random.key(3), (C,)), 0.1 * jnp.ones((C,))
        nnx.update(state, nnx.State({"scale": nnx.Param(scale), "bias": nnx.Param(bias)}))
        variants = {
            "nnx": (lambda v, x: jax.nn.swish(nnx.merge(graphdef, v)(x)), state),
            "fast": (
                lambda v, x, G=G: jax.nn.swish(group_norm(x, v["scale"], v["bias"], G)),
                {"scale": scale, "bias": bias},
            ),
        }
        outs = {}
        for impl, (fwd, v) in variants.items():
            bwd = lambda v, x, fwd=fwd: jax.grad(lambda v_, x_: jnp.sum(fwd(v_, x_) ** 2), (0, 1))(v, x)  # noqa: E731
            outs[impl] = jax.jit(fwd)(v, x)
            timed[("norm", name, impl, "fwd")] = Timed(compile_fn(fwd, v, x, options=options)[0], burst=3)
            timed[("norm", name, impl, "fwd+bwd")] = Timed(compile_fn(bwd, v, x, options=options)[0], burst=3)
        exactness[name] = {"fast": _rel_err(outs["nnx"], outs["fast"])}
    log(f"timing {len(timed)} functions, {rounds} rounds")
    run_rounds(timed, rounds)

    out: dict = {"convolutions": {}, "group_norm_plus_swish": {}}
    for (sect, name, impl, part), tm in timed.items():
        key = "convolutions" if sect == "conv" else "group_norm_plus_swish"
        s = tm.summary()
        row = out[key].setdefault(name, {}).setdefault(impl, {})
        row[part + "_ms"] = s["best_ms"]
        row[part + "_median_ms"] = s["median_ms"]
        row[part + "_cpu_ms"] = s["cpu_best_ms"]
    for name, impls in out["convolutions"].items():
        spec = next(layer for layer in LAYERS if layer[0] == name)
        impls["shape"] = dict(zip(("kind", "H", "C_in", "C_out", "stride", "output_padding"), spec[1:]))
    totals: dict = {}
    for name, impls in out["convolutions"].items():
        for impl, d in impls.items():
            if impl == "shape":
                continue
            for what in ("fwd", "bwd", "vmap_bwd"):
                if what + "_ms" in d:
                    key = f"{'up' if name.startswith('t') else 'down'}:{impl}:{what}"
                    totals[key] = totals.get(key, 0.0) + d[what + "_ms"]
    out["totals_ms"] = totals
    out["totals_are"] = "sum over the layers of one kind (down: strided convs, up: transposed convs) of best-round ms"
    out["exactness_max_rel_error_vs_plain"] = exactness
    return out


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.layer_study", description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="seconds: batch 2, 1 round, two layers, unoptimised compiles")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 64; 2 with --smoke)")
    p.add_argument("--rounds", type=int, default=None, help="timing rounds (default 7; 1 with --smoke)")
    p.add_argument("--out", default="results/bench_layers.json")
    args = p.parse_args(argv)
    if (args.batch is not None and args.batch < 1) or (args.rounds is not None and args.rounds < 1):
        p.error("--batch and --rounds must be positive.")
    return args


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    t_start = time.perf_counter()
    log = logger()
    if args.smoke:
        preset, options = "smoke", dict(SMOKE_OPTIONS)
        batch, rounds = args.batch or 2, args.rounds or 1
        layers = [layer for layer in LAYERS if layer[0] in ("conv4", "tconv4")]
        norms, parts = NORMS[3:4], ("fwd", "bwd", "vmap_bwd")
    else:
        preset, options = "full", {}
        batch, rounds = args.batch or 64, args.rounds or 7
        layers, norms, parts = LAYERS, NORMS, PARTS
    command = " ".join(["python -m benchmarks.layer_study", *argv])
    doc: dict = {"meta": metadata(command)}
    doc["meta"]["compiler_options"] = options
    doc["settings"] = {"preset": preset, "batch": batch, "rounds": rounds, "parts": list(parts), "dtype": "float32",
                       "timing": "best (and median) round of Timed(burst=3), all functions in the same rounds"}
    doc.update(study(batch, rounds, layers, norms, parts, options, log))
    doc["meta"]["loadavg_end"] = list(__import__("os").getloadavg())
    doc["meta"]["wall_s"] = time.perf_counter() - t_start
    doc = json.loads(json.dumps(doc, default=float))
    path = write_json(args.out, doc)
    log(f"wrote {path}")
    for key, ms in sorted(doc["totals_ms"].items()):
        print(f"{key:34s} {ms:8.2f} ms")
    return doc


if __name__ == "__main__":
    main()
