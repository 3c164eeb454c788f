"""Probabilistic PCA (seed 000 §2.2.1; Tipping & Bishop 1999).

    z ~ N(0, I_M),   x = W z + b + ε,   ε ~ N(0, σ² I_D)                      (eq. 2.10–2.11)
    p(x)   = N(x | b, C),  C = W Wᵀ + σ² I_D                                   (eq. 2.13)
    p(z|x) = N(z | M⁻¹ Wᵀ (x − b), σ² M⁻¹),  M = Wᵀ W + σ² I_M                  (eq. 2.14)

The maximum-likelihood fit is closed form: with the sample covariance S = U Λ Uᵀ
(eigenvalues λ_1 ≥ … ≥ λ_D), b = mean(x), σ² = mean(λ_{M+1}, …, λ_D) and
W = U_M (Λ_M − σ² I)^{1/2} (up to a rotation of the latent space, fixed here to I).
Densities use the Woodbury identities C⁻¹ = σ⁻² (I − W M⁻¹ Wᵀ) and
log det C = (D − M) log σ² + log det M, so they cost O(D M) per sample.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_int_at_least, check_positive, is_concrete

__all__ = ["PPCA", "fit_ppca"]


class PPCA(eqx.Module):
    """A pPCA model: `weight` W (D, M), `bias` b (D,), `noise_variance` σ² (scalar).

    Methods act on batches with a leading axis, or on one sample of shape (D,).
    """

    weight: jax.Array
    bias: jax.Array
    noise_variance: jax.Array

    def __init__(self, weight, bias, noise_variance):
        w = jnp.asarray(weight, dtype=float)
        b = jnp.asarray(bias, dtype=float)
        s2 = jnp.asarray(noise_variance, dtype=float)
        if w.ndim != 2:
            raise ValueError(f"weight must be a (D, M) matrix, got shape {w.shape}.")
        if b.shape != (w.shape[0],):
            raise ValueError(f"bias must have shape (D,) = ({w.shape[0]},) to match weight {w.shape}, got {b.shape}.")
        if s2.ndim != 0:
            raise ValueError(f"noise_variance must be a scalar σ², got shape {s2.shape}.")
        check_positive("noise_variance", s2, "pPCA needs isotropic noise σ² > 0.")
        self.weight, self.bias, self.noise_variance = w, b, s2

    @property
    def data_dim(self) -> int:
        return self.weight.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.weight.shape[1]

    def covariance(self) -> jax.Array:
        """C = W Wᵀ + σ² I (eq. 2.13), (D, D)."""
        return self.weight @ self.weight.T + self.noise_variance * jnp.eye(self.data_dim)

    def _m_matrix(self) -> jax.Array:
        """M = Wᵀ W + σ² I_M (eq. 2.14)."""
        return self.weight.T @ self.weight + self.noise_variance * jnp.eye(self.latent_dim)

    def _check_x(self, x) -> jax.Array:
        x = jnp.asarray(x)
        if x.shape[-1:] != (self.data_dim,):
            raise ValueError(f"expected x of shape (..., {self.data_dim}) for this D={self.data_dim} pPCA, got {x.shape}.")
        return x

    def log_prob(self, x) -> jax.Array:
        """log N(x | b, W Wᵀ + σ² I) (eq. 2.13) for x (..., D), via Woodbury; returns (...)."""
        x = self._check_x(x)
        d, m, s2 = self.data_dim, self.latent_dim, self.noise_variance
        chol = jnp.linalg.cholesky(self._m_matrix())
        r = x - self.bias
        proj = r @ self.weight  # (..., M): Wᵀ r
        solved = jax.scipy.linalg.cho_solve((chol, True), proj[..., None])[..., 0]  # M⁻¹ Wᵀ r
        maha = (jnp.sum(r * r, -1) - jnp.sum(proj * solved, -1)) / s2  # rᵀ C⁻¹ r
        logdet = (d - m) * jnp.log(s2) + 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
        return -0.5 * (maha + logdet + d * math.log(2.0 * math.pi))

    def posterior(self, x) -> tuple[jax.Array, jax.Array]:
        """p(z | x) = N(M⁻¹ Wᵀ (x − b), σ² M⁻¹) (eq. 2.14): (mean (..., M), covariance (M, M))."""
        x = self._check_x(x)
        m_inv = jnp.linalg.inv(self._m_matrix())
        mean = (x - self.bias) @ self.weight @ m_inv.T
        return mean, self.noise_variance * m_inv

    def sample(self, key, n: int) -> jax.Array:
        """n samples x = W z + b + σ ε (eq. 2.10), shape (n, D)."""
        check_int_at_least("n", n, 1)
        kz, ke = jax.random.split(key)
        z = jax.random.normal(kz, (n, self.latent_dim))
        eps = jax.random.normal(ke, (n, self.data_dim))
        return z @ self.weight.T + self.bias + jnp.sqrt(self.noise_variance) * eps

    def decode_mean(self, z) -> jax.Array:
        """E[x | z] = W z + b (eq. 2.11) for z (..., M)."""
        return jnp.asarray(z) @ self.weight.T + self.bias


def fit_ppca(x, latent_dim: int) -> PPCA:
    """Closed-form maximum-likelihood pPCA of data x (n, D) with M = `latent_dim` < D
    (Tipping & Bishop 1999; the model of seed 000 eq. 2.10–2.13).

    The sample covariance uses 1/n (the ML estimate).  W's columns are the leading
    eigenvectors scaled by sqrt(λ_i − σ²), ordered by decreasing eigenvalue.  Works under
    `jax.jit` (latent_dim static); the σ² > 0 check then runs only outside it.
    """
    x = jnp.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"fit_ppca needs data of shape (n, D), got {x.shape}; flatten images with x.reshape(n, -1).")
    n, d = x.shape
    check_int_at_least("latent_dim", latent_dim, 1)
    if latent_dim >= d:
        raise ValueError(
            f"latent_dim M must be < D = {d} (σ² is the mean of the D − M discarded eigenvalues), got M={latent_dim}; "
            f"choose M <= {d - 1}."
        )
    if n < 2:
        raise ValueError(f"fit_ppca needs at least 2 samples, got n={n}.")
    weight, bias, noise_variance, top = _ml_fit(x, latent_dim)
    # Below d · machine-epsilon · λ_1 the discarded eigenvalues are round-off, not variance.
    round_off = d * float(jnp.finfo(x.dtype).eps)
    if is_concrete(noise_variance) and not float(noise_variance) > round_off * float(top):
        raise ValueError(
            "the discarded eigenvalues of the sample covariance are 0 (to round-off), so σ² = 0: the data lie in a "
            f"{latent_dim}-dimensional (or smaller) subspace. Use a smaller latent_dim or more samples than dimensions."
        )
    return PPCA(weight, bias, noise_variance)


@functools.partial(jax.jit, static_argnums=1)
def _ml_fit(x, latent_dim: int):
    """W, b, σ² of the ML fit and the largest eigenvalue λ_1, as one compiled program (eagerly,
    each of its operations would compile one of its own for every data shape)."""
    n = x.shape[0]
    bias = jnp.mean(x, axis=0)
    centred = x - bias
    cov = centred.T @ centred / n
    eigvals, eigvecs = jnp.linalg.eigh(cov)  # ascending
    eigvals, eigvecs = eigvals[::-1], eigvecs[:, ::-1]
    noise_variance = jnp.mean(eigvals[latent_dim:])
    scales = jnp.sqrt(jnp.maximum(eigvals[:latent_dim] - noise_variance, 0.0))
    return eigvecs[:, :latent_dim] * scales, bias, noise_variance, eigvals[0]
