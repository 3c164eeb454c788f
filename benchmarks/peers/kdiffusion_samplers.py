"""k-diffusion's samplers (crowsonkb/k-diffusion 0.1.1.post1, `k_diffusion/sampling.py`) on the
exact 1-D mixture, against ours at equal NFE on the same σ schedule.

    pip install --no-deps k-diffusion==0.1.1.post1     # its sampling.py needs torch and scipy only
    python -m benchmarks.peers.kdiffusion_samplers     # results/peer_kdiffusion.{json,md}

k-diffusion is the implementation most users compare few-step samplers against.  Its samplers
integrate the probability-flow ODE of the VE SDE in σ, dx/dσ = (x − D(x, σ))/σ, with a
denoiser D(x, σ) = E[x_0 | x_σ]; a VE SDE's x_t is x_0 + σ(t) z, so under our
`VESDE(σ_min, σ_max)` the same D is the mixture's exact posterior mean, written here in torch
(ours takes the mixture's exact score).
The σ grid is `get_sigmas_karras(n, σ(eps), σ(T), ρ = 7)` with 0 appended (k-diffusion's own
schedule function): its last step, from σ(eps) to 0, returns D(x, σ(eps)), which is our
Tweedie end (`denoise=True`) at eps.  So at equal NFE:

  sample_heun       (n σ's: 2(n − 1) Heun evaluations + 1)  ≡  EDMHeun(KarrasSchedule(7)), steps = n
  sample_dpmpp_2m   (n σ's: n evaluations)                  ≡  DPMSolverPP(2, KarrasSchedule(7),
                                                                 lower_order_final=False), steps = n

Both start from the same samples of the exact p_T, so the outputs are compared draw for draw
(max |ours − theirs|) as well as by W1 to the exact p_0 (its CDF, `wasserstein1_to_mixture`).  Only `k_diffusion/sampling.py` is
loaded (`load_sampling`): the package's `__init__` imports its training stack (kornia, clip,
wandb, ...); torchdiffeq and torchsde, imported at the top of sampling.py for samplers not used
here, are stubbed when absent.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
import types

import jax
import numpy as np

import sdegen_jax as sg

VERSION = "0.1.1.post1"


def load_sampling():
    """`k_diffusion.sampling` without `k_diffusion/__init__.py` (see the module docstring)."""
    import torch

    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"k-diffusion is not installed: pip install --no-deps k-diffusion=={VERSION}")
    root = list(spec.submodule_search_locations)[0]
    for name in ("torchdiffeq", "torchsde"):
        if importlib.util.find_spec(name) is None:
            stub = types.ModuleType(name)
            stub.odeint = stub.BrownianTree = None  # used only by samplers this module does not run
            sys.modules[name] = stub
    package = types.ModuleType("k_diffusion")
    package.__path__ = [root]
    utils = types.ModuleType("k_diffusion.utils")

    def append_dims(x, target_dims):  # k_diffusion/utils.py's, verbatim
        dims_to_append = target_dims - x.ndim
        if dims_to_append < 0:
            raise ValueError(f"input has {x.ndim} dims but target_dims is {target_dims}, which is less")
        return x[(...,) + (None,) * dims_to_append]

    utils.append_dims = append_dims
    sys.modules.setdefault("k_diffusion", package)
    sys.modules["k_diffusion.utils"] = utils
    package.utils = utils
    sampling_spec = importlib.util.spec_from_file_location("k_diffusion.sampling", os.path.join(root, "sampling.py"))
    sampling = importlib.util.module_from_spec(sampling_spec)
    sampling_spec.loader.exec_module(sampling)
    del torch
    return sampling


def torch_mixture_denoiser(gmm):
    """D(x, σ) = E[x_0 | x_0 + σ z = x] of a 1-D Gaussian mixture, in torch (x: (N, 1), σ: (N,))."""
    import torch

    w = torch.tensor(np.asarray(gmm.weights), dtype=torch.float32)
    mu = torch.tensor(np.asarray(gmm.means).reshape(-1), dtype=torch.float32)
    s2 = torch.tensor(np.asarray(gmm.stds).reshape(-1) ** 2, dtype=torch.float32)

    def denoise(x, sigma):
        var = s2[None, :] + sigma[:, None] ** 2  # (N, K)
        log_r = torch.log(w)[None, :] - 0.5 * (x - mu[None, :]) ** 2 / var - 0.5 * torch.log(var)
        r = torch.softmax(log_r, dim=1)
        post = mu[None, :] + s2[None, :] / var * (x - mu[None, :])
        return (r * post).sum(dim=1, keepdim=True)

    return denoise


def compare(nfes=(10, 20, 40, 100), n=20_000, seed=0) -> dict:
    import torch

    sampling = load_sampling()
    gmm = sg.toy.seed002_mixture()
    sde = sg.sde.VESDE(0.01, 50.0)
    eps = sde.default_eps
    sigma_min, sigma_max = float(sde.marginal_coeffs(eps)[1]), float(sde.marginal_coeffs(sde.T)[1])
    x_T = np.asarray(gmm.marginal(sde, sde.T).sample(jax.random.key(seed), n), np.float32)
    denoiser = torch_mixture_denoiser(gmm)
    karras = sg.samplers.KarrasSchedule(7.0)
    pairs = {
        "heun": (lambda m: (m + 1) // 2, sampling.sample_heun, lambda: sg.samplers.EDMHeun(schedule=karras)),
        "dpmpp_2m": (lambda m: m, sampling.sample_dpmpp_2m,
                     lambda: sg.samplers.DPMSolverPP(order=2, schedule=karras, lower_order_final=False)),
    }
    rows = []
    for name, (points_for, theirs, ours) in pairs.items():
        for nfe in nfes:
            points = points_for(nfe)  # n σ's before the appended 0
            sigmas = sampling.get_sigmas_karras(points, sigma_min, sigma_max, rho=7.0)
            t0 = time.perf_counter()
            with torch.no_grad():
                x_k = theirs(denoiser, torch.from_numpy(x_T.copy()), sigmas, disable=True).numpy()
            t_k = time.perf_counter() - t0
            t0 = time.perf_counter()
            x_o, info = sg.sample_with_info(jax.random.key(seed + 2), sde, gmm.score_fn(sde), x_init=x_T, method=ours(),
                                            steps=points, eps=eps, denoise=True)  # denoise: points − 1 steps + Tweedie
            x_o = np.asarray(jax.block_until_ready(x_o))
            t_o = time.perf_counter() - t0
            rows.append(dict(
                sampler=name, nfe_theirs=(2 * (points - 1) + 1) if name == "heun" else points, nfe_ours=int(info.nfe),
                w1_theirs=float(sg.metrics.wasserstein1_to_mixture(x_k, gmm)),
                w1_ours=float(sg.metrics.wasserstein1_to_mixture(x_o, gmm)),
                max_abs_diff=float(np.max(np.abs(x_o - x_k))), seconds_theirs=t_k, seconds_ours_with_compile=t_o))
    noise = float(sg.metrics.expected_w1_noise_floor(gmm, n))
    return {"rows": rows, "w1_noise_level": noise, "n": n, "sde": "VESDE(0.01, 50)", "target": "seed002_mixture",
            "sigma_min": sigma_min, "sigma_max": sigma_max, "k_diffusion": VERSION, "torch": torch.__version__}


def main(argv=None) -> dict:
    from sdegen_jax.provenance import run_metadata
    from sdegen_jax.results import markdown_table, write_results

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nfes", type=int, nargs="+", default=[10, 20, 40, 100])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--out-dir", default="results")
    args = p.parse_args(argv)
    meta = run_metadata("python -m benchmarks.peers.kdiffusion_samplers" + (" " + " ".join(argv) if argv else ""))
    res = compare(tuple(args.nfes), args.n)
    cols = [("sampler", "sampler", ""), ("nfe_theirs", "NFE k-diffusion", "d"), ("nfe_ours", "NFE ours", "d"),
            ("w1_theirs", "W1 k-diffusion", ".4f"), ("w1_ours", "W1 ours", ".4f"), ("max_abs_diff", "max |ours − theirs|", ".2e")]
    md = "\n\n".join([
        f"k-diffusion {res['k_diffusion']} (torch {res['torch']}) against sdegen_jax on the exact {res['target']} under "
        f"{res['sde']}, the same {res['n']:,} samples of the exact p_T, σ from {res['sigma_max']:.4g} to "
        f"{res['sigma_min']:.4g} on the ρ = 7 schedule (k-diffusion's get_sigmas_karras), then 0.  W1 to the exact "
        f"p_0; the sampling noise level, an upper bound on the expected W1 of {res['n']:,} exact samples "
        f"(`expected_w1_noise_floor`), is {res['w1_noise_level']:.4f}.",
        markdown_table(res["rows"], cols)])
    paths = write_results(args.out_dir, "peer_kdiffusion", res, command=meta["command"], metadata=meta, markdown=md)
    print(markdown_table(res["rows"], cols))
    return {**res, **paths}


if __name__ == "__main__":
    main()
