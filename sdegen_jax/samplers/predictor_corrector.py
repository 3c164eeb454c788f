"""Predictor–corrector sampling (Song et al. 2021, Alg. 1) as a `lax.scan`.

Each step from t to t − dt runs `n_corrector_steps` Langevin corrector steps at t, then
one predictor step.  With no corrector this is the plain predictor sampler: with the
Euler–Maruyama predictor it is the hand-written reference that the diffrax path is
benchmarked against.
"""

from __future__ import annotations

import jax

from .._checks import check_choice, check_int_at_least, check_positive
from ._scan import batched, run_scan
from .predictors import PREDICTORS, langevin_corrector


def predictor_corrector(
    key,
    sde,
    score_fn,
    x_init,
    ts,
    *,
    predictor: str | None = "reverse_diffusion",
    corrector: str | None = "langevin",
    snr: float = 0.16,
    n_corrector_steps: int = 1,
    num_saves: int | None = None,
):
    """Run PC sampling along the decreasing time grid `ts`; returns (x, path, nfe)."""
    if predictor is not None:
        check_choice("predictor", predictor, PREDICTORS)
    if corrector is not None:
        check_choice("corrector", corrector, {"langevin"})
        check_int_at_least("n_corrector_steps", n_corrector_steps, 1)
        check_positive("snr", snr, "Song et al. use 0.16 for VE and 0.01 for VP.")
    if predictor is None and corrector is None:
        raise ValueError("predictor and corrector cannot both be None: nothing would move the samples.")

    predict = None if predictor is None else batched(lambda x, z, t, dt: PREDICTORS[predictor](sde, score_fn, x, z, t, dt))
    correct = None if corrector is None else (lambda x, z, t, dt: langevin_corrector(sde, score_fn, x, z, t, dt, snr))

    def step(key, x, t, t_next):
        dt = t - t_next
        if correct is not None:
            for k in range(n_corrector_steps):
                x, _ = correct(x, jax.random.normal(jax.random.fold_in(key, k + 1), x.shape), t, dt)
        if predict is not None:
            x, _ = predict(x, jax.random.normal(jax.random.fold_in(key, 0), x.shape), t, dt)
        return x

    x, path = run_scan(step, key, x_init, ts, num_saves)
    steps = ts.shape[0] - 1
    nfe = steps * ((predict is not None) + (n_corrector_steps if correct is not None else 0))
    return x, path, nfe
