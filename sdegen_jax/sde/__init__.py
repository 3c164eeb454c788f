"""Forward SDEs as immutable pytrees, and their time reversals."""

from .base import SDE, LinearSDE
from .gbm import GeometricBrownianMotion
from .ou import OUSDE
from .reverse import ReverseSDE, StateScore, probability_flow, tweedie_denoise
from .subvp import SubVPSDE
from .tutorial_ve import TutorialVESDE
from .ve import VESDE
from .vp import VPSDE

__all__ = [
    "SDE",
    "LinearSDE",
    "VESDE",
    "VPSDE",
    "SubVPSDE",
    "OUSDE",
    "TutorialVESDE",
    "GeometricBrownianMotion",
    "ReverseSDE",
    "StateScore",
    "probability_flow",
    "tweedie_denoise",
]
