"""DDPM, the discrete ancestor of the VP SDE (seed 003 §3.3–3.4; Ho et al. 2020): the β schedule,
the simple ε loss, the variational bound in bits/dim, ancestral and DDIM sampling, and the
conversions that make a DDPM ε-network a VP-SDE score network.  Pure JAX; no Flax."""

from .bound import discretized_gaussian_log_likelihood, gaussian_kl, kl_terms, variational_bound
from .conversions import EpsFromScore, ScoreFromEps
from .loss import simple_loss
from .sampling import ancestral_sample, ddim_sample, strided_steps
from .schedule import DDPMSchedule

__all__ = [
    "DDPMSchedule",
    "simple_loss",
    "variational_bound",
    "kl_terms",
    "gaussian_kl",
    "discretized_gaussian_log_likelihood",
    "ancestral_sample",
    "ddim_sample",
    "strided_steps",
    "EpsFromScore",
    "ScoreFromEps",
]
