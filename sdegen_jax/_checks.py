"""Early, explicit validation of user input, shared by every layer. Every failure names the fix."""

from __future__ import annotations

import numbers

import jax.numpy as jnp


def is_concrete(value) -> bool:
    """True for Python numbers and concrete arrays (not tracers inside `jit`)."""
    if isinstance(value, numbers.Number):
        return True
    try:
        float(jnp.asarray(value).reshape(-1)[0]) if jnp.size(value) else None
        return True
    except Exception:  # a tracer: cannot be checked at trace time
        return False


def check_positive(name: str, value, hint: str = "") -> None:
    if is_concrete(value) and not float(value) > 0:
        raise ValueError(f"{name} must be > 0, got {value}. {hint}".strip())


def check_nonnegative(name: str, value, hint: str = "") -> None:
    if is_concrete(value) and not float(value) >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}. {hint}".strip())


def check_finite(name: str, value, hint: str = "") -> None:
    if is_concrete(value) and not bool(jnp.isfinite(jnp.asarray(value, float)).all()):
        raise ValueError(f"{name} must be finite, got {value}. {hint}".strip())


def check_less(name_a: str, a, name_b: str, b, hint: str = "") -> None:
    if is_concrete(a) and is_concrete(b) and not float(a) < float(b):
        raise ValueError(f"{name_a} must be < {name_b}, got {name_a}={a} and {name_b}={b}. {hint}".strip())


def check_int_at_least(name: str, value, minimum: int, hint: str = "") -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}. {hint}".strip())


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {sorted(choices)}.")


def check_time_horizon(T, eps=None) -> None:
    """Validate T > 0 and, when given, 0 < eps < T."""
    check_positive("T", T, "T is the SDE's time horizon.")
    if eps is not None:
        check_positive("eps", eps, "eps is the smallest sampling time; try 1e-5 (VE) or 1e-3 (VP).")
        check_less("eps", eps, "T", T)


def require(obj, attribute: str, purpose: str, hint: str = "") -> None:
    """ValueError (not AttributeError) when `obj` lacks what `purpose` needs.

    E.g. require(sde, "marginal_coeffs", "ancestral sampling") for SDEs without a closed-form
    Gaussian transition kernel.
    """
    if not hasattr(obj, attribute):
        raise ValueError(
            f"{purpose} needs `{attribute}`, which {type(obj).__name__} does not have. {hint}".strip()
        )


def require_kernel(sde, purpose: str) -> None:
    """The SDE must have a closed-form Gaussian kernel x_t = a(t) x_0 + s(t) z (a `LinearSDE`)."""
    require(
        sde,
        "marginal_coeffs",
        purpose,
        "It needs an SDE with a closed-form Gaussian transition kernel x_t = a(t) x_0 + s(t) z "
        "(`marginal_coeffs(t) -> (a, s)`), e.g. VESDE, VPSDE, SubVPSDE, OUSDE or TutorialVESDE.",
    )
