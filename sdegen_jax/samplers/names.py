"""String names of the library's samplers, for command lines: `from_name("pc", snr=0.16)`.

In code, pass sampler objects (`sg.samplers.PredictorCorrector(snr=0.16)`) to `sample`; a
name there means the sampler with its default settings.
"""

from __future__ import annotations

import functools

from .ddim import DDIM
from .diffrax_sde import SRA1, EulerMaruyama, Heun, Milstein, ShARK
from .dpm_solver import DPMSolverPP, DPMSolverPP2S
from .edm import EDMHeun, EDMStochastic
from .langevin import AnnealedLangevin
from .ode import ProbabilityFlowODE
from .predictor_corrector import PredictorCorrector
from .predictors import Ancestral, EulerMaruyamaScan, ReverseDiffusion
from .unipc import UniPC

__all__ = ["SAMPLERS", "METHODS", "from_name"]

SAMPLERS = {
    "euler_maruyama": EulerMaruyama,
    "heun": Heun,
    "milstein": Milstein,
    "srk": ShARK,
    "sra1": SRA1,
    "pc": PredictorCorrector,
    "reverse_diffusion": ReverseDiffusion,
    "ancestral": Ancestral,
    "euler_maruyama_scan": EulerMaruyamaScan,
    "annealed_langevin": AnnealedLangevin,
    "ode": ProbabilityFlowODE,
    "euler_flow": functools.partial(EulerMaruyamaScan, probability_flow=True),
    "reverse_diffusion_flow": functools.partial(ReverseDiffusion, probability_flow=True),
    "ddim": DDIM,
    "dpmpp_2m": DPMSolverPP,
    "dpmpp_2s": DPMSolverPP2S,
    "unipc": UniPC,
    "edm_heun": EDMHeun,
    "edm_stochastic": EDMStochastic,
}
METHODS = tuple(SAMPLERS)


def from_name(name: str, **options):
    """The sampler called `name` (one of `METHODS`), built with `options` as its fields."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}, or pass a sampler object.")
    try:
        return SAMPLERS[name](**options)
    except TypeError as e:
        raise ValueError(f"sampler {name!r} does not take {sorted(options)}: {e}") from None
