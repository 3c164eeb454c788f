"""Samplers for reverse-time SDEs, the probability-flow ODE and Langevin dynamics.

Every sampler is an immutable object following one protocol (`base.py`):

    sampler(key, sde, score_fn, x_init, ts, *, num_saves=None, chunk_size=None) -> (x, SampleInfo)

and runs through `sample(key, sde, score_fn, shape, n, method=sampler, steps=...)`:

- Diffrax, fixed steps: `EulerMaruyama()`, `Heun()`, `Milstein()`, `ShARK()`, `SRA1()`, or
  `DiffraxSDE(solver, ...)` for any other Diffrax solver.
- `lax.scan` step samplers: `EulerMaruyamaScan()`, `ReverseDiffusion()`, `Ancestral()`,
  `PredictorCorrector(predictor=..., snr=..., corrector_steps=...)`,
  `AnnealedLangevin(steps_per_level=..., step_lr=...)`; write your own as a `StepSampler`.
- Few-step solvers on their own noise schedules (`schedules`): `DDIM(eta=...)`,
  `DPMSolverPP(order=2)`, `DPMSolverPP2S()`, `UniPC()`, `EDMHeun()`, `EDMStochastic(s_churn=...)`; fixed-step
  flow predictors `EulerMaruyamaScan(probability_flow=True)`, `ReverseDiffusion(probability_flow=True)`.
- Adaptive: `ProbabilityFlowODE(solver=diffrax.Tsit5(), rtol=..., atol=...)`.
- `langevin(key, score_fn, x_init, step_size, steps)`: plain Langevin MCMC.
"""

from .api import sample, sample_with_info
from .base import AbstractSampler, SampleInfo, StepSampler, run_scan
from .batching import batch_score, map_batch
from .ddim import DDIM
from .diffrax_sde import SRA1, DiffraxSDE, EulerMaruyama, Heun, Milstein, ShARK, solve_sde
from .dpm_solver import DPMSolverPP, DPMSolverPP2S
from .edm import EDMHeun, EDMStochastic, heun_step
from .langevin import AnnealedLangevin, langevin
from .names import METHODS, SAMPLERS, from_name
from .ode import ProbabilityFlowODE, integrate_flow
from .predictor_corrector import PredictorCorrector, langevin_corrector_step
from .predictors import Ancestral, EulerMaruyamaScan, ReverseDiffusion
from .schedules import (
    KarrasSchedule,
    OnSchedule,
    logsnr_uniform,
    noise_to_signal,
    time_at_noise_level,
    time_geometric,
    time_uniform,
)
from .unipc import UniPC

__all__ = [
    "sample",
    "sample_with_info",
    "SampleInfo",
    "AbstractSampler",
    "StepSampler",
    "run_scan",
    "map_batch",
    "batch_score",
    "DiffraxSDE",
    "EulerMaruyama",
    "Heun",
    "Milstein",
    "ShARK",
    "SRA1",
    "solve_sde",
    "EulerMaruyamaScan",
    "ReverseDiffusion",
    "Ancestral",
    "PredictorCorrector",
    "langevin_corrector_step",
    "AnnealedLangevin",
    "langevin",
    "ProbabilityFlowODE",
    "integrate_flow",
    "DDIM",
    "DPMSolverPP",
    "DPMSolverPP2S",
    "UniPC",
    "EDMHeun",
    "EDMStochastic",
    "heun_step",
    "KarrasSchedule",
    "OnSchedule",
    "time_geometric",
    "logsnr_uniform",
    "time_uniform",
    "noise_to_signal",
    "time_at_noise_level",
    "METHODS",
    "SAMPLERS",
    "from_name",
]
