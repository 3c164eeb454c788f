"""Fixed-step reverse-SDE sampling with Diffrax solvers, for a batch of samples.

The state is the whole batch, flattened to one vector: the per-sample drift and diffusion
are mapped over the batch inside the vector fields (`batching.map_batch`, optionally in
chunks) and the noise is diagonal (`lineax.DiagonalLinearOperator`, never a dense matrix).
Solving the batch as one state keeps Diffrax's loop unbatched; a vmapped `diffeqsolve` ran
about 1.2× slower than the hand-written scan in our measurements (benchmarks/samplers.py).

Diffrax's SRK solvers are wrong with negative `dt0` (diffrax #598), so the reverse SDE is
solved in the forward time s = T − t.
"""

from __future__ import annotations

from typing import Callable

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from .._checks import check_int_at_least
from ..sde.reverse import ReverseSDE
from .base import AbstractSampler, SampleInfo, saved_times
from .batching import map_batch

__all__ = ["solve_sde", "DiffraxSDE", "EulerMaruyama", "Heun", "Milstein", "ShARK", "SRA1"]


def solve_sde(
    drift: Callable,
    diffusion: Callable,
    x0: jax.Array,
    t0: float,
    t1: float,
    *,
    steps: int,
    solver: dfx.AbstractSolver | None = None,
    levy_area: type = dfx.BrownianIncrement,
    per_sample: bool = False,
    key: jax.Array | None = None,
    brownian_motion: dfx.AbstractBrownianPath | None = None,
    save_ts: jax.Array | None = None,
    chunk_size: int | None = None,
):
    """Solve dx = drift(x, t) dt + diffusion(x, t) dW on [t0, t1] with `steps` equal steps.

    `drift` and `diffusion` act on one sample; `x0` is a batch (n, *shape); `solver` is any
    Diffrax SDE solver (default Euler–Maruyama) and `levy_area` the Lévy area it needs.  The
    noise is an `UnsafeBrownianPath` from `key` (fast, forward-mode only) unless a Brownian
    path over the flattened batch is given (e.g. a `VirtualBrownianTree` for strong-error
    studies).  `per_sample=True` solves each sample separately (vmapped), for solvers that
    form the dense Jacobian of the diffusion (ItoMilstein).  Returns (x_t1, path or None,
    num_steps); the path is (n, len(save_ts), *shape).
    """
    solver = dfx.Euler() if solver is None else solver
    if per_sample and brownian_motion is None and x0.shape[0] > 1:
        if key is None:
            raise ValueError("solve_sde needs a `key` (or an explicit `brownian_motion`).")

        def one(k, x):
            x, path, num_steps = solve_sde(
                drift, diffusion, x[None], t0, t1, steps=steps, solver=solver, levy_area=levy_area, key=k,
                save_ts=save_ts,
            )
            return x[0], None if path is None else path[0], num_steps

        x, path, num_steps = map_batch(one, chunk_size)(jax.random.split(key, x0.shape[0]), x0)
        return x, path, num_steps[0]
    batch_shape = x0.shape

    def drift_vf(t, y, args):
        return map_batch(lambda xi: drift(xi, t), chunk_size)(y.reshape(batch_shape)).reshape(-1)

    def diffusion_vf(t, y, args):
        g = jax.vmap(diffusion, in_axes=(0, None))(y.reshape(batch_shape), t)
        return lx.DiagonalLinearOperator(g.reshape(-1))

    if brownian_motion is None:
        if key is None:
            raise ValueError("solve_sde needs a `key` (or an explicit `brownian_motion`).")
        brownian_motion = dfx.UnsafeBrownianPath(shape=(x0.size,), key=key, levy_area=levy_area)
    terms = dfx.MultiTerm(dfx.ODETerm(drift_vf), dfx.ControlTerm(diffusion_vf, brownian_motion))
    saveat = dfx.SaveAt(t1=True) if save_ts is None else dfx.SaveAt(ts=save_ts)
    sol = dfx.diffeqsolve(
        terms,
        solver,
        t0,
        t1,
        dt0=(t1 - t0) / steps,
        y0=x0.reshape(-1),
        saveat=saveat,
        stepsize_controller=dfx.ConstantStepSize(),
        adjoint=dfx.ForwardMode(),
        max_steps=steps,
    )
    ys = sol.ys.reshape((-1,) + batch_shape)
    path = None if save_ts is None else jnp.moveaxis(ys, 0, 1)
    return ys[-1], path, sol.stats["num_steps"]


class DiffraxSDE(AbstractSampler):
    """The reverse SDE dx = [f − g² s] dt + g dw̄ solved by a Diffrax solver with equal steps.

    Fields:
      solver: any Diffrax SDE solver for additive or diagonal noise.
      nfe_per_step: score evaluations per step (for the NFE).
      levy_area: the Lévy area the solver needs (`dfx.BrownianIncrement` or
        `dfx.SpaceTimeLevyArea`).
      per_sample: solve each sample separately (for solvers that form the dense Jacobian of
        the diffusion, e.g. ItoMilstein, whose cost then grows with one sample's size squared).

    The named solvers below are this class with their settings; each is tested against the
    exact marginals of Gaussian mixtures and (on geometric Brownian motion) its strong order.
    """

    solver: dfx.AbstractSolver
    nfe_per_step: int = eqx.field(default=1, static=True)
    levy_area: type = eqx.field(default=dfx.BrownianIncrement, static=True)
    per_sample: bool = eqx.field(default=False, static=True)

    def __check_init__(self):
        check_int_at_least("nfe_per_step", self.nfe_per_step, 1)

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        """Integrates in s = T − t from T − ts[0] to T − ts[−1] (uniform grid, diffrax #598)."""
        rev = ReverseSDE(sde, score_fn)
        T = sde.T
        steps = ts.shape[0] - 1
        save_ts = saved_times(ts, num_saves)
        x, path, num_steps = solve_sde(
            rev.drift_in_reversed_time,
            rev.diffusion_in_reversed_time,
            x_init,
            T - ts[0],
            T - ts[-1],
            steps=steps,
            solver=self.solver,
            levy_area=self.levy_area,
            per_sample=self.per_sample,
            key=key,
            save_ts=None if save_ts is None else T - save_ts,
            chunk_size=chunk_size,
        )
        return x, SampleInfo(num_steps * self.nfe_per_step, num_steps, save_ts, path)


# Per-step drift (score) evaluations verified by counting in tests/test_samplers.py.  Heun
# converges to the Stratonovich solution, which equals the Itô one for the additive noise of
# every reverse SDE here.  ShARK and SRA1 need additive noise.


class EulerMaruyama(DiffraxSDE):
    """Euler–Maruyama (`diffrax.Euler`), one score evaluation per step."""

    def __init__(self):
        self.solver, self.nfe_per_step = dfx.Euler(), 1


class Heun(DiffraxSDE):
    """Heun's method (`diffrax.Heun`), two score evaluations per step."""

    def __init__(self):
        self.solver, self.nfe_per_step = dfx.Heun(), 2


class Milstein(DiffraxSDE):
    """Itô–Milstein (`diffrax.ItoMilstein`), solved per sample (it forms the diffusion's
    Jacobian).  For the additive noise of reverse SDEs it equals Euler–Maruyama; it is there
    for state-dependent noise (see `sg.sde.GeometricBrownianMotion`)."""

    def __init__(self):
        self.solver, self.nfe_per_step, self.per_sample = dfx.ItoMilstein(), 1, True


class ShARK(DiffraxSDE):
    """ShARK (`diffrax.ShARK`), a stochastic Runge–Kutta method for additive noise; two score
    evaluations per step, space-time Lévy area."""

    def __init__(self):
        self.solver, self.nfe_per_step, self.levy_area = dfx.ShARK(), 2, dfx.SpaceTimeLevyArea


class SRA1(DiffraxSDE):
    """SRA1 (`diffrax.SRA1`), Rößler's order-1.5 method for additive noise; two score
    evaluations per step, space-time Lévy area."""

    def __init__(self):
        self.solver, self.nfe_per_step, self.levy_area = dfx.SRA1(), 2, dfx.SpaceTimeLevyArea
