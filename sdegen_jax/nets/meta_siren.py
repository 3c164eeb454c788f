"""The meta-learning baseline of seed 003 §4.1 (Franzese et al. 2024; eq. 4.1–4.2): the SIREN's
shift modulations are fitted per datum by a few SGD steps instead of predicted by a network.

    φ_0 = φ̄ (a learned initialisation),
    φ_{k+1} = φ_k − α ⊙ ∇_φ (1/P) Σ_p ‖f(p, t; θ, φ_k) − x_t[p]‖²,   k < K (K = 3),
    x̂₀(p) = f(p, t; θ, φ_K),

(the inner loss is the mean over the P·C values, eq. 4.2's (1/P) Σ_p ‖·‖² divided by the
number of channels C), trained through eq. 4.1 with the gradient taken through the K inner steps (a `lax.scan`,
differentiable end to end; second order).  α is a fixed scalar, or learned per modulation
(Meta-SGD, `learn_inner_lr=True`).  Learned rates are clipped to `inner_lr_range` (default
[0, 1], functa's `meta_sgd_clip_range` for its meta-learned SIRENs) where they are used: left
free, the outer optimiser drives some below zero (gradient *ascent* on those modulations: 288
of 896 at step 220 of `experiments.fdp_mnist --table meta`, whose loss then rose while its
gradient norm grew 25×).  The clip alone does not keep that run stable: what drove it was the
outer Adam step of 5e-4 on the SIREN's small hidden weights (`experiments.fdp_meta_stability`;
`fdp_mnist` now trains this model at 5e-5).  α is the same at every step: the reference code doubles the inner
learning rates at each step, a known bug not reproduced here (`inner_loop` returns the rates
it used, step by step, for the tests).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from .siren import ModulatedSiren, grid_coordinates

__all__ = ["MetaSirenDenoiser"]


class MetaSirenDenoiser(nnx.Module):
    """`MetaSirenDenoiser(image_size=32, in_channels=1, *, inner_steps=3, inner_lr=1e-2,
    learn_inner_lr=False, inner_lr_range=(0.0, 1.0), siren_width=128, siren_depth=7, rngs)`;
    `__call__(x (N, H, W, C), t (N,)) -> (N, H, W, C)` fits the modulations to each noisy image and returns x̂₀."""

    def __init__(self, image_size: int = 32, in_channels: int = 1, *, inner_steps: int = 3, inner_lr: float = 1e-2,
                 learn_inner_lr: bool = False, inner_lr_range: tuple[float, float] = (0.0, 1.0), siren_width: int = 128,
                 siren_depth: int = 7, omega0: float = 30.0, rngs: nnx.Rngs):
        if inner_steps < 1:
            raise ValueError(f"inner_steps must be >= 1, got {inner_steps}.")
        lo, hi = (float(v) for v in inner_lr_range)
        if not lo <= inner_lr <= hi:
            raise ValueError(f"inner_lr {inner_lr:g} lies outside inner_lr_range ({lo:g}, {hi:g}); "
                             "widen the range or start the rates inside it.")
        self.inner_lr_range = (lo, hi)
        self.image_size, self.in_channels, self.inner_steps = image_size, in_channels, inner_steps
        self.siren = ModulatedSiren(2, in_channels, width=siren_width, depth=siren_depth, omega0=omega0, rngs=rngs)
        self.init_shifts = nnx.Param(jnp.zeros((self.siren.num_modulations,)))
        lr = jnp.full((self.siren.num_modulations,), inner_lr, jnp.float32)
        # Learned (Meta-SGD): a parameter the outer loss trains; fixed: a constant of the state.
        self.inner_lr = nnx.Param(lr) if learn_inner_lr else nnx.Variable(lr)

    def inner_loop(self, coords, t, target):
        """Fit the shifts to `target` (P, C) at `coords` (P, 2) from the learned start: returns
        (shifts, fitting losses before each step and after the last (K + 1,), rates per step (K, M))."""
        lr = jnp.clip(self.inner_lr[...], *self.inner_lr_range)  # identity for fixed rates inside the range

        def fit_loss(shifts):
            return jnp.mean((self.siren(coords, t, shifts) - target) ** 2)

        def step(shifts, _):
            loss, grad = jax.value_and_grad(fit_loss)(shifts)
            return shifts - lr * grad, (loss, lr)

        shifts, (losses, rates) = jax.lax.scan(step, self.init_shifts[...], None, length=self.inner_steps)
        return shifts, jnp.append(losses, fit_loss(shifts)), rates

    def at(self, x, t, coords):
        """x̂₀ at `coords` (P, 2) for each image of x (N, image_size, image_size, C): (N, P, C)."""
        own = grid_coordinates(self.image_size, self.image_size)

        def one(xi, ti):
            shifts, _, _ = self.inner_loop(own, ti, xi.reshape(-1, self.in_channels))
            return self.siren(coords, ti, shifts)

        return jax.vmap(one)(x, jnp.asarray(t, x.dtype))

    def __call__(self, x, t):
        if x.ndim != 4 or x.shape[1:3] != (self.image_size, self.image_size) or jnp.shape(t) != x.shape[:1]:
            raise ValueError(f"MetaSirenDenoiser takes x (N, {self.image_size}, {self.image_size}, C) and t (N,); "
                             f"got x {x.shape}, t {jnp.shape(t)}.")
        return self.at(x, t, grid_coordinates(self.image_size, self.image_size)).reshape(x.shape)
