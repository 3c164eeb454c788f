"""Conversions between score, noise (ε) and clean-data (x0) predictions of a linear SDE.

With x_t = a x_0 + s ε (seed 002 eq. 4.2.55):
  score = −ε / s,   x0 = (x_t + s² score) / a   (Tweedie; seed 004 m0(t, x)),
  ε = (x_t − a x0) / s.
`a`, `s` broadcast against x (scalars or per-example arrays shaped for broadcasting).
"""

from __future__ import annotations

__all__ = [
    "eps_to_score",
    "score_to_eps",
    "x0_to_score",
    "score_to_x0",
    "eps_to_x0",
    "x0_to_eps",
    "PARAMETRISATIONS",
    "to_score",
]


def eps_to_score(eps, s):
    return -eps / s


def score_to_eps(score, s):
    return -s * score


def x0_to_score(x0, x_t, a, s):
    return (a * x0 - x_t) / s**2


def score_to_x0(score, x_t, a, s):
    return (x_t + s**2 * score) / a


def eps_to_x0(eps, x_t, a, s):
    return (x_t - s * eps) / a


def x0_to_eps(x0, x_t, a, s):
    return (x_t - a * x0) / s


PARAMETRISATIONS = ("score", "eps", "x0")


def to_score(output, parametrisation: str, x_t, a, s):
    """Turn a network's output in any parametrisation into a score."""
    if parametrisation == "score":
        return output
    if parametrisation == "eps":
        return eps_to_score(output, s)
    if parametrisation == "x0":
        return x0_to_score(output, x_t, a, s)
    raise ValueError(f"unknown parametrisation {parametrisation!r}; choose one of {PARAMETRISATIONS}.")
