"""Gaussian mixtures with diagonal covariances: exact densities, scores and samples,
and their exact marginals under any linear SDE.

Under x_t = a(t) x_0 + s(t) z a mixture Σ_k w_k N(μ_k, diag σ_k²) becomes
Σ_k w_k N(a μ_k, diag(a² σ_k² + s²))  — seed 002 eq. 4.2.22–4.2.23 generalised from VE
(a = 1) to any linear SDE; its score is seed 002 eq. 4.2.24.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

__all__ = ["GaussianMixture", "StaticScore", "MixtureScore", "ObservationLogLikelihood"]


class GaussianMixture(eqx.Module):
    """Σ_k w_k N(μ_k, diag σ_k²) in d dimensions.

    Args:
      weights: (K,) positive, summing to 1.
      means: (K, d).
      stds: (K, d), (K,) or a scalar, broadcast to (K, d); all > 0.
    """

    weights: jax.Array
    means: jax.Array
    stds: jax.Array

    def __init__(self, weights, means, stds):
        w = jnp.asarray(weights, dtype=float)
        mu = jnp.asarray(means, dtype=float)
        if w.ndim != 1:
            raise ValueError(f"weights must be a 1-D array of K mixture weights, got shape {w.shape}.")
        if mu.ndim == 1 and mu.shape[0] == w.shape[0]:
            raise ValueError(
                f"means must have shape (K, d); got {mu.shape}. For a 1-D mixture write means=[[m1], [m2], ...]."
            )
        if mu.ndim != 2 or mu.shape[0] != w.shape[0]:
            raise ValueError(f"means must have shape (K, d) with K={w.shape[0]} components, got {mu.shape}.")
        sd = jnp.asarray(stds, dtype=float)
        if sd.ndim == 1:
            sd = sd[:, None]
        try:
            sd = jnp.broadcast_to(sd, mu.shape)
        except ValueError:
            raise ValueError(f"stds must broadcast to the means' shape {mu.shape}, got {jnp.shape(stds)}.") from None
        if not any(isinstance(a, jax.core.Tracer) for a in (w, sd)):
            wn, sn = np.asarray(w), np.asarray(sd)
            if (wn <= 0).any():
                raise ValueError(f"mixture weights must be > 0, got {wn}. Drop empty components.")
            if abs(wn.sum() - 1.0) > 1e-5:
                raise ValueError(f"mixture weights must sum to 1, got sum {wn.sum():.6g}. Divide them by their sum.")
            if (sn <= 0).any():
                raise ValueError("mixture stds must be > 0.")
        self.weights, self.means, self.stds = w, mu, sd

    @property
    def num_components(self) -> int:
        return self.weights.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def _check_x(self, x):
        if jnp.shape(x)[-1:] != (self.dim,):
            raise ValueError(f"expected points of shape (..., {self.dim}) for this {self.dim}-D mixture, got {jnp.shape(x)}.")

    def component_log_probs(self, x):
        """log w_k + log N(x; μ_k, σ_k²) for x of shape (..., d), giving (..., K)."""
        self._check_x(x)
        z = (x[..., None, :] - self.means) / self.stds
        log_n = -0.5 * jnp.sum(z**2 + jnp.log(2 * jnp.pi * self.stds**2), axis=-1)
        return jnp.log(self.weights) + log_n

    def log_prob(self, x):
        """log p(x) for x of shape (..., d)."""
        return logsumexp(self.component_log_probs(x), axis=-1)

    def score(self, x):
        """∇_x log p(x) for x of shape (..., d) (seed 002 eq. 4.1.12)."""
        if jnp.ndim(x) == 1 and self.num_components * self.dim <= _UNROLL_LIMIT:
            self._check_x(x)
            return _unrolled_score(self.weights, self.means, self.stds, x)
        resp = jax.nn.softmax(self.component_log_probs(x), axis=-1)
        comp = -(x[..., None, :] - self.means) / self.stds**2
        return jnp.sum(resp[..., None] * comp, axis=-2)

    def sample(self, key, n: int):
        """n samples, shape (n, d)."""
        kc, kz = jax.random.split(key)
        comp = jax.random.choice(kc, self.num_components, (n,), p=self.weights)
        z = jax.random.normal(kz, (n, self.dim))
        return self.means[comp] + self.stds[comp] * z

    def mean(self):
        return self.weights @ self.means

    def variance(self):
        """Per-dimension variance Σ w_k (σ_k² + μ_k²) − mean²."""
        return self.weights @ (self.stds**2 + self.means**2) - self.mean() ** 2

    def shifted(self, shift) -> "GaussianMixture":
        """The mixture translated by `shift` (shape (d,)), e.g. centred: `g.shifted(-g.mean())`."""
        return GaussianMixture(self.weights, self.means + jnp.asarray(shift), self.stds)

    def marginal(self, sde, t) -> "GaussianMixture":
        """The exact p_t of this mixture pushed through the linear SDE's kernel."""
        a, s = sde.marginal_coeffs(t)
        return GaussianMixture(self.weights, a * self.means, jnp.sqrt((a * self.stds) ** 2 + s**2))

    def score_fn(self, sde=None) -> "MixtureScore | StaticScore":
        """Exact ∇_x log p_t(x) as a per-sample `score_fn(x, t)`: of the marginal p_t under the
        linear `sde`, or, with no sde, of this mixture itself at every t (for Langevin MCMC)."""
        if sde is None:
            return StaticScore(self)
        if not hasattr(sde, "marginal_coeffs"):
            raise ValueError(
                f"the mixture's p_t is known in closed form only under SDEs with a Gaussian kernel "
                f"(`marginal_coeffs`); {type(sde).__name__} has none."
            )
        return MixtureScore(self, sde)

    def _split_index(self, index):
        known = tuple(int(i) for i in np.atleast_1d(index))
        if len(set(known)) != len(known) or not all(0 <= i < self.dim for i in known):
            raise ValueError(f"index must name distinct coordinates in [0, {self.dim}), got {index}.")
        if len(known) == self.dim:
            raise ValueError("index names every coordinate: nothing is left to condition on.")
        return np.array(known), np.array([i for i in range(self.dim) if i not in known])

    def condition(self, index, value) -> "GaussianMixture":
        """The exact conditional of the other coordinates given x[index] = value: a mixture with
        weights ∝ w_k N(value; μ_k[index], σ_k[index]²) and the components' other coordinates
        (the covariances are diagonal, so each component factorises)."""
        known, other = self._split_index(index)
        value = jnp.broadcast_to(jnp.asarray(value, dtype=float), (len(known),))
        logits = GaussianMixture(self.weights, self.means[:, known], self.stds[:, known]).component_log_probs(value)
        weights = jax.nn.softmax(logits)
        means, stds = self.means[:, other], self.stds[:, other]
        if not isinstance(weights, jax.core.Tracer):  # components the value makes impossible (weight 0) drop out
            keep = np.asarray(weights) > 0
            weights, means, stds = weights[keep], means[keep], stds[keep]
        return GaussianMixture(weights / jnp.sum(weights), means, stds)

    def observation_log_likelihood(self, sde, index, value) -> "ObservationLogLikelihood":
        """log p(x_0[index] = value | x_t = x) under the linear `sde`, as a per-sample
        `log_likelihood(x, t)`: with `sg.controllable.GuidedScore` it makes inpainting exact."""
        known, _ = self._split_index(index)
        value = jnp.broadcast_to(jnp.asarray(value, dtype=float), (len(known),))
        return ObservationLogLikelihood(self, sde, tuple(int(i) for i in known), value)

    def project(self, direction) -> "GaussianMixture":
        """The 1-D mixture of ⟨θ, x⟩ for a unit vector θ (exact, for sliced distances)."""
        theta = jnp.asarray(direction, dtype=float)
        m = self.means @ theta
        s = jnp.sqrt((self.stds**2) @ theta**2)
        return GaussianMixture(self.weights, m[:, None], s[:, None])

    def cdf(self, x):
        """CDF of a 1-D mixture at x (any shape)."""
        if self.dim != 1:
            raise ValueError(f"cdf is defined for 1-D mixtures; this one is {self.dim}-D. Use project() first.")
        x = jnp.asarray(x)[..., None]
        return jnp.sum(self.weights * norm.cdf((x - self.means[:, 0]) / self.stds[:, 0]), axis=-1)

    def support_interval(self, num_stds: float = 10.0):
        """An interval holding all but a negligible mass of a 1-D mixture."""
        lo = jnp.min(self.means[:, 0] - num_stds * self.stds[:, 0])
        hi = jnp.max(self.means[:, 0] + num_stds * self.stds[:, 0])
        return float(lo), float(hi)


# One-sample scores of small mixtures are unrolled over components and dimensions:
# XLA's CPU backend runs the softmax over a tiny component axis as scalar loops, about
# 100x slower (≈ 400 ns against 4 ns per call for the 2-component 1-D mixture, measured
# in experiments/toy_ve.py's first version).  Above this size the vectorised form wins.
_UNROLL_LIMIT = 64


def _unrolled_score(weights, means, stds, x):
    """∇ log Σ_k w_k N(x; μ_k, diag σ_k²) for ONE sample x of shape (d,), unrolled over k and d."""
    K, d = means.shape
    logits, grads = [], []
    for k in range(K):
        z = [(x[i] - means[k, i]) / stds[k, i] for i in range(d)]
        quad = sum(zi**2 for zi in z[1:]) + z[0] ** 2
        logdet = sum(jnp.log(stds[k, i]) for i in range(1, d)) + jnp.log(stds[k, 0])
        logits.append(jnp.log(weights[k]) - 0.5 * quad - logdet)
        grads.append(jnp.stack([-z[i] / stds[k, i] for i in range(d)]))
    top = logits[0]
    for lk in logits[1:]:
        top = jnp.maximum(top, lk)
    e = [jnp.exp(lk - top) for lk in logits]
    total, num = e[0], e[0] * grads[0]
    for k in range(1, K):
        total = total + e[k]
        num = num + e[k] * grads[k]
    return num / total


class StaticScore(eqx.Module):
    """score_fn(x, t) = ∇_x log p(x) of a Gaussian mixture, the same at every t."""

    mixture: GaussianMixture

    def __call__(self, x, t):
        return self.mixture.score(x)


class MixtureScore(eqx.Module):
    """score_fn(x, t) = ∇_x log p_t(x) of a Gaussian mixture under a linear SDE."""

    mixture: GaussianMixture
    sde: eqx.Module

    def __call__(self, x, t):
        return self.mixture.marginal(self.sde, t).score(x)


class ObservationLogLikelihood(eqx.Module):
    """log p(x_0[known] = value | x_t = x) of a Gaussian mixture under a linear SDE:
    Σ_k p_t(k | x_t) Π_{i ∈ known} N(value_i; m_ki, v_ki), where component k's posterior of x_0
    given x_t = a x_0 + s z is Gaussian with v = σ² s² / (s² + a² σ²) and m = v (μ/σ² + a x_t/s²)."""

    mixture: GaussianMixture
    sde: eqx.Module
    known: tuple = eqx.field(static=True)
    value: jax.Array

    def __call__(self, x, t):
        g = self.mixture
        a, s = self.sde.marginal_coeffs(t)
        logits = g.marginal(self.sde, t).component_log_probs(x)
        log_resp = logits - logsumexp(logits)
        idx = np.array(self.known)
        mu, sd, xk = g.means[:, idx], g.stds[:, idx], x[idx]
        var = (sd * s) ** 2 / (s**2 + (a * sd) ** 2)
        mean = var * (mu / sd**2 + a * xk / s**2)
        log_obs = jnp.sum(norm.logpdf(self.value, mean, jnp.sqrt(var)), axis=-1)
        return logsumexp(log_resp + log_obs)
