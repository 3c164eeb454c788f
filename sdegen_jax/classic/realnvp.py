"""RealNVP: affine coupling flows (seed 000 §2.1.1; Dinh, Sohl-Dickstein & Bengio 2017).

One coupling layer splits x into a conditioning part x_a (mask = 1) and a transformed part
x_b (mask = 0) and maps data → latent by

    z_a = x_a,                                                               (eq. 2.4)
    z_b = exp(s(x_a)) ⊙ x_b + t(x_a),                                         (eq. 2.5)

whose Jacobian is lower triangular with diagonal (1, exp s) (eq. 2.6), so
log |det J| = Σ_j s(x_a)_j (eq. 2.7).  Composing K couplings with alternating masks (and,
optionally, fixed random permutations, which are volume preserving) and a standard-normal
base gives the exact log-likelihood

    log p(x) = log N(f(x) | 0, I) + Σ_k Σ_j s_k(x^k)_j                         (eq. 2.8)

where f is the data → latent map and x^k the input of the k-th coupling.  (Seed eq. 2.8
writes "− Σ s": that sign belongs to couplings read in the generative, latent → data
direction; here the couplings of eq. 2.4–2.5 run data → latent, as in Dinh et al., so the
log-determinant enters with "+".)

The scale is tanh-bounded, s = scale ⊙ tanh(h), with a learned per-feature `scale`.
Images are modelled through uniform dequantisation and scored in bits/dim with
`sdegen_jax.likelihood.dequantize` and `bits_per_dim_from_logp` (reused here, not copied).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from .._checks import check_int_at_least
from ..likelihood.dequantization import bits_per_dim_from_logp, dequantize
from ..nets.time_embedding import Constant

__all__ = [
    "Conditioner",
    "alternating_mask",
    "coupling_forward",
    "coupling_inverse",
    "standard_normal_log_prob",
    "CouplingMLP",
    "RealNVP",
    "bits_per_dim",
]

Conditioner = Callable[[jax.Array], tuple[jax.Array, jax.Array]]

_LOG_2PI = math.log(2.0 * math.pi)


def alternating_mask(dim: int, parity: int) -> jax.Array:
    """(dim,) float mask, 1 on the conditioning features x_a (indices i with i % 2 == parity)."""
    return (jnp.arange(dim) % 2 == parity % 2).astype(jnp.float32)


def coupling_forward(x, mask, conditioner: Conditioner) -> tuple[jax.Array, jax.Array]:
    """Affine coupling, data → latent (eq. 2.4–2.5): x (N, D) → (z (N, D), log|det ∂z/∂x| (N,)) (eq. 2.7).

    `conditioner(x ⊙ mask) -> (s, t)`, each (N, D); only their (1 − mask) part is used.
    """
    keep = 1.0 - mask
    s, t = conditioner(x * mask)
    s, t = s * keep, t * keep
    z = x * mask + keep * (x * jnp.exp(s) + t)
    return z, jnp.sum(s, axis=-1)


def coupling_inverse(z, mask, conditioner: Conditioner) -> tuple[jax.Array, jax.Array]:
    """Inverse of `coupling_forward`: x_a = z_a, x_b = (z_b − t(z_a)) ⊙ exp(−s(z_a)); returns
    (x (N, D), log|det ∂x/∂z| = −Σ s (N,))."""
    keep = 1.0 - mask
    s, t = conditioner(z * mask)
    s, t = s * keep, t * keep
    x = z * mask + keep * (z - t) * jnp.exp(-s)
    return x, -jnp.sum(s, axis=-1)


def standard_normal_log_prob(z) -> jax.Array:
    """log N(z | 0, I) of flattened samples z (N, D), shape (N,)."""
    return -0.5 * jnp.sum(z * z + _LOG_2PI, axis=-1)


class CouplingMLP(nnx.Module):
    """The s and t networks of one coupling: x_a (N, D) → (s = scale ⊙ tanh(h_s), t) (each (N, D)).

    An MLP with LeakyReLU hidden layers and one output layer of 2D units.  `identity_init`
    zeroes the output layer, so s = t = 0 and the coupling starts as the identity.
    """

    def __init__(self, dim: int, hidden: Sequence[int], *, identity_init: bool, rngs: nnx.Rngs):
        widths = (dim, *hidden)
        self.hidden = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths[:-1], widths[1:])])
        init = nnx.initializers.zeros_init() if identity_init else nnx.initializers.lecun_normal()
        self.out = nnx.Linear(widths[-1], 2 * dim, kernel_init=init, bias_init=nnx.initializers.zeros_init(), rngs=rngs)
        self.scale = nnx.Param(jnp.ones((dim,), jnp.float32))

    def __call__(self, x_a: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = x_a
        for layer in self.hidden:
            h = nnx.leaky_relu(layer(h))
        raw_s, t = jnp.split(self.out(h), 2, axis=-1)
        return self.scale[...] * jnp.tanh(raw_s), t


class RealNVP(nnx.Module):
    """A RealNVP flow on samples of shape `data_shape` (flattened to D = prod(data_shape) ≥ 2).

    `num_couplings` affine couplings; coupling k conditions on the features of parity k % 2
    (alternating masks).  With `permute=True` a fixed random permutation (a `Constant`, drawn
    from `rngs.params`) precedes each coupling.  `identity_init=True` (default) starts every
    coupling at the identity, so the untrained flow is the standard-normal base.

    Methods take batches (N, *data_shape): `forward(x) -> (z, logdet)` (data → latent),
    `inverse(z) -> x`, `log_prob(x)` (eq. 2.8), `sample(key, n)`.
    """

    def __init__(
        self,
        data_shape: int | Sequence[int],
        *,
        num_couplings: int = 8,
        hidden: Sequence[int] = (256, 256),
        permute: bool = False,
        identity_init: bool = True,
        rngs: nnx.Rngs,
    ):
        self.data_shape = (data_shape,) if isinstance(data_shape, int) else tuple(data_shape)
        self.dim = math.prod(self.data_shape)
        if self.dim < 2:
            raise ValueError(f"RealNVP needs samples with at least 2 features to split, got data_shape {self.data_shape}.")
        check_int_at_least("num_couplings", num_couplings, 1, "Use >= 2 so that every feature is transformed.")
        self.num_couplings = num_couplings
        self.couplings = nnx.List(
            [CouplingMLP(self.dim, tuple(hidden), identity_init=identity_init, rngs=rngs) for _ in range(num_couplings)]
        )
        self.permutations = (
            nnx.List([Constant(jax.random.permutation(rngs.params(), self.dim)) for _ in range(num_couplings)])
            if permute
            else None
        )

    def _mask(self, k: int) -> jax.Array:
        return alternating_mask(self.dim, k)

    def _flatten(self, x: jax.Array, who: str) -> jax.Array:
        if x.ndim < 2 or x.shape[1:] != self.data_shape:
            raise ValueError(f"RealNVP.{who} expects a batch of shape (N, *{self.data_shape}), got {x.shape}.")
        return x.reshape(x.shape[0], self.dim)

    def forward(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Data → latent: (z (N, *data_shape), Σ_k log|det J_k| (N,)) (eq. 2.7–2.8)."""
        h = self._flatten(x, "forward")
        logdet = jnp.zeros(h.shape[0], h.dtype)
        for k, coupling in enumerate(self.couplings):
            if self.permutations is not None:
                h = h[:, self.permutations[k][...]]
            h, ld = coupling_forward(h, self._mask(k), coupling)
            logdet = logdet + ld
        return h.reshape(x.shape), logdet

    def inverse(self, z: jax.Array) -> jax.Array:
        """Latent → data, the exact inverse of `forward`."""
        h = self._flatten(z, "inverse")
        for k in reversed(range(self.num_couplings)):
            h, _ = coupling_inverse(h, self._mask(k), self.couplings[k])
            if self.permutations is not None:
                h = h[:, jnp.argsort(self.permutations[k][...])]
        return h.reshape(z.shape)

    def log_prob(self, x: jax.Array) -> jax.Array:
        """Exact log p(x) = log N(f(x) | 0, I) + log|det ∂f/∂x| (eq. 2.8), shape (N,)."""
        z, logdet = self.forward(x)
        return standard_normal_log_prob(z.reshape(z.shape[0], -1)) + logdet

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.log_prob(x)

    def sample(self, key, n: int) -> jax.Array:
        """n samples x = f⁻¹(z), z ~ N(0, I), shape (n, *data_shape)."""
        check_int_at_least("n", n, 1)
        return self.inverse(jax.random.normal(key, (n, *self.data_shape)))


def bits_per_dim(key, log_prob: Callable[[jax.Array], jax.Array], pixels, *, scale: str = "unit") -> jax.Array:
    """bits/dim of 8-bit images `pixels` (N, *shape), integer values 0..255, under a continuous
    model `log_prob(x (N, *shape)) -> (N,)` of images in `scale` ("unit": [0, 1], "symmetric":
    [−1, 1]): uniform dequantisation x = a(k + u) + b, then −(log p(x) + D log a)/(D ln 2)
    (`sdegen_jax.likelihood.dequantize` and `bits_per_dim_from_logp`).  Returns (N,).
    """
    pixels = jnp.asarray(pixels)
    if pixels.ndim < 2:
        raise ValueError(f"pixels must be a batch (N, *shape), got shape {pixels.shape}.")
    x = dequantize(key, pixels, scale)
    return bits_per_dim_from_logp(log_prob(x), math.prod(pixels.shape[1:]), scale)
