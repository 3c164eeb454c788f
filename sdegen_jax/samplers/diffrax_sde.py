"""Fixed-step SDE solving with Diffrax, for a batch of samples.

The state is the whole batch, flattened to one vector: the per-sample drift and
diffusion are vmapped inside the vector fields and the noise is diagonal
(`lineax.DiagonalLinearOperator`, never a dense matrix).  Solving the batch as one
state keeps diffrax's loop unbatched; a vmapped `diffeqsolve` ran about 1.2× slower
than the hand-written scan in our measurements (benchmarks/samplers.py).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import diffrax as dfx
import jax
import jax.numpy as jnp
import lineax as lx

from .._checks import check_choice


class SolverSpec(NamedTuple):
    make: Callable[[], dfx.AbstractSolver]
    drift_evals_per_step: int
    levy_area: type
    # ItoMilstein forms the dense Jacobian of the diffusion (size D×D for a D-dim state),
    # so it is vmapped over samples: D is then one sample's size, not the batch's.
    per_sample: bool = False


# Per-step drift (score) evaluations, verified by counting in tests/test_samplers.py.
# Heun converges to the Stratonovich solution, which equals the Itô one for the
# additive noise of every reverse SDE here.  ShARK and SRA1 need additive noise.
SDE_SOLVERS = {
    "euler_maruyama": SolverSpec(dfx.Euler, 1, dfx.BrownianIncrement),
    "heun": SolverSpec(dfx.Heun, 2, dfx.BrownianIncrement),
    "milstein": SolverSpec(dfx.ItoMilstein, 1, dfx.BrownianIncrement, per_sample=True),
    "srk": SolverSpec(dfx.ShARK, 2, dfx.SpaceTimeLevyArea),
    "sra1": SolverSpec(dfx.SRA1, 2, dfx.SpaceTimeLevyArea),
}


def solve_sde(
    drift: Callable,
    diffusion: Callable,
    x0: jax.Array,
    t0: float,
    t1: float,
    *,
    steps: int,
    solver: str = "euler_maruyama",
    key: jax.Array | None = None,
    brownian_motion: dfx.AbstractBrownianPath | None = None,
    save_ts: jax.Array | None = None,
):
    """Solve dx = drift(x, t) dt + diffusion(x, t) ∘ dW on [t0, t1] with `steps` equal steps.

    `drift` and `diffusion` act on one sample; `x0` is a batch (n, *shape).  The noise is
    an `UnsafeBrownianPath` from `key` (fast, forward-mode only) unless a Brownian path
    over the flattened batch is given (e.g. a `VirtualBrownianTree` for strong-error
    studies).  Returns (x_t1, path or None, num_steps); the path is (n, len(save_ts), *shape).
    """
    check_choice("solver", solver, SDE_SOLVERS)
    spec = SDE_SOLVERS[solver]
    if spec.per_sample and brownian_motion is None and x0.shape[0] > 1:
        if key is None:
            raise ValueError("solve_sde needs a `key` (or an explicit `brownian_motion`).")

        def one(k, x):
            x, path, num_steps = solve_sde(
                drift, diffusion, x[None], t0, t1, steps=steps, solver=solver, key=k, save_ts=save_ts
            )
            return x[0], None if path is None else path[0], num_steps

        x, path, num_steps = jax.vmap(one)(jax.random.split(key, x0.shape[0]), x0)
        return x, path, num_steps[0]
    batch_shape = x0.shape

    def unflat(y):
        return y.reshape(batch_shape)

    def drift_vf(t, y, args):
        return jax.vmap(drift, in_axes=(0, None))(unflat(y), t).reshape(-1)

    def diffusion_vf(t, y, args):
        return lx.DiagonalLinearOperator(jax.vmap(diffusion, in_axes=(0, None))(unflat(y), t).reshape(-1))

    if brownian_motion is None:
        if key is None:
            raise ValueError("solve_sde needs a `key` (or an explicit `brownian_motion`).")
        brownian_motion = dfx.UnsafeBrownianPath(shape=(x0.size,), key=key, levy_area=spec.levy_area)
    terms = dfx.MultiTerm(dfx.ODETerm(drift_vf), dfx.ControlTerm(diffusion_vf, brownian_motion))
    saveat = dfx.SaveAt(t1=True) if save_ts is None else dfx.SaveAt(ts=save_ts)
    sol = dfx.diffeqsolve(
        terms,
        spec.make(),
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


def reverse_sde_diffrax(key, sde, score_fn, x_init, ts, *, solver: str = "euler_maruyama", num_saves=None):
    """Sample the reverse SDE along the decreasing grid `ts` (uniform) with a diffrax solver.

    Integrates in s = T − t from s = T − ts[0] to T − ts[−1] (diffrax #598).  Returns
    (x, path, nfe).
    """
    from ..sde.reverse import ReverseSDE

    check_choice("solver", solver, SDE_SOLVERS)
    rev = ReverseSDE(sde, score_fn)
    T = sde.T
    steps = ts.shape[0] - 1
    save_s = None if not num_saves else T - ts[:: steps // num_saves]
    x, path, num_steps = solve_sde(
        rev.drift_in_reversed_time,
        rev.diffusion_in_reversed_time,
        x_init,
        T - ts[0],
        T - ts[-1],
        steps=steps,
        solver=solver,
        key=key,
        save_ts=save_s,
    )
    return x, path, num_steps * SDE_SOLVERS[solver].drift_evals_per_step
