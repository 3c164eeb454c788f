"""The bare minimum a reverse-SDE sampler costs: the references the library's samplers are
timed against (`benchmarks.samplers`, section "overhead").

Both sample the reverse VE SDE σ(t) = σ_min (σ_max/σ_min)^t on the grid
linspace(1, eps, steps + 1) with a per-sample `score_fn(x, t)` closed over (so XLA sees its
parameters as constants, as a hand-written script would):

- `bare_scan_em`: one jitted `lax.scan`, keys split up front, x ← x + g² s dt + g sqrt(dt) z;
- `minimal_diffeqsolve_em`: the fewest lines of Diffrax that do the same: `diffeqsolve` with
  `Euler`, an `UnsafeBrownianPath`, diagonal noise and constant steps, in the forward time
  s = 1 − t (what `sg.samplers.EulerMaruyama()` also does).
"""

from __future__ import annotations

from typing import Callable

import diffrax as dfx
import jax
import jax.numpy as jnp
import lineax as lx

ScoreFn = Callable[[jax.Array, jax.Array], jax.Array]


def _ve_g(t, sigma_min, log_ratio):
    return sigma_min * jnp.exp(t * log_ratio) * jnp.sqrt(2.0 * log_ratio)


def bare_scan_em(score_fn: ScoreFn, *, sigma_min: float, sigma_max: float, steps: int, eps: float = 1e-5):
    """`sample(key, x_init) -> x at eps`, the hand-written reverse Euler–Maruyama scan."""
    log_ratio = jnp.log(sigma_max / sigma_min)
    batched = jax.vmap(score_fn, in_axes=(0, None))

    @jax.jit
    def sample(key, x_init):
        ts = jnp.linspace(1.0, eps, steps + 1, dtype=x_init.dtype)

        def body(x, inp):
            k, t, t_next = inp
            dt = t - t_next
            g = _ve_g(t, sigma_min, log_ratio)
            z = jax.random.normal(k, x.shape, x.dtype)
            return x + g**2 * batched(x, t) * dt + g * jnp.sqrt(dt) * z, None

        x, _ = jax.lax.scan(body, x_init, (jax.random.split(key, steps), ts[:-1], ts[1:]))
        return x

    return sample


def minimal_diffeqsolve_em(score_fn: ScoreFn, *, sigma_min: float, sigma_max: float, steps: int, eps: float = 1e-5):
    """`sample(key, x_init) -> x at eps`, the reverse SDE through a minimal `diffrax.diffeqsolve`."""
    log_ratio = jnp.log(sigma_max / sigma_min)
    batched = jax.vmap(score_fn, in_axes=(0, None))

    @jax.jit
    def sample(key, x_init):
        shape = x_init.shape

        def drift(s, y, args):  # dx/ds = g(t)² score(x, t), t = 1 − s
            t = 1.0 - s
            return (_ve_g(t, sigma_min, log_ratio) ** 2 * batched(y.reshape(shape), t)).reshape(-1)

        def diffusion(s, y, args):
            return lx.DiagonalLinearOperator(jnp.full(y.shape, _ve_g(1.0 - s, sigma_min, log_ratio), y.dtype))

        bm = dfx.UnsafeBrownianPath(shape=(x_init.size,), key=key, levy_area=dfx.BrownianIncrement)
        terms = dfx.MultiTerm(dfx.ODETerm(drift), dfx.ControlTerm(diffusion, bm))
        sol = dfx.diffeqsolve(
            terms, dfx.Euler(), 0.0, 1.0 - eps, dt0=(1.0 - eps) / steps, y0=x_init.reshape(-1),
            saveat=dfx.SaveAt(t1=True), stepsize_controller=dfx.ConstantStepSize(), adjoint=dfx.ForwardMode(),
            max_steps=steps,
        )
        return sol.ys[-1].reshape(shape)

    return sample
