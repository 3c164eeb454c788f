"""Abstract forward SDEs  dx = f(x, t) dt + g(x, t) dw  acting on one sample.

Seed 002 eq. 2.2 (Itô SDE) and eq. 4.2.1 (linear SDE  dx = F(t) x dt + L(t) dβ).
Every method takes one sample `x` of any shape and a scalar time `t`; batch with
`jax.vmap`.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["SDE", "LinearSDE"]



class SDE(eqx.Module):
    """A forward SDE on [0, T] with diagonal noise.

    Subclasses give `drift`, `diffusion`, `T`, `prior_sample`, `prior_logp` and may
    override `default_eps` (the smallest time a sampler integrates back to) and
    `default_snr` (the Langevin corrector's signal-to-noise ratio).

    Constructors take the schedule's parameters positionally, in their natural order
    (`VESDE(sigma_min, sigma_max)`, `VPSDE(beta_min, beta_max)`), and the horizon `T` only
    by keyword, so a positional call can never set T by mistake.
    """

    T: eqx.AbstractVar[float]

    @property
    def default_eps(self) -> float:
        """Smallest time that samplers integrate back to by default."""
        return 1e-5

    @property
    def default_snr(self) -> float | None:
        """Default snr of the predictor–corrector's Langevin corrector for this SDE, or None
        when there is no established value (then the corrector needs an explicit snr).

        Song et al. (2021) use 0.16 for VE SDEs and 0.01 for VP-type SDEs.
        """
        return None

    def to_state(self, x: jax.Array) -> jax.Array:
        """One pixel-space sample -> the coordinates the SDE is written in (the identity here).

        SDEs whose noise is diagonal in another orthonormal basis (the Fourier-diagonal SDEs of
        `sdegen_jax.functional`) return its coordinates; drift, diffusion, kernels and priors
        of `prior`-free methods then act on those coordinates, where every sampler sees a
        diagonal SDE.  `sample()` and the losses map pixels in and out, so scores, denoisers
        and results stay in pixel space.  Must be orthonormal: scores then map the same way.
        """
        return x

    def from_state(self, y: jax.Array) -> jax.Array:
        """The inverse of `to_state` (its transpose: the map is orthonormal)."""
        return y

    @abc.abstractmethod
    def drift(self, x: jax.Array, t) -> jax.Array:
        """f(x, t), same shape as `x`."""

    @abc.abstractmethod
    def diffusion(self, x: jax.Array, t) -> jax.Array:
        """Diagonal of g(x, t), same shape as `x`."""

    @abc.abstractmethod
    def prior_sample(self, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        """Pixel-space samples from the prior p_T; `shape` includes any batch dimensions."""

    @abc.abstractmethod
    def prior_logp(self, x: jax.Array) -> jax.Array:
        """log p_T(x) of one sample (a scalar)."""

    def langevin_step_scale(self, t, dt):
        """α_i scaling the Langevin-corrector step at time t (Song et al. 2021, Alg. 4).

        1 for VE-type SDEs; VP-type SDEs use 1 − β_i.
        """
        return 1.0

    def euler_discretize(self, x: jax.Array, t, dt) -> tuple[jax.Array, jax.Array]:
        """Euler–Maruyama increment over [t, t + dt]: (f dt, g sqrt(dt)).

        x_{k+1} = x_k + f dt + g sqrt(dt) z  (seed 002 eq. 4.2.26 in general form).
        """
        return self.drift(x, t) * dt, self.diffusion(x, t) * jnp.sqrt(dt)

    def discretize(self, x: jax.Array, t, dt) -> tuple[jax.Array, jax.Array]:
        """The SDE's own discretisation x_t = x_{t-dt} + F + G z, evaluated at (x, t).

        Defaults to Euler; linear SDEs use their exact transition kernel (SMLD for VE,
        seed 002 eq. 4.2.5) and VP overrides it with DDPM's (seed 002 eq. 4.2.30).
        """
        return self.euler_discretize(x, t, dt)


class LinearSDE(SDE):
    """dx = f(t) x dt + g(t) dw with scalar f, g: the Gaussian transition kernel

    p_{t|0}(x_t | x_0) = N(a(t) x_0, s(t)^2 I)   (seed 002 eq. 4.2.54, Example 11).

    Subclasses give `drift_coeff` f(t), `diffusion_coeff` g(t), `marginal_coeffs`
    (a(t), s(t)) and `prior_std`.  Everything else (marginals, exact transitions,
    DDPM/SMLD-style discretisation, ancestral steps, the prior) follows from these.
    """

    @abc.abstractmethod
    def drift_coeff(self, t) -> jax.Array:
        """f(t) in the drift f(t) x."""

    @abc.abstractmethod
    def diffusion_coeff(self, t) -> jax.Array:
        """g(t)."""

    @abc.abstractmethod
    def marginal_coeffs(self, t) -> tuple[jax.Array, jax.Array]:
        """(a(t), s(t)): x_t = a(t) x_0 + s(t) z."""

    @property
    @abc.abstractmethod
    def prior_std(self) -> float:
        """Std of the zero-mean Gaussian prior used to start sampling at T."""

    def drift(self, x, t):
        return self.drift_coeff(t) * x

    def diffusion(self, x, t):
        return jnp.broadcast_to(self.diffusion_coeff(t), jnp.shape(x)).astype(jnp.result_type(x, float))

    def marginal(self, x0: jax.Array, t) -> tuple[jax.Array, jax.Array]:
        """Mean and std of p_{t|0}(x_t | x_0)."""
        a, s = self.marginal_coeffs(t)
        return a * x0, s

    def transition_coeffs(self, s, t) -> tuple[jax.Array, jax.Array]:
        """(α, σ) with x_t = α x_s + σ z for s < t, from the marginal coefficients.

        α = a(t)/a(s) and σ² = s(t)² − α² s(s)², since the kernel's variance obeys
        dΣ/dt = 2 f Σ + g² (seed 002 Example 8).
        """
        a_s, s_s = self.marginal_coeffs(s)
        a_t, s_t = self.marginal_coeffs(t)
        alpha = a_t / a_s
        var = jnp.maximum(s_t**2 - (alpha * s_s) ** 2, 0.0)
        return alpha, jnp.sqrt(var)

    def discretize(self, x, t, dt):
        """Exact transition over [t − dt, t]: F = (α − 1) x, G = σ_{t|t−dt}.

        For VE this is SMLD's x_k = x_{k−1} + sqrt(σ_k² − σ_{k−1}²) z (seed 002 eq. 4.2.5).
        """
        alpha, sigma = self.transition_coeffs(t - dt, t)
        return (alpha - 1.0) * x, jnp.broadcast_to(sigma, jnp.shape(x))

    def prior_sample(self, key, shape):
        return self.prior_std * jax.random.normal(key, shape)

    def prior_logp(self, x):
        var = self.prior_std**2
        return -0.5 * jnp.sum(x**2) / var - 0.5 * jnp.size(x) * jnp.log(2 * jnp.pi * var)
