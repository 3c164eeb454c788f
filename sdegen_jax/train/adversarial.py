"""Two-player (GAN) training on the shared loop: one compiled, sharded step that makes
`n_critic` critic updates and one generator update (seed 004's alternating optimisation of
min_G max_D V(D, G)).

    gen = sg.classic.MLPGenerator(latent_dim=8, rngs=nnx.Rngs(0))
    critic = sg.classic.MLPCritic(rngs=nnx.Rngs(1))
    training = sg.train.adversarial_training(
        gen, critic, sg.classic.wgan_gp_objective(), mesh,
        generator_optimizer=optax.adam(1e-4, b1=0.5, b2=0.9),
        critic_optimizer=optax.adam(1e-4, b1=0.5, b2=0.9), key=key, n_critic=5)
    state = sg.train.fit(training.state, training.step, batches, num_steps=..., mesh=mesh)
    x = training.sample(state.ema_params, key, 1000)

The state is a `TrainState` whose params, optimizer states and constants are dicts
{"generator": ..., "critic": ...}, so `fit`, the orbax checkpoints and resume work unchanged.
Each step splits its batch into `n_critic` strided chunks (one per critic update, each with
fresh z) and reuses the last chunk for the generator update (MMD-GAN's generator loss needs
data).  Metrics: "loss" (the critic's loss, mean over its updates) and "generator_loss".
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from .._checks import check_int_at_least
from ..classic.gan_objectives import CriticFns, GANObjective
from .distributed import local_copy
from .sharding import batch_sharding, replicate, replicated
from .state import TrainState, raw_key
from .step import ema_decay_at, ema_update

__all__ = ["PLAYERS", "AdversarialTraining", "adversarial_training", "make_adversarial_step"]

PLAYERS = ("generator", "critic")


def _critic_fns(graphdef, params, constants) -> CriticFns:
    def module():
        return nnx.merge(graphdef, params, constants)

    features = (lambda x: module().features(x)) if hasattr(module(), "features") else None
    return CriticFns(score=lambda x: module()(x), features=features)


class AdversarialTraining(NamedTuple):
    """What `adversarial_training` returns: the replicated initial `state`, the compiled
    `step(state, batch) -> (state, metrics)`, the two graph definitions and the latent size."""

    state: TrainState
    step: Callable
    graphdefs: dict
    latent_dim: int

    def generator(self, params, constants=None) -> nnx.Module:
        """The NNX generator with `params` (the full {"generator", "critic"} params or EMA)."""
        constants = self.state.constants if constants is None else constants
        p, c = local_copy((params["generator"], constants["generator"]))
        return nnx.merge(self.graphdefs["generator"], p, c)

    def critic(self, params, constants=None) -> nnx.Module:
        constants = self.state.constants if constants is None else constants
        p, c = local_copy((params["critic"], constants["critic"]))
        return nnx.merge(self.graphdefs["critic"], p, c)

    def sample(self, params, key, n: int, constants=None) -> jax.Array:
        """n samples g(z), z ~ N(0, I)."""
        check_int_at_least("n", n, 1)
        gen = self.generator(params, constants)
        return gen(jax.random.normal(key, (n, self.latent_dim)))


def adversarial_training(
    generator: nnx.Module,
    critic: nnx.Module,
    objective: GANObjective,
    mesh,
    *,
    generator_optimizer: optax.GradientTransformation,
    critic_optimizer: optax.GradientTransformation,
    key: jax.Array,
    n_critic: int = 1,
    latent_dim: int | None = None,
    ema_decay: float = 0.999,
) -> AdversarialTraining:
    """The train state and compiled step of the GAN game `objective` (a `GANObjective`, e.g.
    `sg.classic.wgan_gp_objective()`) between an NNX `generator(z (N, latent_dim))` and an NNX
    `critic(x (N, ...)) -> (N,)` (with `features(x)` for MMD-GAN).

    `latent_dim` defaults to `generator.latent_dim`.  Batches must hold a multiple of
    `n_critic` examples (and each chunk a multiple of the mesh's devices).  The EMA covers
    both players; sample with the generator's EMA, `training.sample(state.ema_params, ...)`.
    """
    check_int_at_least("n_critic", n_critic, 1)
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}.")
    if latent_dim is None:
        latent_dim = getattr(generator, "latent_dim", None)
        if latent_dim is None:
            raise ValueError("pass latent_dim=: the generator has no `latent_dim` attribute.")
    check_int_at_least("latent_dim", latent_dim, 1)
    graphdefs, params, constants = {}, {}, {}
    for name, module in zip(PLAYERS, (generator, critic)):
        graphdefs[name], p, c = nnx.split(module, nnx.Param, ...)
        # The compiled step donates its state: copy, so that the modules themselves stay usable.
        params[name], constants[name] = jax.tree_util.tree_map(jnp.copy, (p, c))
    optimizers = {"generator": generator_optimizer, "critic": critic_optimizer}
    state = TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        opt_state={name: optimizers[name].init(params[name]) for name in PLAYERS},
        ema_params=jax.tree_util.tree_map(jnp.copy, params),
        key=raw_key(key),
        constants=constants,
    )
    step = make_adversarial_step(objective, graphdefs, optimizers, mesh, latent_dim=latent_dim,
                                 n_critic=n_critic, ema_decay=ema_decay)
    return AdversarialTraining(replicate(state, mesh), step, graphdefs, latent_dim)


def make_adversarial_step(objective: GANObjective, graphdefs: dict, optimizers: dict, mesh, *, latent_dim: int,
                          n_critic: int = 1, ema_decay: float = 0.999):
    """step(state, batch) -> (state, metrics): `n_critic` critic updates (a `lax.scan`, fake
    samples held fixed) then one generator update, compiled with the batch split over the
    mesh and the state replicated."""

    def step(state: TrainState, batch):
        if batch.shape[0] % n_critic:
            raise ValueError(f"the batch of {batch.shape[0]} examples does not split into n_critic={n_critic} chunks; "
                             f"use a batch size that is a multiple of {n_critic}.")
        key = jax.random.fold_in(state.key, state.step)
        k_critic, k_gen_z, k_gen_loss = jax.random.split(key, 3)
        m = batch.shape[0] // n_critic
        # Strided chunks (rows i, i + n_critic, ...) keep each chunk spread over the devices.
        chunks = jnp.swapaxes(batch.reshape((m, n_critic) + batch.shape[1:]), 0, 1)
        gen_p, gen_c = state.params["generator"], state.constants["generator"]
        crit_c = state.constants["critic"]

        def generate(p, z):
            return nnx.merge(graphdefs["generator"], p, gen_c)(z)

        def critic_update(carry, xs):
            crit_p, crit_opt = carry
            real, k = xs
            k_z, k_loss = jax.random.split(k)
            fake = jax.lax.stop_gradient(generate(gen_p, jax.random.normal(k_z, (m, latent_dim), real.dtype)))
            loss, grads = jax.value_and_grad(
                lambda p: objective.critic_loss(k_loss, _critic_fns(graphdefs["critic"], p, crit_c), real, fake)
            )(crit_p)
            updates, crit_opt = optimizers["critic"].update(grads, crit_opt, crit_p)
            return (optax.apply_updates(crit_p, updates), crit_opt), loss

        (crit_p, crit_opt), critic_losses = jax.lax.scan(
            critic_update, (state.params["critic"], state.opt_state["critic"]),
            (chunks, jax.random.split(k_critic, n_critic)))
        critic = _critic_fns(graphdefs["critic"], crit_p, crit_c)
        z = jax.random.normal(k_gen_z, (m, latent_dim), batch.dtype)
        gen_loss, gen_grads = jax.value_and_grad(
            lambda p: objective.generator_loss(k_gen_loss, critic, chunks[-1], generate(p, z))
        )(gen_p)
        updates, gen_opt = optimizers["generator"].update(gen_grads, state.opt_state["generator"], gen_p)
        params = {"generator": optax.apply_updates(gen_p, updates), "critic": crit_p}
        new = state.replace(
            step=state.step + 1,
            params=params,
            opt_state={"generator": gen_opt, "critic": crit_opt},
            ema_params=ema_update(state.ema_params, params, ema_decay_at(state.step, ema_decay)),
        )
        return new, {"loss": jnp.mean(critic_losses), "generator_loss": gen_loss}

    rep = replicated(mesh)
    return jax.jit(step, in_shardings=(rep, batch_sharding(mesh)), out_shardings=(rep, rep), donate_argnums=0)
