"""sdegen_jax: generative models built on stochastic differential equations, in JAX.

    import sdegen_jax as sg
    sde = sg.sde.VESDE(sigma_min=0.001, sigma_max=10.0)
    gmm = sg.toy.GaussianMixture(weights=[0.3, 0.7], means=[[-5.0], [5.0]], stds=[[2.0], [2.0]])
    x = sg.sample(key, sde, gmm.score_fn(sde), shape=(1,), n=10_000, method="euler_maruyama")
"""

from . import data, metrics, samplers, sde, toy
from .samplers import METHODS, SampleInfo, langevin, sample, sample_with_info

__version__ = "0.1.0"

__all__ = ["sde", "toy", "samplers", "metrics", "data", "sample", "sample_with_info", "langevin", "METHODS", "SampleInfo"]
