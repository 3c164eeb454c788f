"""The encoder of BSDE-Gen's encoder–decoder mode (seed 000 §4.2): x_0 is a noised encoding of
the image, "comparable to diffusion models".  The seed does not fix the encoder; ours is the
data's top-dim_x principal components, standardised, mixed with noise:

    x_0 = √(1 − s²) · D⁻¹ P (x − μ) + s · ε,     ε ~ N(0, I_{dim_x})

so that x_0 has (approximately) the N(0, I) law of the decoder-only mode for every noise level
s ∈ [0, 1]; s = 1 is the decoder-only mode.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["PCAEncoder"]


class PCAEncoder(eqx.Module):
    """`encoder(x (dim_y,) or (H, W, C), key) -> x0 (dim_x,)`; build with `PCAEncoder.fit`."""

    mean: jax.Array
    components: jax.Array  # (dim_x, dim_y), orthonormal rows
    scale: jax.Array  # (dim_x,) standard deviations of the projections
    noise: float = eqx.field(static=True)

    @classmethod
    def fit(cls, images, dim_x: int, *, noise: float = 0.5) -> "PCAEncoder":
        """Principal components of `images` (n, ...) flattened; n must exceed dim_x."""
        x = np.asarray(images, np.float64).reshape(len(images), -1)
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must be in [0, 1] (1 = decoder-only), got {noise}.")
        if x.shape[0] <= dim_x or x.shape[1] < dim_x:
            raise ValueError(f"PCAEncoder.fit needs more than dim_x={dim_x} images of at least dim_x pixels, got {x.shape}.")
        mean = x.mean(0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        scale = s[:dim_x] / np.sqrt(x.shape[0] - 1)
        return cls(jnp.asarray(mean, jnp.float32), jnp.asarray(vt[:dim_x], jnp.float32),
                   jnp.asarray(np.maximum(scale, 1e-6), jnp.float32), float(noise))

    def __call__(self, x, key):
        code = self.components @ (jnp.reshape(x, (-1,)) - self.mean) / self.scale
        return jnp.sqrt(1.0 - self.noise**2) * code + self.noise * jax.random.normal(key, code.shape, code.dtype)
