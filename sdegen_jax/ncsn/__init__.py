"""NCSN (seed 001 §2.3; Song & Ermon 2019): geometric noise levels as the SMLD discretisation
of the VE SDE, the weighted multi-level DSM loss, and annealed Langevin sampling.  Pure JAX."""

from .levels import NoiseLevels
from .loss import multilevel_dsm_loss
from .sampling import annealed_langevin

__all__ = ["NoiseLevels", "multilevel_dsm_loss", "annealed_langevin"]
