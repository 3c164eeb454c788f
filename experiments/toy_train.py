"""Train a time-conditioned MLP score on a 2-D toy distribution, end to end.

`python -m experiments.toy_train` learns the score of the 8-Gaussian ring (or moons,
checkerboard, swiss roll) by denoising score matching, with the sharded train step,
EMA, orbax checkpoints and resume, then samples with Euler–Maruyama and the
probability-flow ODE.  For the ring the samples are scored by sliced W1 against the
exact mixture.  Interrupt it at any point and run the same command again: it resumes
from the last checkpoint and ends at exactly the same parameters.
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import numpy as np
from flax import nnx

import sdegen_jax as sg
from experiments._cli import command_for, parse_config, start_metadata, read_training_log
from sdegen_jax import train
from sdegen_jax.data import SampledBatches
from sdegen_jax.results import write_results


@dataclasses.dataclass
class Config:
    dataset: str = "ring"  # ring | two_moons | checkerboard | swiss_roll
    sde: str = "vp"  # vp | ve | subvp
    num_steps: int = 4000
    batch_size: int = 512
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    ema_decay: float = 0.999
    width: int = 128
    depth: int = 3
    seed: int = 0
    num_samples: int = 10_000
    sample_steps: int = 500
    samplers: str = "euler_maruyama,ode"  # comma-separated; empty to skip sampling
    checkpoint_dir: str = "checkpoints/toy_train"
    checkpoint_every: int = 500
    log_every: int = 50
    fresh: bool = False  # delete existing checkpoints instead of resuming
    out_dir: str = "results"
    save_params: str = ""  # optional .npz of the final params (for tests)
    precision: str = "fp32"  # fp32 | bf16 (mixed: float32 parameters, bfloat16 compute)
    tag: str = "toy_train"  # name of the results files
    progress: bool = True
    quick: bool = False  # seconds, for CI

    @classmethod
    def quick_overrides(cls):
        return dict(num_steps=200, batch_size=128, num_samples=2000, sample_steps=100, checkpoint_every=100, log_every=20)


SDES = {"vp": lambda: sg.sde.VPSDE(), "subvp": lambda: sg.sde.SubVPSDE(), "ve": lambda: sg.sde.VESDE(0.01, 20.0)}
PRECISIONS = {"fp32": None, "bf16": jax.numpy.bfloat16}
SAMPLERS = {"euler_maruyama": sg.samplers.EulerMaruyama(), "ode": sg.samplers.ProbabilityFlowODE()}


def _sampler(dataset: str):
    if dataset == "ring":
        ring = sg.toy.ring_mixture(8, radius=4.0, std=0.5)
        return ring.sample, ring
    if dataset not in sg.toy.TOY2D:
        raise ValueError(f"unknown dataset {dataset!r}; choose 'ring' or one of {sorted(sg.toy.TOY2D)}.")
    return sg.toy.TOY2D[dataset], None


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__)
    meta = start_metadata("toy_train", argv)
    if cfg.sde not in SDES:
        raise ValueError(f"unknown sde {cfg.sde!r}; choose one of {sorted(SDES)}.")
    sde = SDES[cfg.sde]()
    sampler, exact = _sampler(cfg.dataset)
    mesh = train.make_mesh()
    train.sharding.check_batch_divisible(cfg.batch_size, mesh)

    key = jax.random.PRNGKey(cfg.seed)
    k_train, k_sample = jax.random.split(key)
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"unknown precision {cfg.precision!r}; choose one of {sorted(PRECISIONS)}.")
    model = sg.nets.TimeMLP(2, features=(cfg.width,) * cfg.depth, out_features=2, dtype=PRECISIONS[cfg.precision],
                            marginal_std=lambda t: sde.marginal_coeffs(t)[1], rngs=nnx.Rngs(cfg.seed))
    optimizer = train.make_optimizer(cfg.learning_rate, warmup_steps=cfg.warmup_steps, grad_clip=1.0)
    training = train.dsm_training(model, sde, mesh, optimizer=optimizer, key=k_train, ema_decay=cfg.ema_decay)

    if cfg.fresh and os.path.isdir(cfg.checkpoint_dir):
        import shutil

        shutil.rmtree(cfg.checkpoint_dir)
    ckpt = train.Checkpointer(cfg.checkpoint_dir, max_to_keep=2)
    os.makedirs(cfg.out_dir, exist_ok=True)
    log_path = os.path.join(cfg.out_dir, f"{cfg.tag}_log.jsonl")
    t0 = time.perf_counter()
    state = train.fit(
        training.state,
        training.step,
        SampledBatches(sampler, cfg.batch_size, seed=cfg.seed),
        num_steps=cfg.num_steps,
        mesh=mesh,
        checkpointer=ckpt,
        checkpoint_every=cfg.checkpoint_every,
        log_path=log_path,
        log_every=cfg.log_every,
        progress=cfg.progress,
        description=f"toy_train {cfg.dataset}",
    )
    train_seconds = time.perf_counter() - t0
    ckpt.close()
    if cfg.save_params and train.distributed.is_primary():
        flat = {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_leaves_with_path(state.params)}
        np.savez(cfg.save_params, **flat)

    score_fn = training.score_fn(state.ema_params, state.constants)
    rows = []
    for method in [m for m in cfg.samplers.split(",") if m]:
        if method not in SAMPLERS:
            raise ValueError(f"unknown sampler {method!r}; choose from {sorted(SAMPLERS)}.")
        steps = None if SAMPLERS[method].adaptive else cfg.sample_steps
        x, info = sg.sample_with_info(k_sample, sde, score_fn, (2,), cfg.num_samples, method=SAMPLERS[method], steps=steps)
        row = {"method": method, "nfe": int(info.nfe)}
        if exact is not None:
            target = exact.marginal(sde, sde.default_eps)
            row["sliced_w1"] = sg.metrics.sliced_wasserstein1_to_mixture(x, target, jax.random.PRNGKey(1))
        rows.append(row)
        if train.distributed.is_primary():
            np.save(os.path.join(cfg.out_dir, f"{cfg.tag}_{method}_samples.npy"), np.asarray(x[:2000]))
    log = read_training_log(log_path, cfg.checkpoint_dir)
    payload = {
        "num_devices": mesh.devices.size,
        "params": train.count_params(state.params),
        "train_seconds_this_run": train_seconds,
        "losses": [(r["step"], r["loss"]) for r in log],
        "samplers": rows,
    }
    if exact is not None:
        payload["exact_sample_sliced_w1"] = sg.metrics.sliced_wasserstein1_to_mixture(
            exact.sample(jax.random.PRNGKey(2), cfg.num_samples), exact, jax.random.PRNGKey(1)
        )
    paths = write_results(cfg.out_dir, cfg.tag, payload, config=cfg, command=command_for("toy_train", argv), metadata=meta)
    for r in rows:
        print(r)
    return {**payload, **paths}


if __name__ == "__main__":
    main()
