"""Fourier tools for functional diffusion on a pixel grid (seed 003 §3.5.1), on `jnp.fft`.

Conventions (one sample x of shape (H, W) or (H, W, C); the FFT runs over the first two
axes, channels broadcast):

- `rfft2` / `irfft2` are orthonormal (`norm="ortho"`): Σ x² = Σ_k m_k |X_k|² over the
  half-spectrum grid (H, W//2 + 1), with the multiplicity m_k of `rfft_multiplicity`
  (1 on the self-conjugate columns 0 and W/2, 2 elsewhere): Parseval.
- A covariance operator diagonal in the Fourier basis (a stationary field) is given by its
  per-mode variances r_k = E|F(x)_k|² on that half-spectrum grid: shape (H, W//2 + 1), or
  (H, W//2 + 1, C).  Its eigenvalues on the full grid are r_k = r_{−k} (`full_spectrum`).
- `hartley2` is the orthonormal, real, self-inverse transform (Re − Im of the orthonormal
  2-D DFT) in which such an operator is diagonal with the same eigenvalues: it is the state
  space of the Fourier-diagonal SDEs (`DriftlessSDE`, `FourierSDE`), so that the library's
  samplers see a diagonal linear SDE.
- Frequencies are integers k = (k_y, k_x) (cycles per image) and |k|² = k_y² + k_x².
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "SPATIAL_AXES",
    "rfft2",
    "irfft2",
    "hartley2",
    "frequency_grid",
    "band_mask",
    "rfft_multiplicity",
    "full_spectrum",
    "half_spectrum",
    "check_covariance",
    "colored_noise",
    "fourier_noise",
    "white_noise",
    "estimate_covariance",
    "resample",
    "resample_covariance",
]

SPATIAL_AXES = (0, 1)


def _check_sample(x) -> None:
    if jnp.ndim(x) not in (2, 3):
        raise ValueError(f"expected one sample of shape (H, W) or (H, W, C), got shape {jnp.shape(x)}.")


def rfft2(x: jax.Array) -> jax.Array:
    """Orthonormal real 2-D FFT of one sample: (H, W[, C]) -> (H, W//2 + 1[, C]) complex."""
    _check_sample(x)
    return jnp.fft.rfft2(x, axes=SPATIAL_AXES, norm="ortho")


def irfft2(X: jax.Array, hw: tuple[int, int]) -> jax.Array:
    """Inverse of `rfft2` for a sample of spatial size `hw` = (H, W) (needed: W is ambiguous)."""
    h, w = hw
    if X.shape[:2] != (h, w // 2 + 1):
        raise ValueError(f"a half-spectrum of an {h}×{w} sample has shape ({h}, {w // 2 + 1}, ...), got {X.shape}.")
    return jnp.fft.irfft2(X, s=(h, w), axes=SPATIAL_AXES, norm="ortho")


def hartley2(x: jax.Array) -> jax.Array:
    """Orthonormal 2-D discrete Hartley transform, Re F(x) − Im F(x): real, self-inverse.

    A covariance diagonal in the Fourier basis with eigenvalues r_k = r_{−k} is diagonal here
    too, with the same eigenvalue on coordinate k (the Re and Im parts of a stationary field's
    mode have equal variance and no correlation)."""
    _check_sample(x)
    X = jnp.fft.fft2(x, axes=SPATIAL_AXES, norm="ortho")
    return (X.real - X.imag).astype(jnp.result_type(x, jnp.float32))


def frequency_grid(h: int, w: int, half: bool = True) -> np.ndarray:
    """|k|² of every mode: on the half-spectrum grid (H, W//2 + 1), or the full (H, W) grid."""
    ky = np.fft.fftfreq(h) * h
    kx = (np.fft.rfftfreq(w) if half else np.fft.fftfreq(w)) * w
    return ky[:, None] ** 2 + kx[None, :] ** 2


def band_mask(hw: tuple[int, int], band: tuple[int, int]) -> np.ndarray:
    """(H, W, 1) mask of the full-grid modes (`hartley2`'s coordinates) that a coarser grid
    `band` = (h, w) represents exactly: |f_y| < h/2 and |f_x| < w/2 (the coarse grid's Nyquist
    modes, split by `resample`, are left out).  The known part of a low-resolution image in
    super-resolution by imputation (`sg.controllable.impute(..., in_state=True)`)."""
    (h, w), (bh, bw) = hw, band
    if bh > h or bw > w:
        raise ValueError(f"band {band} must not exceed the grid {hw}.")
    fy, fx = np.abs(np.fft.fftfreq(h) * h), np.abs(np.fft.fftfreq(w) * w)
    return ((fy[:, None] < bh / 2) & (fx[None, :] < bw / 2)).astype(np.float32)[..., None]


def rfft_multiplicity(h: int, w: int) -> np.ndarray:
    """How often each half-spectrum mode counts on the full grid (1 or 2), shape (H, W//2 + 1)."""
    m = np.full((h, w // 2 + 1), 2.0)
    m[:, 0] = 1.0
    if w % 2 == 0:
        m[:, w // 2] = 1.0
    return m


def full_spectrum(r: jax.Array, hw: tuple[int, int]) -> jax.Array:
    """Per-mode values on the half-spectrum grid -> the full (H, W) grid, by r_{−k} = r_k."""
    h, w = hw
    check_covariance(r, hw, positive=False)
    rows = (-np.arange(h)) % h
    cols = np.arange(w)
    src_col = np.where(cols <= w // 2, cols, (-cols) % w)
    src_row = np.where(cols[None, :] <= w // 2, np.arange(h)[:, None], rows[:, None])
    return r[src_row, src_col[None, :]]


def half_spectrum(r_full: jax.Array) -> jax.Array:
    """Full-grid per-mode values (symmetric in k) -> the half-spectrum grid."""
    return r_full[:, : r_full.shape[1] // 2 + 1]


def check_covariance(r, hw: tuple[int, int], positive: bool = True) -> None:
    """A covariance must have the half-spectrum shape of the sample (and positive entries)."""
    h, w = hw
    want = (h, w // 2 + 1)
    if tuple(jnp.shape(r)[:2]) != want or jnp.ndim(r) not in (2, 3):
        raise ValueError(
            f"a covariance for {h}×{w} samples has the shape of jnp.fft.rfft2(x, norm='ortho'): {want} (or with a "
            f"channel axis), got {jnp.shape(r)}; use sg.functional.estimate_covariance(images) or resample_covariance."
        )
    if positive and _concrete(r) and not bool(np.all(np.asarray(r) > 0)):
        raise ValueError("covariance variances must be > 0 on every mode (a zero mode has no noise to reverse).")


def _concrete(r) -> bool:
    """True when `r` holds values now (not a tracer inside jit)."""
    try:
        np.asarray(r)
        return True
    except Exception:  # a tracer
        return False


def colored_noise(key: jax.Array, covariance, shape: tuple[int, ...]) -> jax.Array:
    """One real sample of N(0, R) of `shape` (H, W[, C]), drawn in Fourier space
    (`fourier_noise` of standard normals); `covariance` None means white noise (R = I)."""
    if len(shape) not in (2, 3):
        raise ValueError(f"expected the shape of one sample, (H, W) or (H, W, C), got {shape}.")
    spec_shape = (shape[0], shape[1] // 2 + 1, *shape[2:])
    ka, kb = jax.random.split(key)
    return fourier_noise(jax.random.normal(ka, spec_shape), jax.random.normal(kb, spec_shape), covariance, shape[:2])


def fourier_noise(a: jax.Array, b: jax.Array, covariance, hw: tuple[int, int]) -> jax.Array:
    """The linear map from two standard-normal half-spectra a, b to N(0, R) noise.

    Each half-spectrum mode gets sqrt(r_k/2)(a + ib); the self-conjugate columns (0 and W/2)
    are made Hermitian along H, Z_h ← (Z_h + conj Z_{−h})/√2, which keeps E|Z_h|² = r_k,
    makes the self-conjugate points (h = −h) real with variance r_k, and keeps distinct modes
    uncorrelated; `irfft2` then gives exactly N(0, F⁻¹ diag(r) F) (tests/test_functional.py
    checks J Jᵀ of this map against the explicit covariance)."""
    h, w = hw
    if covariance is not None:
        check_covariance(covariance, hw)
    r = jnp.ones(a.shape) if covariance is None else jnp.broadcast_to(jnp.asarray(covariance), a.shape)
    Z = jnp.sqrt(r / 2) * (a + 1j * b)
    rows = (-np.arange(h)) % h
    for col in {0, w // 2} if w % 2 == 0 else {0}:
        c = Z[:, col]
        Z = Z.at[:, col].set((c + jnp.conj(c[rows])) / math.sqrt(2.0))
    return irfft2(Z, hw)


def white_noise(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Real white noise N(0, I) of one sample's `shape`, drawn in Fourier space."""
    return colored_noise(key, None, shape)


def estimate_covariance(images, *, remove_mean: bool = True) -> jax.Array:
    """R̂ = mean over the batch of |F(x_i − x̄)|² per mode (seed 003 eq. 4.28), shape
    (H, W//2 + 1[, C]) for images (N, H, W[, C]).

    The data mean x̄ is removed first (default): R̂ is then the covariance of the data around
    their mean, which is what the noise of the driftless SDE should match, while the prior's
    mean is x̄ (`DriftlessSDE(prior_mean=...)`).  Eq. 4.28 as written (`remove_mean=False`)
    adds |F(x̄)|² to R̂, mostly on the lowest modes, and pairs with a zero-mean prior."""
    x = jnp.asarray(images, jnp.float32)
    if x.ndim not in (3, 4) or x.shape[0] < 2:
        raise ValueError(f"estimate_covariance takes a batch (N, H, W[, C]) with N >= 2, got shape {x.shape}.")
    if remove_mean:
        x = x - x.mean(axis=0)
    return jnp.mean(jnp.abs(jax.vmap(rfft2)(x)) ** 2, axis=0)


# ----------------------------------------------------------------------------- resampling


def _axis_map(n: int, m: int) -> np.ndarray:
    """The (m × n) real matrix taking an n-point orthonormal spectrum to m points (eq. 3.65–3.69):
    frequencies |f| < n/2 (and < m/2) are kept, others dropped (m < n) or zero (m > n); an
    even grid's Nyquist mode is split in halves between ±n/2 when upsampling, and the two
    ±m/2 modes are summed into it when downsampling, so that up then down is the identity.
    Scaled by sqrt(m/n) so that a function's values, not its energy, are kept."""
    A = np.zeros((m, n))
    fn = np.round(np.fft.fftfreq(n) * n).astype(int)
    for j, f in enumerate(fn):
        if n % 2 == 0 and f == -n // 2 and m > n:  # split the old Nyquist mode between ±n/2
            A[f % m, j] += 0.5
            A[(-f) % m, j] += 0.5
        elif abs(f) < m / 2 or (m % 2 == 0 and f == -m // 2):
            A[f % m, j] += 1.0
        elif m % 2 == 0 and f == m // 2:  # the +m/2 twin of the new Nyquist mode
            A[(-f) % m, j] += 1.0
    return A * math.sqrt(m / n)


def resample(x: jax.Array, hw: tuple[int, int]) -> jax.Array:
    """One sample (H, W[, C]) on another grid (H', W') by zero-padding or truncating its
    spectrum (band-limited interpolation, seed 003 eq. 3.65–3.69)."""
    _check_sample(x)
    (h, w), (h2, w2) = x.shape[:2], tuple(hw)
    Ah, Aw = jnp.asarray(_axis_map(h, h2)), jnp.asarray(_axis_map(w, w2))
    X = jnp.fft.fft2(x, axes=SPATIAL_AXES, norm="ortho")
    Y = jnp.einsum("ij,jk...->ik...", Ah, jnp.einsum("kl,jl...->jk...", Aw, X))
    return jnp.fft.ifft2(Y, axes=SPATIAL_AXES, norm="ortho").real.astype(x.dtype)


def resample_covariance(r: jax.Array, hw: tuple[int, int], new_hw: tuple[int, int], *, floor=0.0) -> jax.Array:
    """The half-spectrum covariance of a stationary field on `hw` carried to `new_hw` as
    `resample` carries its samples: E|X'_k|² = Σ_j A_kj² E|X_j|² per axis (modes of a
    stationary field are uncorrelated).  Modes beyond the old band get `floor` (0 by default,
    which describes upsampled data exactly; an SDE's noise covariance needs floor > 0): a
    number, or a half-spectrum array on `new_hw` (e.g. a parametric spectrum evaluated there)."""
    h, w = hw
    h2, w2 = new_hw
    full = full_spectrum(jnp.asarray(r), (h, w))
    Ah, Aw = _axis_map(h, h2) ** 2, _axis_map(w, w2) ** 2
    out = jnp.einsum("ij,jk...->ik...", jnp.asarray(Ah), jnp.einsum("kl,jl...->jk...", jnp.asarray(Aw), full))
    covered = (Ah.sum(axis=1) > 0)[:, None] & (Aw.sum(axis=1) > 0)[None, :]
    covered = covered.reshape(covered.shape + (1,) * (out.ndim - 2))
    if jnp.ndim(floor):
        floor = full_spectrum(jnp.asarray(floor), (h2, w2))
    return half_spectrum(jnp.where(covered, out, floor))
