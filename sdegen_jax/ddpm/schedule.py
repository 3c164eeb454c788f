"""DDPM's discrete noise schedule (Ho et al. 2020; seed 003 §3.3).

q(x_i | x_{i−1}) = N(sqrt(1 − β_i) x_{i−1}, β_i I), i = 1..N, so q(x_i | x_0) =
N(sqrt(ᾱ_i) x_0, (1 − ᾱ_i) I) with ᾱ_i = Π_{j≤i} (1 − β_j) (seed 003 eq. 3.8–3.9), and the
posterior q(x_{i−1} | x_i, x_0) = N(μ̃_i, β̃_i I) with

    μ̃_i = sqrt(ᾱ_{i−1}) β_i/(1 − ᾱ_i) x_0 + sqrt(α_i)(1 − ᾱ_{i−1})/(1 − ᾱ_i) x_i,
    β̃_i = (1 − ᾱ_{i−1})/(1 − ᾱ_i) β_i        (seed 003 eq. 3.10–3.12).

It is the VP SDE's discretisation: `from_vp_sde(sde, N)` takes β_i from `VPSDE.discretize`
(x_i = sqrt(1 − β(t_i) Δt) x_{i−1} + sqrt(β(t_i) Δt) z, t_i = i/N, seed 002 eq. 4.2.30), and a
linear schedule β_i = β_1 + (i − 1)/(N − 1)(β_N − β_1) is, up to O(1/N), `VPSDE(N β_1, N β_N)`
at t_i = i/N (`vp_time`).  The ε-network of DDPM and the score network of that VP SDE are then
the same function, ε(x, i) = −sqrt(1 − ᾱ_i) ∇ log p_{t_i}(x) (`sg.losses.parametrisations`).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int_at_least, check_less, check_positive

__all__ = ["DDPMSchedule"]


class DDPMSchedule(eqx.Module):
    """The β_1..β_N of a DDPM; index i = 1..N (index 0 is the data).  Build with `linear`,
    `cosine` or `from_vp_sde`."""

    betas: jax.Array

    def __init__(self, betas):
        b = np.asarray(betas, np.float64)
        if b.ndim != 1 or b.size < 2:
            raise ValueError(f"betas must be a 1-D array of at least 2 values, got shape {b.shape}.")
        if not ((b > 0) & (b < 1)).all():
            raise ValueError("every β_i must lie in (0, 1).")
        self.betas = jnp.asarray(b, jnp.float32)

    @classmethod
    def linear(cls, num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> "DDPMSchedule":
        """Ho et al.'s linear schedule (1e-4 to 0.02 over 1000 steps)."""
        check_int_at_least("num_steps", num_steps, 2)
        check_positive("beta_start", beta_start)
        check_less("beta_start", beta_start, "beta_end", beta_end)
        return cls(np.linspace(beta_start, beta_end, num_steps))

    @classmethod
    def cosine(cls, num_steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> "DDPMSchedule":
        """Nichol & Dhariwal's ᾱ(t) = cos²((t + s)/(1 + s) · π/2)/cos²(s/(1 + s) · π/2), β clipped at max_beta."""
        check_int_at_least("num_steps", num_steps, 2)
        f = np.cos((np.arange(num_steps + 1) / num_steps + s) / (1 + s) * math.pi / 2) ** 2
        return cls(np.minimum(1.0 - f[1:] / f[:-1], max_beta))

    @classmethod
    def from_vp_sde(cls, sde, num_steps: int) -> "DDPMSchedule":
        """β_i = G² of `sde.discretize` over [t_i − 1/N, t_i], t_i = i/N: DDPM as the VP SDE's
        Euler discretisation (seed 002 eq. 4.2.30).  The SDE must have T = 1 (step i is time
        i/N throughout, `vp_time`)."""
        check_int_at_least("num_steps", num_steps, 2)
        if float(sde.T) != 1.0:
            raise ValueError(f"from_vp_sde maps DDPM step i to VP time i/N on T = 1; this SDE has T = {sde.T}.")
        dt = sde.T / num_steps
        ts = jnp.arange(1, num_steps + 1) * dt
        _, G = jax.vmap(lambda t: sde.discretize(jnp.zeros(()), t, dt))(ts)
        return cls(np.asarray(G, np.float64) ** 2)

    @property
    def num_steps(self) -> int:
        return self.betas.shape[0]

    @property
    def alphas_bar(self) -> jax.Array:
        """ᾱ_0..ᾱ_N with ᾱ_0 = 1 (shape (N + 1,)); log-space cumulative product."""
        return jnp.exp(jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.log1p(-self.betas))]))

    def vp_time(self, i):
        """The VP SDE time t_i = i/N of DDPM step i (T = 1)."""
        return jnp.asarray(i, jnp.float32) / self.num_steps

    def marginal_coeffs(self, i):
        """(sqrt(ᾱ_i), sqrt(1 − ᾱ_i)): x_i = sqrt(ᾱ_i) x_0 + sqrt(1 − ᾱ_i) ε."""
        ab = self.alphas_bar[i]
        return jnp.sqrt(ab), jnp.sqrt(1.0 - ab)

    def posterior(self, i):
        """(coefficient of x_0, coefficient of x_i, β̃_i) of q(x_{i−1} | x_i, x_0), eq. 3.10–3.12."""
        ab, ab_prev, beta = self.alphas_bar[i], self.alphas_bar[i - 1], self.betas[i - 1]
        return (jnp.sqrt(ab_prev) * beta / (1.0 - ab), jnp.sqrt(1.0 - beta) * (1.0 - ab_prev) / (1.0 - ab),
                (1.0 - ab_prev) / (1.0 - ab) * beta)

    def reverse_variance(self, i, variance: str = "posterior"):
        """σ_i² of p(x_{i−1} | x_i): "posterior" β̃_i (clipped at i = 1 to β̃_2, where β̃_1 = 0,
        as improved-diffusion does for its log-likelihood) or "transition" β_i."""
        if variance == "transition":
            return self.betas[i - 1]
        if variance != "posterior":
            raise ValueError(f'variance must be "posterior" (β̃) or "transition" (β); got {variance!r}.')
        return self.posterior(jnp.maximum(i, 2))[2]

    def predict_x0(self, x, eps, i):
        """x̂_0 = (x_i − sqrt(1 − ᾱ_i) ε̂)/sqrt(ᾱ_i)."""
        a, s = self.marginal_coeffs(i)
        return (x - s * eps) / a
