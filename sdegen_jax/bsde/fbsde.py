"""The FBSDE of BSDE-Gen (seed 000 eq. 3.8), an immutable pytree of its sizes and coefficients."""

from __future__ import annotations

from typing import Callable

import equinox as eqx

from .._checks import check_int_at_least, check_time_horizon
from .coefficients import generator_linear_abs_z, ou_diffusion, ou_drift

__all__ = ["FORWARD_PROCESSES", "FBSDE"]

FORWARD_PROCESSES = ("ou", "brownian")


class FBSDE(eqx.Module):
    """x_0 ~ N(0, I_{dim_x});  dx = b(t, x) dt + σ(t, x) dw;  dy = −f(t, x, y, z) dt + z dw,
    with w a dim_w-dimensional Brownian motion shared by both, on [0, T] in `num_steps` Euler
    steps (eq. 4.5).

    `drift(t, x)`, `diffusion(t, x) -> (dim_x, dim_w)` and `generator(t, x, y, z)` are pure
    per-sample functions (`sg.bsde.coefficients`); the defaults are the reference model
    (b = −x, σ = √2·I, f = −y + Σ_j|z_{·,j}|), with N = 200, T = 1.  Use
    `FBSDE.brownian(...)` for b = 0, σ = I.
    """

    dim_x: int = eqx.field(static=True)
    dim_w: int = eqx.field(static=True)
    dim_y: int = eqx.field(static=True)
    num_steps: int = eqx.field(default=200, static=True, kw_only=True)
    T: float = eqx.field(default=1.0, static=True, kw_only=True)
    drift: Callable = eqx.field(default=ou_drift, static=True, kw_only=True)
    diffusion: Callable | None = eqx.field(default=None, static=True, kw_only=True)
    generator: Callable = eqx.field(default=generator_linear_abs_z, static=True, kw_only=True)

    def __post_init__(self):
        if self.diffusion is None:
            self.diffusion = ou_diffusion(self.dim_w)

    def __check_init__(self):
        check_int_at_least("dim_x", self.dim_x, 1)
        check_int_at_least("dim_w", self.dim_w, 1)
        check_int_at_least("dim_y", self.dim_y, 1, "dim_y is the size of one flattened data sample (784 for MNIST).")
        check_int_at_least("num_steps", self.num_steps, 1)
        check_time_horizon(self.T)
        for name in ("drift", "diffusion", "generator"):
            if not callable(getattr(self, name)):
                raise ValueError(f"FBSDE.{name} must be a function, got {getattr(self, name)!r}.")

    @classmethod
    def brownian(cls, dim_x: int, dim_w: int, dim_y: int, **kwargs) -> "FBSDE":
        """The FBSDE with a Brownian forward process (b = 0, σ = I)."""
        from .coefficients import brownian_diffusion, brownian_drift

        return cls(dim_x, dim_w, dim_y, drift=brownian_drift,
                   diffusion=brownian_diffusion(dim_w), **kwargs)

    @property
    def dt(self) -> float:
        return self.T / self.num_steps
