"""Exact log-likelihoods of score models through the probability-flow ODE, and bits/dim.

    lik = sg.likelihood.log_likelihood(key, sde, score_fn, x)            # nats per sample
    bpd, lik = sg.likelihood.bits_per_dim(key, sde, score_fn, pixels_0_255, scale="unit")

Pure JAX and Diffrax (no Flax): in-device, jit-compiled, vmapped per sample.
"""

from .dequantization import SCALES, bits_per_dim, bits_per_dim_from_logp, dequantize, to_pixels
from .divergence import PROBES, exact_divergence, hutchinson_divergence, sample_probes
from .ode_likelihood import DIVERGENCES, Likelihood, log_likelihood

__all__ = [
    "log_likelihood",
    "Likelihood",
    "bits_per_dim",
    "bits_per_dim_from_logp",
    "dequantize",
    "to_pixels",
    "exact_divergence",
    "hutchinson_divergence",
    "sample_probes",
    "DIVERGENCES",
    "PROBES",
    "SCALES",
]
