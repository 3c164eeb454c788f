"""sdegen_jax: generative models built on stochastic differential equations, in JAX.

    import jax
    import sdegen_jax as sg

    sde = sg.sde.VESDE(0.001, 10.0)                          # sigma_min, sigma_max (T by keyword)
    gmm = sg.toy.seed002_mixture()                           # exact p_0, p_t and scores
    x, info = sg.sample_with_info(jax.random.key(0), sde, gmm.score_fn(sde), shape=(1,), n=10_000,
                                  method=sg.samplers.EulerMaruyama(), steps=1000)

One calling convention throughout:

- A score is a function of ONE sample and a scalar time, `score_fn(x, t) -> ∇_x log p_t(x)`
  (x of any shape; time-independent targets ignore t).  The library vmaps it over batches;
  samplers can evaluate it in chunks (`chunk_size`).  Networks' per-sample `model_fn(x, t)`
  (a score, ε or x0 prediction) follow the same convention in the losses.
- Randomness comes from an explicit `key`, the first argument of every sampler and loss:
  `sample(key, sde, score_fn, ...)`, `denoising_score_matching(key, sde, model_fn, x0)`,
  `sliced_score_matching(key, score_fn, x)`.
- SDE methods act on one sample; batches carry a leading axis everywhere else.

The core (`sde`, `bsde`, `likelihood`, `controllable`, `toy`, `samplers`, and the lazily loaded
`ddpm`, `ncsn`) imports no Flax; `functional`, `losses`, `nets`, `train`,
`data`, `metrics`, `plots`, `provenance`, `results` and `classic` (pPCA, VAE, RealNVP, GANs) are
loaded on first use.
"""

import importlib

from . import bsde, controllable, likelihood, samplers, sde, toy
from .samplers import SampleInfo, langevin, sample, sample_with_info

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("ddpm", "ncsn", "classic", "functional", "losses", "nets", "train", "data", "metrics", "plots", "provenance", "results")

__all__ = ["sde", "bsde", "likelihood", "controllable", "toy", "samplers", *_LAZY_SUBMODULES, "sample", "sample_with_info", "langevin", "SampleInfo"]


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
