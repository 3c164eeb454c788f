"""Early, explicit validation of user input. Every failure names the fix."""

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


def check_less(name_a: str, a, name_b: str, b, hint: str = "") -> None:
    if is_concrete(a) and is_concrete(b) and not float(a) < float(b):
        raise ValueError(f"{name_a} must be < {name_b}, got {name_a}={a} and {name_b}={b}. {hint}".strip())


def check_int_at_least(name: str, value, minimum: int, hint: str = "") -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}. {hint}".strip())


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {sorted(choices)}.")
