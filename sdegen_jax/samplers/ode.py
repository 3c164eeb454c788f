"""Probability-flow ODE with an adaptive Diffrax solver (Song et al. 2021, §4.3).

dx/dt = f − ½ g² ∇ log p_t, integrated with an adaptive Runge–Kutta method (Tsit5 by
default) and a PID step-size controller: from T to eps to sample, from eps to T to encode
(`integrate_flow`).  The batch is one ODE state (joint error control, as in the reference
implementation).
"""

from __future__ import annotations

from typing import ClassVar

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_int_at_least, check_positive
from ..sde.reverse import probability_flow
from .base import AbstractSampler, SampleInfo, saved_times
from .batching import map_batch

__all__ = ["evals_per_step", "integrate_flow", "ProbabilityFlowODE"]


def evals_per_step(solver) -> tuple[int, int]:
    """(new vector-field evaluations per attempted step, evaluations before the first step)
    of an explicit Runge–Kutta solver, from its Butcher tableau: FSAL methods reuse the last
    stage (Tsit5, Dopri5: 7 stages, 6 new per step, 1 up front)."""
    tableau = getattr(solver, "tableau", None)
    if tableau is None:
        raise ValueError(
            f"cannot count the score evaluations of {type(solver).__name__} (no Butcher tableau); "
            "give ProbabilityFlowODE(..., evals_per_step=...) explicitly."
        )
    stages = len(tableau.b_sol)
    return (stages - 1, 1) if tableau.fsal else (stages, 0)


def integrate_flow(
    sde,
    score_fn,
    x,
    t0,
    t1,
    *,
    solver: dfx.AbstractSolver | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    max_steps: int = 4096,
    save_ts=None,
    chunk_size: int | None = None,
):
    """Integrate the flow ODE dx/dt = f − ½ g² ∇ log p_t (Song et al. 2021, eq. 13) from t0 to t1.

    Either direction: t0 > t1 generates (T → eps), t0 < t1 encodes (eps → T); Diffrax
    integrates backwards in time natively.  The batch x (n, *shape) is one ODE state.
    Returns (ys, num_steps): ys holds x at every time of `save_ts` (ordered from t0 to t1),
    or only x(t1) with a leading axis of 1 when `save_ts` is None; num_steps counts every
    attempted step (accepted or rejected).
    """
    solver = dfx.Tsit5() if solver is None else solver
    flow = probability_flow(sde, score_fn)
    shape = x.shape

    def vf(t, y, args):
        return map_batch(lambda xi: flow.drift(xi, t), chunk_size)(y.reshape(shape)).reshape(-1)

    sol = dfx.diffeqsolve(
        dfx.ODETerm(vf),
        solver,
        t0,
        t1,
        dt0=None,
        y0=x.reshape(-1),
        saveat=dfx.SaveAt(t1=True) if save_ts is None else dfx.SaveAt(ts=save_ts),
        stepsize_controller=dfx.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        adjoint=dfx.ForwardMode(),
    )
    return sol.ys.reshape((-1,) + shape), sol.stats["num_steps"]


class ProbabilityFlowODE(AbstractSampler):
    """Sample by integrating the probability-flow ODE from ts[0] to ts[−1] adaptively.

    Fields: `solver` (an explicit Runge–Kutta Diffrax solver, default Tsit5), `rtol`, `atol`,
    `max_steps`, and `evals_per_step` (None: counted from the solver's Butcher tableau).
    Deterministic (the key is unused).  The grid's interior is ignored: the solver chooses its
    steps, and a saved path is recorded at the grid times.  NFE counts every attempted step
    (accepted or rejected) plus the evaluations before the first step.
    """

    adaptive: ClassVar[bool] = True

    solver: dfx.AbstractSolver = dfx.Tsit5()
    rtol: float = 1e-5
    atol: float = 1e-5
    max_steps: int = eqx.field(default=4096, static=True)
    evals_per_step: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        check_positive("rtol", self.rtol, "Song et al. use rtol = atol = 1e-5.")
        check_positive("atol", self.atol, "Song et al. use rtol = atol = 1e-5.")
        check_int_at_least("max_steps", self.max_steps, 1)
        if self.evals_per_step is None:
            evals_per_step(self.solver)  # fail now if it cannot be counted

    def nfe(self, num_steps):
        per_step, initial = (self.evals_per_step, 0) if self.evals_per_step else evals_per_step(self.solver)
        return per_step * num_steps + initial

    def integrate(self, sde, score_fn, x, t0, t1, *, save_ts=None, chunk_size=None):
        """The batch x (n, *shape) carried from t0 to t1 (either direction: t0 < t1 encodes);
        returns (ys, SampleInfo) with ys as in `integrate_flow`."""
        ys, num_steps = integrate_flow(
            sde, score_fn, x, t0, t1, solver=self.solver, rtol=self.rtol, atol=self.atol,
            max_steps=self.max_steps, save_ts=save_ts, chunk_size=chunk_size,
        )
        return ys, SampleInfo(self.nfe(num_steps), num_steps)

    def __call__(self, key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None):
        del key  # deterministic
        save_ts = saved_times(ts, num_saves)
        ys, info = self.integrate(sde, score_fn, x_init, ts[0], ts[-1], save_ts=save_ts, chunk_size=chunk_size)
        path = jnp.moveaxis(ys, 0, 1) if num_saves else None
        return ys[-1], SampleInfo(info.nfe, info.num_steps, save_ts, path)
